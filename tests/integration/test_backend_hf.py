"""The HF backend on the tiny seeded model: batching, windowing and the three calls."""

import pytest
import torch

from cptbench.eval.backends.base import GenerateRequest, LoglikelihoodRequest
from cptbench.eval.backends.hf import HFBackend

TEXTS = [
    "The Liberal Democratic Party of Russia was founded in 1989.",
    "Short.",
    "A considerably longer document that spans several windows when the window is small, " * 3,
]


def reference_nll(model, tokenizer, text, prefix):
    """Unbatched, single full-context forward pass: the definition of the document's NLL."""
    ids = [prefix] + tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids[:-1]]), use_cache=False).logits[0]
    logprobs = torch.log_softmax(logits.float(), -1)
    return -float(logprobs.gather(-1, torch.tensor(ids[1:]).unsqueeze(-1)).sum())


def test_rolling_matches_unbatched_reference(tiny):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, batch_tokens=300)
    results = backend.loglikelihood_rolling(TEXTS)
    for text, result in zip(TEXTS, results):
        assert result.num_bytes == len(text.encode())
        assert result.nll == pytest.approx(reference_nll(model, tokenizer, text, backend.prefix_token_id), rel=1e-5)


def test_windowed_document_scores_every_token_once(tiny):
    """Disjoint windows of 32 (the last one filled with preceding context, as lm-eval does)."""
    model, tokenizer = tiny
    text = TEXTS[2]
    backend = HFBackend(model, tokenizer, max_length=32)
    ids = [backend.prefix_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]
    n = len(ids) - 1
    expected, scored = 0.0, 0
    while scored < n:
        end = min(scored + 32, n)
        start = max(0, end - 32)
        with torch.no_grad():
            logits = model(torch.tensor([ids[start:end]]), use_cache=False).logits[0]
        token_ll = torch.log_softmax(logits, -1).gather(-1, torch.tensor(ids[start + 1 : end + 1]).unsqueeze(-1))
        expected -= float(token_ll[scored - start :].sum())  # only targets not scored before
        scored = end
    [result] = backend.loglikelihood_rolling([text])
    assert result.num_tokens == n > 64 and n % 32 != 0
    assert result.nll == pytest.approx(expected, rel=1e-5)


def test_batch_composition_does_not_change_values(tiny):
    model, tokenizer = tiny
    together = HFBackend(model, tokenizer, batch_tokens=4096).loglikelihood_rolling(TEXTS)
    alone = [HFBackend(model, tokenizer, batch_tokens=4096).loglikelihood_rolling([t])[0] for t in TEXTS]
    for a, b in zip(together, alone):
        assert a.nll == pytest.approx(b.nll, rel=1e-5)


def test_overlapping_stride_uses_more_context(tiny):
    model, tokenizer = tiny
    [disjoint] = HFBackend(model, tokenizer, max_length=16).loglikelihood_rolling([TEXTS[2]])
    [overlap] = HFBackend(model, tokenizer, max_length=16, stride=4).loglikelihood_rolling([TEXTS[2]])
    assert disjoint.num_tokens == overlap.num_tokens
    assert disjoint.nll != overlap.nll


def test_loglikelihood_is_rolling_difference(tiny):
    """log P(cont | ctx) = log P(ctx + cont) - log P(ctx) when tokens split cleanly (byte tokenizer)."""
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer)
    context, continuation = "The capital of France is", " Paris"
    [ll] = backend.loglikelihood([LoglikelihoodRequest(context, continuation)])
    whole, ctx = backend.loglikelihood_rolling([context + continuation, context])
    assert ll.logprob == pytest.approx(-(whole.nll - ctx.nll), rel=1e-4)
    assert isinstance(ll.is_greedy, bool)


def test_generate_is_greedy_and_cut_at_stop(tiny):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer)
    requests = [GenerateRequest("Hello", max_new_tokens=12), GenerateRequest("Hi there", max_new_tokens=12)]
    first = backend.generate(requests)
    assert first == backend.generate(requests)  # greedy: deterministic
    full = first[0]
    assert len(full) >= 4, full
    stop = full[2:4]
    [cut] = backend.generate([GenerateRequest("Hello", max_new_tokens=12, stop=(stop,))])
    assert cut == full[: full.index(stop)]


def test_describe_names_the_prefix_convention(tiny):
    model, tokenizer = tiny
    settings = HFBackend(model, tokenizer).describe()
    assert settings["prefix_token"] == "<|endoftext|>" and settings["dtype"] == "float32"
