"""Hugging Face transformers backend: batched, length-sorted, fp32 on CPU, bf16 on CUDA."""

from __future__ import annotations

from collections.abc import Sequence

from cptbench.core.errors import ConfigError
from cptbench.eval.backends.base import (
    REQUEST_CONVENTION,
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Progress,
    RollingResult,
    check_finite,
    scored_tokens,
)
from cptbench.eval.backends.windows import rolling_windows

PREFIX_TOKEN_PREFERENCE = ("<|endoftext|>",)


def default_prefix_token_id(tokenizer) -> int:
    """The token that conditions a document's first token.

    ``<|endoftext|>`` (a document boundary) when the vocabulary has it, else BOS, else EOS.
    SmolLM2's BOS is the chat token ``<|im_start|>``, which inflates bits-per-byte: a document
    boundary is the honest context for the start of a plain-text document.
    """
    vocab = tokenizer.get_vocab()
    for token in PREFIX_TOKEN_PREFERENCE:
        if token in vocab:
            return vocab[token]
    if tokenizer.bos_token_id is not None:
        return tokenizer.bos_token_id
    return tokenizer.eos_token_id


class HFBackend:
    """Scores requests with a loaded transformers causal LM (no training, no file I/O)."""

    def __init__(
        self,
        model,
        tokenizer,
        *,
        batch_tokens: int = 1024,
        max_length: int | None = None,
        stride: int | None = None,
        prefix_token_id: int | None = None,
        generate_batch: int = 8,
        share_context: bool = False,
    ) -> None:
        self.model = model
        self.share_context = share_context  # run a context shared by several requests once (KV cache)
        self.generate_batch = generate_batch  # sequences decoded together (left-padded)
        self.tokenizer = tokenizer
        self.batch_tokens = batch_tokens
        self.max_length = max_length or _context_length(model, tokenizer)
        self.stride = stride
        self.prefix_token_id = default_prefix_token_id(tokenizer) if prefix_token_id is None else prefix_token_id
        self._scored: dict[LoglikelihoodRequest, LoglikelihoodResult] = {}  # one checkpoint: a request is scored once

    @classmethod
    def load(cls, model_path, *, batch_tokens: int = 1024, options: dict[str, str] | None = None) -> HFBackend:
        """The checkpoint at ``model_path`` on the default device (fp32 on CPU, bf16 on CUDA)."""
        cls.check_options(options or {})
        from cptbench.models.resolve import default_device, load_model

        model, tokenizer = load_model(model_path, device=default_device())
        return cls(model, tokenizer, batch_tokens=batch_tokens)

    @staticmethod
    def check_options(options: dict[str, str]) -> None:
        if options:
            raise ConfigError(f"--backend-option {next(iter(options))}: the hf backend takes no options")

    def close(self) -> None:
        """Nothing to release: the model is freed with the backend."""

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def chat_prompt(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def lm_eval_model(self, batch_size: int):
        from lm_eval.models.huggingface import HFLM

        # lm-eval scores in this backend's window (not its own reading of the config), as vLLM's does
        return HFLM(pretrained=self.model, tokenizer=self.tokenizer, device=str(self.device),
                    batch_size=batch_size, prefix_token_id=self.prefix_token_id, max_length=self.max_length)

    def describe(self) -> dict[str, object]:
        return {
            "backend": "hf",
            "device": str(self.device),
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "max_length": self.max_length,
            "stride": self.stride or self.max_length,
            "prefix_token": self.tokenizer.convert_ids_to_tokens(self.prefix_token_id),
            "prefix_token_id": self.prefix_token_id,
            **REQUEST_CONVENTION,
        }

    # --- rolling log-likelihood (bits-per-byte, perplexity) ----------------------------------

    def loglikelihood_rolling(self, texts: Sequence[str], progress: Progress | None = None) -> list[RollingResult]:
        """Summed NLL (nats) of each text, every token scored once, conditioned on the prefix token."""
        items = []  # (doc index, token sequence x, window)
        for index, text in enumerate(texts):
            x = [self.prefix_token_id] + self.tokenizer(text, add_special_tokens=False)["input_ids"]
            for window in rolling_windows(len(x) - 1, self.max_length, self.stride):
                items.append((index, x, window))
        nll = [0.0] * len(texts)
        windows_left = [0] * len(texts)
        for index, _, _ in items:
            windows_left[index] += 1
        for batch in self._batches(items, key=lambda item: item[2].end - item[2].start):
            inputs = [x[w.start : w.end] for _, x, w in batch]
            labels = [x[w.start + 1 : w.end + 1] for _, x, w in batch]
            token_nll = self._token_nll(inputs, labels)
            finished = 0
            for (index, _, window), row, target in zip(batch, token_nll, labels):
                nll[index] += float(row[window.skip : len(target)].sum())
                windows_left[index] -= 1
                finished += windows_left[index] == 0
            if progress and finished:
                progress(finished)
        results = []
        for index, text in enumerate(texts):
            num_tokens = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            results.append(RollingResult(nll[index], num_tokens, len(text.encode("utf-8"))))
        check_finite([r.nll for r in results], "rolling log-likelihood")
        return results

    # --- conditional log-likelihood (multiple choice) ----------------------------------------

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResult]:
        """log P(continuation | context) and whether greedy decoding would produce it.

        A request this backend already scored is answered from memory (the true answer of a choice
        item, asked again by ``answer_logprob``); ``progress`` counts the requests scored now."""
        new = [r for r in dict.fromkeys(requests) if r not in self._scored]
        if new:
            self._scored.update(zip(new, self._score(new, progress)))
        return [self._scored[r] for r in requests]

    def _score(self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None) -> list[LoglikelihoodResult]:
        """Requests with the same context tokens (cloze: one per candidate) share one pass over the
        context when ``share_context`` is on; the others are scored whole, in length-sorted batches."""
        items = []
        for index, request in enumerate(requests):
            x, n = scored_tokens(request, self.tokenizer, self.prefix_token_id, self.max_length)
            items.append((index, x, n))
        groups, alone = shared_contexts(items) if self.share_context else ([], items)
        results: list[LoglikelihoodResult | None] = [None] * len(requests)
        for batch in self._group_batches(groups):
            rows, token_nll, greedy = self._shared_context_nll(batch)
            # sums in float64 (both paths): float32 rounding of a sum near -100 is ~1e-5 by itself
            for (index, _, n), row, hits in zip(rows, token_nll, greedy):
                results[index] = LoglikelihoodResult(-float(row[:n].double().sum()), bool(hits[:n].all()))
            if progress:
                progress(len(rows))
        for batch in self._batches(alone, key=lambda item: len(item[1]) - 1):
            inputs = [x[:-1] for _, x, _ in batch]
            labels = [x[1:] for _, x, _ in batch]
            token_nll, greedy = self._token_nll(inputs, labels, with_greedy=True)
            for (index, x, n), row, hits in zip(batch, token_nll, greedy):
                length = len(x) - 1
                results[index] = LoglikelihoodResult(-float(row[length - n : length].double().sum()), bool(hits[length - n : length].all()))
            if progress:
                progress(len(batch))
        check_finite([r.logprob for r in results], "log-likelihood")
        return results

    def _group_batches(self, groups):
        """Groups by longest continuation, longest first (their rows outnumber the contexts, so
        this keeps padding low), as many per batch as keep the padded tokens (contexts plus
        continuation rows) within ``batch_tokens``; a group is never split."""
        def cost(batch):
            context = max(_context_tokens(g[0]) for g in batch)
            return len(batch) * context + sum(len(g) for g in batch) * _longest_continuation(batch[0])

        batch: list = []
        for group in sorted(groups, key=lambda g: -_longest_continuation(g)):
            if batch and cost(batch + [group]) > self.batch_tokens:
                yield batch
                batch = []
            batch.append(group)
        if batch:
            yield batch

    def _shared_context_nll(self, groups):
        """Per-token NLL (nats) and greedy hits of every continuation in ``groups``: one pass fills
        a KV cache with each group's context but its last token, a second pass scores all rows on
        it. Each row's input starts with that last context token, so its first output is the first
        continuation token's log-prob (no separate last-position logits to stitch in)."""
        import torch

        contexts = [g[0][1][: _context_tokens(g[0]) - 1] for g in groups]  # >= 1 token (prefix)
        rows = [item for g in groups for item in g]
        owner = torch.tensor([k for k, g in enumerate(groups) for _ in g], device=self.device)
        context_ids, context_mask = self._right_padded(contexts)
        input_ids, input_mask = self._right_padded([x[len(x) - n - 1 : -1] for _, x, n in rows])
        label_ids, _ = self._right_padded([x[len(x) - n :] for _, x, n in rows])
        # positions go on from each row's own context length (shorter contexts leave masked holes)
        starts = torch.tensor([len(c) for c in contexts], device=self.device)[owner]
        position_ids = starts[:, None] + torch.arange(input_ids.shape[1], device=self.device)
        with torch.inference_mode():
            cache = self.model(input_ids=context_ids, attention_mask=context_mask, use_cache=True,
                               logits_to_keep=1).past_key_values  # logits unused: keep the head cheap
            cache.batch_select_indices(owner)  # one copy of its group's context per row
            logits = self.model(input_ids=input_ids, attention_mask=torch.cat([context_mask[owner], input_mask], 1),
                                position_ids=position_ids, past_key_values=cache, use_cache=True).logits
            token_nll, greedy = _label_scores(logits, label_ids)
        return rows, token_nll, greedy

    # --- greedy generation --------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None) -> list[str]:
        """Greedy continuation of each prompt, cut at the first stop string."""
        import torch

        outputs: list[str | None] = [None] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: -len(requests[i].prompt))
        for begin in range(0, len(order), self.generate_batch):
            chunk = order[begin : begin + self.generate_batch]
            prompts = [requests[i].prompt for i in chunk]
            encoded = self._left_padded(prompts)
            with torch.inference_mode():
                generated = self.model.generate(
                    **encoded,
                    max_new_tokens=max(requests[i].max_new_tokens for i in chunk),
                    do_sample=False,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = generated[:, encoded["input_ids"].shape[1] :]
            for i, tokens in zip(chunk, new_tokens):
                request = requests[i]
                text = self.tokenizer.decode(tokens[: request.max_new_tokens], skip_special_tokens=True)
                outputs[i] = _cut_at_stop(text, request.stop)
            if progress:
                progress(len(chunk))
        return outputs

    # --- shared machinery ---------------------------------------------------------------------

    def _left_padded(self, prompts: list[str]):
        """Prompts padded on the left (generation continues from the right edge)."""
        side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "left"
        try:
            encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        finally:
            self.tokenizer.padding_side = side
        return encoded.to(self.device)

    def _batches(self, items, key):
        """Longest first, as many per batch as fit in ``batch_tokens`` (padded length x rows)."""
        ordered = sorted(items, key=lambda item: -key(item))
        batch: list = []
        for item in ordered:
            longest = key(batch[0]) if batch else key(item)
            if batch and longest * (len(batch) + 1) > self.batch_tokens:
                yield batch
                batch = []
            batch.append(item)
        if batch:
            yield batch

    def _right_padded(self, rows: list[list[int]]):
        """(ids, attention mask) of ``rows`` padded on the right to the longest."""
        import torch

        width = max(len(row) for row in rows)
        ids = torch.tensor([row + [self.tokenizer.pad_token_id] * (width - len(row)) for row in rows], device=self.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=self.device)
        return ids, mask

    def _token_nll(self, inputs: list[list[int]], labels: list[list[int]], with_greedy: bool = False):
        """Per-position NLL (nats) of ``labels`` given ``inputs``, right-padded, no KV cache."""
        import torch

        input_ids, mask = self._right_padded(inputs)
        label_ids, _ = self._right_padded(labels)
        with torch.inference_mode():
            logits = self.model(input_ids=input_ids, attention_mask=mask, use_cache=False).logits
            token_nll, greedy = _label_scores(logits, label_ids, with_greedy)
        return (token_nll, greedy) if with_greedy else token_nll


def shared_contexts(items):
    """Split ``(index, x, n)`` items into groups of two or more with the same context tokens
    (``x[:len(x) - n]``, after any truncation) and the items left to score alone. A context of
    the prefix token only has nothing to share, and a continuation cut by truncation or empty
    keeps the whole-sequence path."""
    by_context: dict[tuple[int, ...], list] = {}
    for item in items:
        _, x, n = item
        by_context.setdefault(tuple(x[: len(x) - n]), []).append(item)
    groups, alone = [], []
    for group in by_context.values():
        shareable = len(group) > 1 and _context_tokens(group[0]) >= 2 and all(n >= 1 for _, _, n in group)
        if shareable:
            groups.append(group)
        else:
            alone.extend(group)
    return groups, alone


def _longest_continuation(group) -> int:
    return max(n for _, _, n in group)


def _context_tokens(item) -> int:
    _, x, n = item
    return len(x) - n


def _label_scores(logits, label_ids, with_greedy: bool = True):
    """Per-position NLL (nats, fp32) of ``label_ids`` and whether each is the argmax (None when not
    asked: rolling scoring needs no greedy flags), on the CPU."""
    import torch

    logprobs = torch.log_softmax(logits.float(), dim=-1)
    token_nll = -logprobs.gather(-1, label_ids.unsqueeze(-1)).squeeze(-1).cpu()
    return token_nll, (logits.argmax(-1) == label_ids).cpu() if with_greedy else None


def _context_length(model, tokenizer) -> int:
    limits = [getattr(model.config, "max_position_embeddings", None), tokenizer.model_max_length]
    return min(int(v) for v in limits if v and v < 10**9)


def _cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    cut = len(text)
    for stop in stops:
        position = text.find(stop)
        if position != -1:
            cut = min(cut, position)
    return text[:cut]
