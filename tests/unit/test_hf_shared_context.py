"""Shared-context scoring in the HF backend (one KV-cached pass per context, cloze's four
candidates on it) gives the values of scoring every request as a whole sequence."""

import random

import pytest

from cptbench.eval.backends.base import LoglikelihoodRequest, scored_tokens
from cptbench.eval.backends.hf import HFBackend, shared_contexts

# the tiny seeded model's greedy continuation of "The" is "eee" (it repeats the last byte)
GROUPS = {
    "The capital of France is": [" Paris", " a much longer continuation, of many bytes", " x", " Berlin."],
    "In 1989, the Liberal Democratic Party of Russia was founded by": [" Vladimir", " him", " nobody at all"],
    "The": ["eee", "e", "eex", " dog"],
    "": ["Hello", "Hello world"],  # context of the prefix token only: nothing to share
}
UNIQUE = [("Music by", " Mozart"), ("A short one", " here."), ("Science", " fiction and fact")]


def requests(seed: int = 0) -> list[LoglikelihoodRequest]:
    pairs = [(c, k) for c, conts in GROUPS.items() for k in conts] + UNIQUE
    random.Random(seed).shuffle(pairs)
    return [LoglikelihoodRequest(c, k) for c, k in pairs]


def assert_same(shared, reference):
    assert len(shared) == len(reference)
    for a, b in zip(shared, reference):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-5)
        assert a.is_greedy == b.is_greedy


@pytest.mark.parametrize("batch_tokens", [1024, 64])  # 64: groups over several batches, and one per batch
def test_shared_context_equals_whole_sequence_path(tiny, batch_tokens):
    model, tokenizer = tiny
    batch = requests()
    shared = HFBackend(model, tokenizer, batch_tokens=batch_tokens).loglikelihood(batch)
    whole = HFBackend(model, tokenizer, batch_tokens=batch_tokens, share_context=False).loglikelihood(batch)
    assert_same(shared, whole)


def test_shared_context_equals_one_request_at_a_time(tiny):
    model, tokenizer = tiny
    batch = requests(seed=1)
    shared = HFBackend(model, tokenizer).loglikelihood(batch)
    alone = HFBackend(model, tokenizer, share_context=False)
    assert_same(shared, [alone.loglikelihood([request])[0] for request in batch])


def test_greedy_flags_agree_and_some_are_true(tiny):
    model, tokenizer = tiny
    batch = requests(seed=2)
    shared = HFBackend(model, tokenizer).loglikelihood(batch)
    whole = HFBackend(model, tokenizer, share_context=False).loglikelihood(batch)
    assert [r.is_greedy for r in shared] == [r.is_greedy for r in whole]
    greedy = {(q.context, q.continuation) for q, r in zip(batch, shared) if r.is_greedy}
    assert {("The", "eee"), ("The", "e")} <= greedy and ("The", "eex") not in greedy


def test_groups_are_the_actual_token_prefix(tiny):
    """Only groups of 2+ with more than the prefix token are shared; truncation to the window
    (here 24 tokens) gives different prefixes to continuations of different lengths, and a
    continuation longer than the window is scored alone."""
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, max_length=24)
    long_context = "A context far longer than the window of the backend"
    pairs = [(long_context, k) for k in (" ab", " cd", " efgh")] + [("The", k) for k in GROUPS["The"]]
    pairs += [("", "Hello"), ("", "Hi"), ("Cut", " " + "y" * 40), ("Cut", " " + "y" * 40)]
    batch = [LoglikelihoodRequest(c, k) for c, k in pairs]
    items = [(i, *scored_tokens(r, tokenizer, backend.prefix_token_id, backend.max_length)) for i, r in enumerate(batch)]
    groups, alone = shared_contexts(items)
    # " ab" and " cd" share their cut context, " efgh" is cut further; "The" is shared whole
    assert sorted([i for i, _, _ in g] for g in groups) == [[0, 1], [3, 4, 5, 6]]
    assert sorted(i for i, _, _ in alone) == [2, 7, 8, 9, 10]
    whole = HFBackend(model, tokenizer, max_length=24, share_context=False).loglikelihood(batch)
    assert_same(backend.loglikelihood(batch), whole)


@pytest.mark.parametrize("batch_tokens", [1024, 64])
def test_progress_counts_every_request_once(tiny, batch_tokens):
    model, tokenizer = tiny
    batch = requests()
    steps: list[int] = []
    HFBackend(model, tokenizer, batch_tokens=batch_tokens).loglikelihood(batch, progress=steps.append)
    assert sum(steps) == len(batch) and all(step > 0 for step in steps)
