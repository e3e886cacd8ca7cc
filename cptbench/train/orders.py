"""Stage orders (``--order``): given, reversed, random:SEED, or similar (nearest-neighbour chain).

``similar`` embeds up to ``SAMPLE`` documents per stage (spread evenly over the stage's documents,
not drawn at random), takes each stage's normalized centroid, and starts at the first given stage;
each next stage is the unvisited one whose centroid is most cosine-similar to the current stage's
(ties go to the earlier stage in the given order). The default encoder is all-MiniLM-L6-v2.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cptbench.core.errors import ConfigError

SAMPLE = 64
TIE = 1e-9  # similarities closer than this are equal (float noise must not reorder stages)
ORDER_HELP = "given, reversed, random:SEED or similar"
Embed = Callable[[list[str]], "object"]  # texts -> array (n, dim)


@dataclass(frozen=True)
class OrderSpec:
    kind: Literal["given", "reversed", "random", "similar"]
    seed: int | None = None  # random only

    def __str__(self) -> str:
        return f"random:{self.seed}" if self.kind == "random" else self.kind


def parse_order(spec: str) -> OrderSpec:
    """``given | reversed | random:SEED | similar``; anything else is one ConfigError naming ``--order``."""
    text = spec.strip()
    if text in ("given", "reversed", "similar"):
        return OrderSpec(text)
    kind, _, seed = text.partition(":")
    if kind == "random":
        try:
            return OrderSpec("random", int(seed))
        except ValueError:
            pass
    raise ConfigError(f"--order {spec!r}: expected {ORDER_HELP}")


def stage_order(
    spec: str | OrderSpec,
    names: Sequence[str],
    texts: Mapping[str, Sequence[str]] | None = None,
    embed: Embed | None = None,
) -> tuple[str, ...]:
    """``names`` in the order ``spec`` asks for (always a permutation of ``names``).

    ``similar`` needs ``texts`` (each stage's documents); ``embed`` defaults to the sentence
    encoder (``cptbench.eval.scorers.load_encoder``), normalized embeddings.
    """
    order = parse_order(spec) if isinstance(spec, str) else spec
    names = tuple(names)
    if len(set(names)) != len(names):
        raise ValueError(f"stage names repeat: {list(names)}")
    if order.kind == "given":
        return names
    if order.kind == "reversed":
        return names[::-1]
    if order.kind == "random":
        shuffled = list(names)
        random.Random(order.seed).shuffle(shuffled)
        return tuple(shuffled)
    if texts is None:
        raise ValueError("order 'similar' needs each stage's texts")
    return similarity_chain(names, stage_centroids(names, texts, embed or _default_embed))


def sample(texts: Sequence[str], limit: int = SAMPLE) -> list[str]:
    """Up to ``limit`` texts spread evenly over ``texts`` (no randomness)."""
    if len(texts) <= limit:
        return list(texts)
    step = len(texts) / limit
    return [texts[int(i * step)] for i in range(limit)]


def stage_centroids(names: Sequence[str], texts: Mapping[str, Sequence[str]], embed: Embed):
    """One normalized centroid per stage (rows in ``names`` order), from one batched ``embed`` call."""
    import numpy as np

    samples = [sample(texts[name]) for name in names]
    for name, chosen in zip(names, samples):
        if not chosen:
            raise ValueError(f"stage {name!r} has no texts to embed")
    vectors = np.asarray(embed([t for chosen in samples for t in chosen]), dtype=np.float64)
    bounds = np.cumsum([0] + [len(chosen) for chosen in samples])
    centroids = np.stack([vectors[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    return centroids / np.where(norms > 0, norms, 1.0)


def similarity_chain(names: Sequence[str], centroids) -> tuple[str, ...]:
    """Greedy nearest-neighbour chain from ``names[0]`` by cosine of the (normalized) centroids."""
    similarity = centroids @ centroids.T
    chain = [0]
    left = list(range(1, len(names)))
    while left:
        current = chain[-1]
        best = left[0]
        for candidate in left[1:]:  # clearly greater only: ties keep the earlier given stage
            if similarity[current, candidate] > similarity[current, best] + TIE:
                best = candidate
        chain.append(best)
        left.remove(best)
    return tuple(names[i] for i in chain)


def _default_embed(texts: list[str]):
    from cptbench.eval.scorers import load_encoder

    return load_encoder().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
