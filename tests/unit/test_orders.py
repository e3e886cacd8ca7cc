"""Stage orders: parsing, permutations, seeded random, and the similarity chain."""

import math

import numpy as np
import pytest

from cptbench.core.errors import ConfigError
from cptbench.train.orders import OrderSpec, parse_order, sample, stage_order

NAMES = ("politics", "science", "music", "literature", "ai")


@pytest.mark.parametrize("spec", ["given", "reversed", "random:0", "random:17", "random:-3", "similar"])
def test_parse_round_trips(spec):
    assert str(parse_order(spec)) == spec


@pytest.mark.parametrize("spec", ["", "Given", "random", "random:", "random:x", "random:1.5", "similarity", "given:1"])
def test_bad_spec_is_one_config_line(spec):
    with pytest.raises(ConfigError, match="^--order .*: expected given, reversed, random:SEED or similar$"):
        parse_order(spec)


@pytest.mark.parametrize("spec", ["given", "reversed", "random:0", "random:1", "random:99"])
def test_every_order_is_a_permutation(spec):
    order = stage_order(spec, NAMES)
    assert sorted(order) == sorted(NAMES) and len(order) == len(NAMES)


def test_given_and_reversed():
    assert stage_order("given", NAMES) == NAMES
    assert stage_order(OrderSpec("reversed"), NAMES) == NAMES[::-1]


def test_random_is_seeded():
    assert stage_order("random:4", NAMES) == stage_order("random:4", NAMES)
    orders = {stage_order(f"random:{seed}", NAMES) for seed in range(10)}
    assert len(orders) > 5  # other seeds, other orders


# --- similar, on hand-made embeddings --------------------------------------------------------

ANGLES = {"a": 0, "b": 50, "c": 40, "d": -45}  # degrees on the unit circle


def _handmade(angles):
    """Two texts per stage at angle +- 10 degrees (centroid direction = the stage's angle)."""
    texts = {name: [f"{name}+", f"{name}-"] for name in angles}
    def embed(batch):
        vectors = []
        for text in batch:
            degrees = angles[text[:-1]] + (10 if text.endswith("+") else -10)
            vectors.append([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])
        return np.array(vectors)
    return texts, embed


def test_similar_follows_the_greedy_chain():
    # from a (0): c (40) is nearest; from c: b (10 away) beats d (85 away); then d.
    # Sorting by similarity to a alone would give a, c, d (45), b (50): the chain differs.
    texts, embed = _handmade(ANGLES)
    assert stage_order("similar", list(ANGLES), texts, embed) == ("a", "c", "b", "d")
    # Starting elsewhere: d (-45) -> a (0) -> c (40) -> b (50).
    names = ["d", "b", "a", "c"]
    assert stage_order("similar", names, texts, embed) == ("d", "a", "c", "b")


def test_similar_ties_keep_the_given_order():
    # x (30) and y (-30) are equally near start (0), and from either of them z (90) and the other
    # are 60 degrees away: equal up to float noise, so the given order decides every step.
    texts, embed = _handmade({"start": 0, "x": 30, "y": -30, "z": 90})
    assert stage_order("similar", ["start", "x", "y", "z"], texts, embed) == ("start", "x", "y", "z")
    assert stage_order("similar", ["start", "y", "x", "z"], texts, embed) == ("start", "y", "x", "z")
    assert stage_order("similar", ["start", "z", "y", "x"], texts, embed) == ("start", "y", "x", "z")


def test_similar_embeds_evenly_spread_documents():
    texts = {"p": [f"p{i}" for i in range(200)], "q": ["q0", "q1", "q2"]}
    seen = []
    def embed(batch):
        seen.extend(batch)
        return np.array([[1.0, 0.0] if t.startswith("p") else [0.0, 1.0] for t in batch])
    assert stage_order("similar", ["p", "q"], texts, embed) == ("p", "q")
    assert seen == sample(texts["p"]) + texts["q"]
    assert len(sample(texts["p"])) == 64 and sample(texts["p"])[:3] == ["p0", "p3", "p6"]


def test_similar_needs_texts():
    with pytest.raises(ValueError, match="texts"):
        stage_order("similar", NAMES)


# --- similar, with the real sentence encoder on CrossNER --------------------------------------


@pytest.mark.slow  # two MiniLM passes over the five domains: ~40 s on 2 cores
def test_similar_on_crossner_is_deterministic(data_dir):
    from cptbench.core.spec import DataSpec
    from cptbench.data.sources import load_texts

    texts = {d: load_texts(DataSpec("crossner", d, ("train",)), 4).texts for d in NAMES}
    first = stage_order("similar", NAMES, texts)
    assert first == stage_order("similar", NAMES, texts)
    assert first == ("politics", "science", "literature", "music", "ai")  # measured; docs/experiments.md
