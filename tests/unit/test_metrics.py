"""Metrics on hand-computed matrices. Expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import math
import random

import pytest

from cptbench.core import metrics
from cptbench.core.errors import RecordError
from cptbench.core.matrix import Direction, ResultMatrix, TaskColumn

HI = Direction.HIGHER
LO = Direction.LOWER


def make(
    stages: int, tasks: list[tuple[str, str, Direction, int | None]], rows: list[list[float]]
) -> ResultMatrix:
    return ResultMatrix(
        stages=tuple(f"stage{i}" for i in range(1, stages + 1)),
        tasks=tuple(TaskColumn(name, metric, direction, stage) for name, metric, direction, stage in tasks),
        values=tuple(tuple(row) for row in rows),
    )


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


# (1) three stages, accuracy (higher is better), one task per stage
#            A(st1) B(st2) C(st3)
ACC3 = make(
    3,
    [("A", "accuracy", HI, 1), ("B", "accuracy", HI, 2), ("C", "accuracy", HI, 3)],
    [
        [0.50, 0.40, 0.30],  # base
        [0.70, 0.45, 0.30],  # after stage 1
        [0.60, 0.80, 0.35],  # after stage 2
        [0.55, 0.70, 0.90],  # after stage 3
    ],
)


def test_accuracy_three_stages() -> None:
    m, f = ACC3, "accuracy"
    # final: (0.55 + 0.70 + 0.90) / 3 = 2.15 / 3
    assert metrics.final(m, f) == approx(2.15 / 3)
    # plasticity: A 0.70-0.50=0.20, B 0.80-0.45=0.35, C 0.90-0.35=0.55 -> 1.10 / 3
    assert metrics.plasticity(m, f) == approx(1.10 / 3)
    # bwt: A 0.55-0.70=-0.15, B 0.70-0.80=-0.10 -> -0.25 / 2 = -0.125
    assert metrics.bwt(m, f) == approx(-0.125)
    # fwt: B s[1]-s[0]=0.45-0.40=0.05, C s[2]-s[0]=0.35-0.30=0.05 -> 0.10 / 2 = 0.05
    assert metrics.fwt(m, f) == approx(0.05)
    # forgetting max: A max(0.70, 0.60)-0.55=0.15, B 0.80-0.70=0.10 -> 0.125
    assert metrics.forgetting_max(m, f) == approx(0.125)
    # forgetting first: A 0.70-0.55=0.15, B 0.80-0.70=0.10 -> 0.125
    assert metrics.forgetting_first(m, f) == approx(0.125)
    # no general task
    assert metrics.final_general(m, f) is None
    assert metrics.general_retention(m, f) is None
    assert metrics.general_retention_rel(m, f) is None
    assert metrics.general_retention_per_stage(m, f) is None


# (2) two stages, bits-per-byte (lower is better): s = -bpb
#            D1(st1) D2(st2)
BPB2 = make(
    2,
    [("D1", "bpb", LO, 1), ("D2", "bpb", LO, 2)],
    [
        [1.00, 1.20],  # base
        [0.80, 1.10],  # after stage 1
        [0.90, 0.70],  # after stage 2: D1's bpb rose again -> forgetting
    ],
)


def test_bpb_sign_conventions() -> None:
    m, f = BPB2, "bpb"
    # final is native units: (0.90 + 0.70) / 2 = 0.80
    assert metrics.final(m, f) == approx(0.80)
    # plasticity: D1 -0.80-(-1.00)=+0.20, D2 -0.70-(-1.10)=+0.40 -> 0.30
    assert metrics.plasticity(m, f) == approx(0.30)
    # bwt: D1 s[2]-s[1] = -0.90-(-0.80) = -0.10 (one term) -> negative = forgetting
    assert metrics.bwt(m, f) == approx(-0.10)
    # forgetting: max(s[1]) - s[2] = -0.80-(-0.90) = +0.10 -> positive = forgetting
    assert metrics.forgetting_max(m, f) == approx(0.10)
    assert metrics.forgetting_first(m, f) == approx(0.10)
    # fwt: D2 s[1]-s[0] = -1.10-(-1.20) = +0.10 (bpb fell before D2's own stage)
    assert metrics.fwt(m, f) == approx(0.10)
    # relative: bwt -0.10 / |-0.80| * 100 = -12.5 %; forgetting +0.10 / 0.80 * 100 = 12.5 %
    assert metrics.bwt_rel(m, f) == approx(-12.5)
    assert metrics.forgetting_max_rel(m, f) == approx(12.5)
    # fwt rel: 0.10 / |-1.20| * 100 = 8.333... %
    assert metrics.fwt_rel(m, f) == approx(10.0 / 1.2)
    # plasticity rel: D1 0.20/1.00*100 = 20, D2 0.40/1.10*100 = 36.3636... -> (20 + 400/11) / 2
    assert metrics.plasticity_rel(m, f) == approx((20.0 + 400.0 / 11.0) / 2)


def test_bpb_directions_in_compute_all() -> None:
    by_key = {v.key: v for v in metrics.compute_all(BPB2)}
    assert by_key["final[bpb]"].higher_is_better is False  # native bpb: lower is better
    assert by_key["bwt[bpb]"].higher_is_better is True
    assert by_key["forgetting_max[bpb]"].higher_is_better is False
    assert by_key["fwt[bpb]"].higher_is_better is True


# (3) a single stage: one aligned task, one general task
SINGLE = make(
    1,
    [("X", "accuracy", HI, 1), ("G", "accuracy", HI, None)],
    [
        [0.50, 0.60],
        [0.75, 0.55],
    ],
)


def test_single_stage() -> None:
    d = metrics.as_dict(metrics.compute_all(SINGLE))
    for name in ("bwt", "bwt_rel", "fwt", "fwt_rel", "forgetting_max", "forgetting_max_rel",
                 "forgetting_first", "forgetting_first_rel"):
        assert d[f"{name}[accuracy]"] is None, name
    # plasticity: 0.75 - 0.50 = 0.25; relative 0.25 / 0.50 * 100 = 50 %
    assert d["plasticity[accuracy]"] == approx(0.25)
    assert d["plasticity_rel[accuracy]"] == approx(50.0)
    assert d["final[accuracy]"] == approx(0.75)
    assert d["final_general[accuracy]"] == approx(0.55)
    # general retention: 0.55 - 0.60 = -0.05; relative -0.05 / 0.60 * 100 = -8.333... %
    assert d["general_retention[accuracy]"] == approx(-0.05)
    assert d["general_retention_rel[accuracy]"] == approx(-5.0 / 0.6)
    assert metrics.general_retention_per_stage(SINGLE, "accuracy") == (approx(-0.05),)


# (4) mixed families: bpb and accuracy aligned to the same stages, plus a general bpb task
MIXED = make(
    2,
    [
        ("bpb_1", "bpb", LO, 1),
        ("acc_1", "accuracy", HI, 1),
        ("bpb_2", "bpb", LO, 2),
        ("acc_2", "accuracy", HI, 2),
        ("gen", "bpb", LO, None),
    ],
    [
        [1.00, 0.25, 2.00, 0.50, 1.50],
        [0.50, 0.75, 1.50, 0.50, 1.75],
        [0.75, 0.625, 1.00, 1.00, 2.00],
    ],
)


def test_mixed_families_are_separate() -> None:
    assert metrics.families(MIXED) == ("bpb", "accuracy")
    d = metrics.as_dict(metrics.compute_all(MIXED))
    assert set(d) == {f"{m.name}[{f}]" for m in metrics.METRICS for f in ("bpb", "accuracy")}
    # bwt[bpb]: bpb_1 -0.75-(-0.50) = -0.25 ; bwt[accuracy]: acc_1 0.625-0.75 = -0.125
    # (one average over both would be -0.1875)
    assert d["bwt[bpb]"] == approx(-0.25)
    assert d["bwt[accuracy]"] == approx(-0.125)
    # fwt[bpb]: bpb_2 -1.50-(-2.00) = 0.50 ; fwt[accuracy]: acc_2 0.50-0.50 = 0
    assert d["fwt[bpb]"] == approx(0.5)
    assert d["fwt[accuracy]"] == approx(0.0)
    # plasticity[bpb]: bpb_1 -0.5-(-1.0)=0.5, bpb_2 -1.0-(-1.5)=0.5 -> 0.5
    # plasticity[accuracy]: acc_1 0.75-0.25=0.5, acc_2 1.0-0.5=0.5 -> 0.5
    assert d["plasticity[bpb]"] == approx(0.5)
    assert d["plasticity[accuracy]"] == approx(0.5)
    # final[bpb]: (0.75 + 1.00) / 2 = 0.875 ; final[accuracy]: (0.625 + 1.00) / 2 = 0.8125
    assert d["final[bpb]"] == approx(0.875)
    assert d["final[accuracy]"] == approx(0.8125)
    # general: only bpb has one: final 2.00, retention -2.00-(-1.50) = -0.5, rel -0.5/1.5*100
    assert d["final_general[bpb]"] == approx(2.0)
    assert d["general_retention[bpb]"] == approx(-0.5)
    assert d["general_retention_rel[bpb]"] == approx(-100.0 / 3.0)
    assert d["final_general[accuracy]"] is None
    assert d["general_retention[accuracy]"] is None
    assert metrics.general_retention_per_stage(MIXED, "bpb") == (approx(-0.25), approx(-0.5))


# (5) forgetting "max" vs "first": A peaks at stage 2, after its own stage 1
PEAK = make(
    3,
    [("A", "accuracy", HI, 1), ("B", "accuracy", HI, 2), ("C", "accuracy", HI, 3)],
    [
        [0.20, 0.20, 0.20],
        [0.50, 0.20, 0.20],
        [0.75, 0.60, 0.20],
        [0.25, 0.50, 0.80],
    ],
)


def test_forgetting_max_vs_first() -> None:
    m, f = PEAK, "accuracy"
    # max: A max(0.50, 0.75)-0.25 = 0.50, B 0.60-0.50 = 0.10 -> 0.60 / 2 = 0.30
    assert metrics.forgetting_max(m, f) == approx(0.30)
    # first: A 0.50-0.25 = 0.25, B 0.60-0.50 = 0.10 -> 0.35 / 2 = 0.175
    assert metrics.forgetting_first(m, f) == approx(0.175)
    assert metrics.bwt(m, f) == approx(-0.175)
    # relative max: A 0.50/0.50*100 = 100, B 0.10/0.60*100 = 16.666... -> (100 + 50/3) / 2
    assert metrics.forgetting_max_rel(m, f) == approx((100.0 + 50.0 / 3.0) / 2)
    # relative first: A 0.25/0.50*100 = 50, B 16.666... -> (50 + 50/3) / 2
    assert metrics.forgetting_first_rel(m, f) == approx((50.0 + 50.0 / 3.0) / 2)


def test_forgetting_max_is_negative_when_a_task_keeps_improving() -> None:
    # the max runs over k(j) <= l < T only (not l = T), so improvement after the stage shows
    m = make(2, [("A", "accuracy", HI, 1), ("B", "accuracy", HI, 2)], [[0.1, 0.1], [0.5, 0.1], [0.75, 0.5]])
    # A: max(s[1]) - s[2] = 0.50 - 0.75 = -0.25 (one term)
    assert metrics.forgetting_max(m, "accuracy") == approx(-0.25)
    assert metrics.forgetting_first(m, "accuracy") == approx(-0.25)
    # bwt: 0.75 - 0.50 = +0.25
    assert metrics.bwt(m, "accuracy") == approx(0.25)


# (6) relative forms on the accuracy matrix ACC3
def test_relative_forms() -> None:
    m, f = ACC3, "accuracy"
    # bwt_rel: A -0.15/0.70*100 = -150/7, B -0.10/0.80*100 = -12.5 -> (-150/7 - 12.5) / 2
    assert metrics.bwt_rel(m, f) == approx((-150.0 / 7.0 - 12.5) / 2)
    # forgetting rel (max = first here): (150/7 + 12.5) / 2
    assert metrics.forgetting_max_rel(m, f) == approx((150.0 / 7.0 + 12.5) / 2)
    assert metrics.forgetting_first_rel(m, f) == approx((150.0 / 7.0 + 12.5) / 2)
    # fwt_rel: B 0.05/0.40*100 = 12.5, C 0.05/0.30*100 = 50/3 -> (12.5 + 50/3) / 2
    assert metrics.fwt_rel(m, f) == approx((12.5 + 50.0 / 3.0) / 2)
    # plasticity_rel: 40 + 700/9 + 1100/7 = 17320/63 -> / 3 = 17320/189
    assert metrics.plasticity_rel(m, f) == approx(17320.0 / 189.0)


def test_relative_skips_zero_references() -> None:
    m = make(
        2,
        [("A", "accuracy", HI, 1), ("B", "accuracy", HI, 2), ("G", "accuracy", HI, None)],
        [
            [0.0, 0.0, 0.0],
            [0.5, 0.0, 0.1],
            [0.25, 0.5, 0.2],
        ],
    )
    # fwt: B s[1]-s[0] = 0 ; reference s[0][B] = 0 -> relative undefined
    assert metrics.fwt(m, "accuracy") == approx(0.0)
    assert metrics.fwt_rel(m, "accuracy") is None
    # general retention 0.2 - 0 = 0.2, reference 0 -> relative undefined
    assert metrics.general_retention(m, "accuracy") == approx(0.2)
    assert metrics.general_retention_rel(m, "accuracy") is None
    # plasticity terms: A 0.5 (ref 0 -> skipped from rel), B 0.5-0=0.5 (ref s[1][B]=0 -> skipped)
    assert metrics.plasticity_rel(m, "accuracy") is None
    # bwt_rel: A (0.25-0.5)/0.5*100 = -50
    assert metrics.bwt_rel(m, "accuracy") == approx(-50.0)


def test_relative_mixes_zero_and_nonzero_references() -> None:
    m = make(
        1,
        [("A", "accuracy", HI, 1), ("B", "accuracy", HI, 1)],
        [
            [0.0, 0.5],
            [0.5, 0.75],
        ],
    )
    # plasticity_rel: A skipped (reference 0), B 0.25/0.5*100 = 50 -> mean over one term = 50
    assert metrics.plasticity_rel(m, "accuracy") == approx(50.0)
    # absolute keeps both terms: (0.5 + 0.25) / 2
    assert metrics.plasticity(m, "accuracy") == approx(0.375)


# (7) general retention per stage
RETAIN = make(
    3,
    [("A", "accuracy", HI, 1), ("g1", "accuracy", HI, None), ("g2", "accuracy", HI, None)],
    [
        [0.40, 0.50, 0.30],
        [0.60, 0.45, 0.30],
        [0.60, 0.40, 0.20],
        [0.60, 0.55, 0.25],
    ],
)


def test_general_retention_per_stage() -> None:
    m, f = RETAIN, "accuracy"
    # t=1: (-0.05 + 0.00) / 2 = -0.025 ; t=2: (-0.10 - 0.10) / 2 = -0.10 ; t=3: (0.05 - 0.05) / 2 = 0
    per_stage = metrics.general_retention_per_stage(m, f)
    assert per_stage == (approx(-0.025), approx(-0.10), approx(0.0))
    assert metrics.general_retention(m, f) == approx(0.0)
    # rel: g1 0.05/0.50*100 = 10, g2 -0.05/0.30*100 = -50/3 -> (10 - 50/3) / 2 = -10/3
    assert metrics.general_retention_rel(m, f) == approx(-10.0 / 3.0)
    # final_general: (0.55 + 0.25) / 2 = 0.40
    assert metrics.final_general(m, f) == approx(0.40)


def test_metrics_table_is_well_formed() -> None:
    names = [m.name for m in metrics.METRICS]
    assert len(names) == len(set(names))
    for row in metrics.METRICS:
        assert row.direction in (None, Direction.HIGHER, Direction.LOWER)
        assert row.doc and "\n" not in row.doc
        assert row.function.__doc__ and "[" in row.function.__doc__  # states its formula
    directions = {m.name: m.direction for m in metrics.METRICS}
    assert directions["bwt"] is HI and directions["fwt"] is HI and directions["plasticity"] is HI
    assert directions["forgetting_max"] is LO and directions["forgetting_first"] is LO
    assert directions["general_retention"] is HI and directions["final"] is None


def test_family_with_mixed_directions_is_rejected() -> None:
    m = make(1, [("A", "score", HI, 1), ("B", "score", LO, 1)], [[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(RecordError):
        metrics.compute_all(m)


def test_random_matrices_never_give_nan() -> None:
    rng = random.Random(0)
    for _ in range(300):
        stages = rng.randint(1, 5)
        tasks = []
        for j in range(rng.randint(1, 7)):
            family = rng.choice(["bpb", "accuracy"])
            direction = LO if family == "bpb" else HI
            stage = rng.choice([None, *range(1, stages + 1)])
            tasks.append((f"t{j}", family, direction, stage))
        rows = [
            [rng.choice([0.0, 0.0, rng.uniform(-3.0, 3.0)]) for _ in tasks] for _ in range(stages + 1)
        ]
        m = make(stages, tasks, rows)
        for value in metrics.compute_all(m):
            assert value.value is None or math.isfinite(value.value), value
        for family in metrics.families(m):
            per_stage = metrics.general_retention_per_stage(m, family)
            assert per_stage is None or (
                len(per_stage) == stages and all(math.isfinite(x) for x in per_stage)
            )
