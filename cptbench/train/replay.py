"""Replay: a stage's new documents mixed with documents from earlier stages, deterministic by seed.

``fraction`` f of the stage's training tokens come from replay, split evenly across the earlier
stages' sources: replay adds f / (1 - f) of the new tokens taken, so the mix is f replay (up to one
document). Budget-neutral: new documents take (1 - f) x ``cap``, so the stage still trains on about
``cap`` tokens; otherwise new takes ``cap`` (everything when ``cap`` is None) and replay comes on top.
With f = 0 or no earlier source, the result is exactly
the new documents in a seeded order, taken while they fit in ``cap``. Pure Python: no torch, no tokenizer.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Doc:
    text: str
    tokens: int  # the document's tokens including the EOS the trainer appends

    def __post_init__(self):
        if self.tokens < 1:
            raise ValueError(f"Doc.tokens must be at least 1 (the EOS), got {self.tokens}")


@dataclass(frozen=True)
class ReplayCorpus:
    """Like ``corpus.Corpus`` (texts in training order, tokens, order hash) plus where they came from."""

    texts: tuple[str, ...]
    tokens: int
    order_hash: str
    sources: dict[str, dict[str, int]]  # {source: {"documents": n, "tokens": t}}


def documents(texts: Sequence[str], token_counts: Sequence[int]) -> tuple[Doc, ...]:
    """Docs from texts and their token counts without EOS ."""
    return tuple(Doc(text, count + 1) for text, count in zip(texts, token_counts, strict=True))


def mix_replay(
    new: Sequence[Doc],
    earlier: Mapping[str, Sequence[Doc]],
    *,
    fraction: float,
    cap: int | None,
    budget_neutral: bool,
    seed: int,
    source_name: str,
) -> ReplayCorpus:
    """The stage's training documents: new ones under the budget, replayed ones, shuffled by seed.

    Budget-neutral with ``cap`` None: the budget is all the new documents' tokens.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"replay fraction must be in [0, 1), got {fraction}")
    if cap is not None and cap < 1:
        raise ValueError(f"replay cap must be positive or None, got {cap}")
    if not new:
        raise ValueError(f"source {source_name!r} has no documents")
    if source_name in earlier:
        raise ValueError(f"source {source_name!r} is both the new source and an earlier one")
    pools = {name: list(docs) for name, docs in earlier.items() if docs}
    if fraction == 0 or not pools:
        return _corpus([(source_name, d) for d in _take(new, cap, seed)])
    budget = sum(d.tokens for d in new) if budget_neutral and cap is None else cap
    chosen = _take(new, round((1 - fraction) * budget) if budget_neutral else budget, seed)
    new_tokens = sum(d.tokens for d in chosen)
    # replay is sized on the new tokens actually taken, so that it is ``fraction`` of the mix (up to
    # one document); budget-neutral, the mix then stays within the cap
    replay_budget = int(fraction / (1 - fraction) * new_tokens)
    picked = [(source_name, d) for d in chosen] + _draw(pools, replay_budget, seed)
    random.Random(f"replay-mix:{seed}").shuffle(picked)
    return _corpus(picked, names=[source_name, *pools])


def _take(docs: Sequence[Doc], cap: int | None, seed: int) -> list[Doc]:
    """Documents in a seeded order while they fit in ``cap`` (at least one)."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    chosen: list[Doc] = []
    total = 0
    for index in order:
        if cap is not None and chosen and total + docs[index].tokens > cap:
            break
        chosen.append(docs[index])
        total += docs[index].tokens
    return chosen


def _draw(pools: dict[str, list[Doc]], budget: int, seed: int) -> list[tuple[str, Doc]]:
    """Up to ``budget`` tokens from ``pools``, evenly: the source with the fewest tokens so far (the
    first such, in the given order) gives its next document; stop when that document does not fit.

    Each source's documents come in a seeded order, without replacement, then cycle in that order.
    """
    orders = {}
    for name, docs in pools.items():
        order = list(range(len(docs)))
        random.Random(f"replay:{seed}:{name}").shuffle(order)
        orders[name] = order
    drawn = {name: 0 for name in pools}
    taken = {name: 0 for name in pools}
    picked: list[tuple[str, Doc]] = []
    remaining = budget
    while True:
        name = min(pools, key=lambda n: drawn[n])  # min keeps the first of equals: the given order
        order = orders[name]
        doc = pools[name][order[taken[name] % len(order)]]
        if doc.tokens > remaining:
            return picked
        picked.append((name, doc))
        taken[name] += 1
        drawn[name] += doc.tokens
        remaining -= doc.tokens


def _corpus(picked: list[tuple[str, Doc]], names: Sequence[str] = ()) -> ReplayCorpus:
    """``names`` are listed in ``sources`` even when they gave nothing (in that order)."""
    sources = {name: {"documents": 0, "tokens": 0} for name in names}
    for name, doc in picked:
        counts = sources.setdefault(name, {"documents": 0, "tokens": 0})
        counts["documents"] += 1
        counts["tokens"] += doc.tokens
    texts = tuple(doc.text for _, doc in picked)
    digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()
    return ReplayCorpus(texts, sum(doc.tokens for _, doc in picked), digest, sources)
