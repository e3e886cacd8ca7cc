"""Replay mixing: token shares, budgets, seeding, and the no-replay case equal to the plain corpus."""

import hashlib
import random
from collections import Counter

import pytest

from cptbench.train.replay import Doc, documents, mix_replay


def plain_corpus(texts: list[str], counts: list[int], cap: int | None, seed: int) -> tuple[tuple[str, ...], int, str]:
    """The corpus without replay, written independently: documents in a seeded order, taken while
    they fit in ``cap`` tokens (at least one), each costing its tokens + 1 EOS."""
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    chosen, total = [], 0
    for index in order:
        if cap is not None and chosen and total + counts[index] + 1 > cap:
            break
        chosen.append(index)
        total += counts[index] + 1
    taken = tuple(texts[i] for i in chosen)
    return taken, total, hashlib.sha256("\x1e".join(taken).encode("utf-8")).hexdigest()


def _docs(prefix: str, n: int, seed: int) -> tuple[Doc, ...]:
    rng = random.Random(seed)
    return tuple(Doc(f"{prefix} document {i}", rng.randint(20, 120)) for i in range(n))


NEW = _docs("new", 80, 1)
EARLIER = {"politics": _docs("politics", 40, 2), "science": _docs("science", 15, 3), "music": _docs("music", 60, 4)}
EVERY_DOC = NEW + tuple(d for docs in EARLIER.values() for d in docs)
LONGEST = max(d.tokens for d in EVERY_DOC)


def _mix(**overrides):
    args = {"fraction": 0.25, "cap": 3000, "budget_neutral": True, "seed": 0, "source_name": "ai"}
    return mix_replay(NEW, EARLIER, **{**args, **overrides})


def _replayed(result) -> int:
    return sum(c["tokens"] for name, c in result.sources.items() if name != "ai")


@pytest.mark.parametrize("budget_neutral", [True, False])
@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.8])
def test_replayed_share_is_the_fraction(fraction, budget_neutral):
    result = _mix(fraction=fraction, budget_neutral=budget_neutral)
    assert result.tokens == sum(c["tokens"] for c in result.sources.values())
    assert len(result.texts) == sum(c["documents"] for c in result.sources.values())
    assert abs(_replayed(result) - fraction * result.tokens) <= LONGEST
    assert _replayed(result) > 0


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("cap", [500, 3000, 12000])
def test_budget_neutral_total_fills_the_cap(fraction, cap):
    """New documents fill (1 - f) of the cap, replay f / (1 - f) of what they took: the total is the
    cap up to a document on each side; when the new source runs out, all of it is taken and the
    replay share still holds (the stage is then shorter than the cap)."""
    result = _mix(fraction=fraction, cap=cap)
    assert result.tokens <= cap
    new_total = sum(d.tokens for d in NEW)
    if (1 - fraction) * cap <= new_total:
        assert cap - LONGEST / (1 - fraction) - LONGEST <= result.tokens
    else:
        assert result.sources["ai"]["tokens"] == new_total
    assert abs(_replayed(result) - fraction * result.tokens) <= LONGEST


def test_not_budget_neutral_adds_replay_on_top():
    plain = _mix(fraction=0.0, budget_neutral=False)
    mixed = _mix(fraction=0.25, budget_neutral=False)
    assert mixed.sources["ai"] == plain.sources["ai"]  # the new documents keep the whole cap
    assert _replayed(mixed) == pytest.approx(plain.tokens / 3, abs=LONGEST)  # f / (1 - f) of them
    everything = _mix(fraction=0.5, cap=None, budget_neutral=False)
    assert everything.sources["ai"] == {"documents": len(NEW), "tokens": sum(d.tokens for d in NEW)}


def test_seeded():
    assert _mix(seed=5) == _mix(seed=5)
    assert _mix(seed=5).texts != _mix(seed=6).texts
    assert _mix(seed=5).order_hash != _mix(seed=6).order_hash


def test_earlier_sources_share_tokens_evenly():
    result = _mix(fraction=0.5, cap=6000)
    shares = [result.sources[name]["tokens"] for name in EARLIER]
    assert min(shares) > 0
    assert max(shares) - min(shares) <= LONGEST


def test_small_source_cycles_after_it_runs_out():
    result = _mix(fraction=0.8, cap=20000)
    science = result.sources["science"]
    assert science["documents"] > len(EARLIER["science"])  # 15 documents, drawn again in order
    assert science["tokens"] == pytest.approx(result.sources["music"]["tokens"], abs=LONGEST)
    times = Counter(t for t in result.texts if t.startswith("science"))
    assert len(times) == len(EARLIER["science"])  # every document used before any is used again...
    assert max(times.values()) - min(times.values()) <= 1  # ...and cycled through in turn


def test_no_document_repeats_while_others_are_unused():
    result = _mix(fraction=0.5, cap=6000)
    replayed = [t for t in result.texts if not t.startswith("new")]
    assert 0 < len(replayed) == len(set(replayed))


@pytest.mark.parametrize("cap", [None, 1, 2500])
@pytest.mark.parametrize("earlier", [EARLIER, {}])
def test_no_replay_is_the_plain_corpus(cap, earlier):
    texts, counts = [d.text for d in NEW], [d.tokens - 1 for d in NEW]
    expected_texts, expected_tokens, expected_hash = plain_corpus(texts, counts, cap, seed=7)
    fractions = [0.0] if earlier else [0.0, 0.4]  # no earlier source: the fraction has nothing to draw
    for fraction in fractions:
        for neutral in (True, False):
            got = mix_replay(documents(texts, counts), earlier, fraction=fraction, cap=cap,
                             budget_neutral=neutral, seed=7, source_name="ai")
            assert (got.texts, got.tokens, got.order_hash) == (expected_texts, expected_tokens, expected_hash)
            assert got.sources == {"ai": {"documents": len(expected_texts), "tokens": expected_tokens}}


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        _mix(fraction=fraction)


def test_bad_inputs():
    with pytest.raises(ValueError, match="both"):
        mix_replay(NEW, {"ai": NEW}, fraction=0.2, cap=100, budget_neutral=True, seed=0, source_name="ai")
    with pytest.raises(ValueError, match="EOS"):
        Doc("empty", 0)
