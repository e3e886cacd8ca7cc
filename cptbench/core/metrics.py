"""Transfer and forgetting metrics: pure functions of a ``ResultMatrix``.

Notation (used in every docstring below):

- ``R[t][j]``: task j's value after stage t, in the task's native units; row 0 is the base model.
- ``s[t][j]``: the gain-oriented score, ``s = R`` if higher is better, else ``s = -R``
  (e.g. bits-per-byte), so that a positive difference is always an improvement.
- ``T``: the number of stages; ``k(j)``: the 1-based stage task j is aligned to (general tasks
  have none).

Every metric is computed per *metric family*: the tasks sharing one ``TaskColumn.metric``
(e.g. ``"bpb"`` or ``"accuracy"``), because averaging bits-per-byte with accuracy is meaningless.
A result is named ``name[family]``, e.g. ``bwt[bpb]`` or ``forgetting_max_rel[accuracy]``.

Denominators: the GEM paper divides BWT and FWT by T-1, its published code by T. Here every
average divides by the number of (task) terms in its sum, which equals T-1 for BWT, FWT and
forgetting when each stage has exactly one task of the family. A metric with no terms (T = 1 for
BWT/FWT/forgetting, no general task for general retention) is ``None``, never NaN.

Relative forms (suffix ``_rel``) divide each term by ``|s[reference][j]|`` and multiply by 100
(percent) before averaging the same way; terms whose reference is exactly 0 are skipped, and the
metric is ``None`` when every reference is 0.

The same functions compute a metric on many resampled matrices at once (``cptbench.core.uncertainty``):
a matrix whose cells are numpy arrays (one value per resample) gives arrays, NaN where undefined.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cptbench.core.errors import NumericsError, RecordError
from cptbench.core.matrix import Direction, ResultMatrix

# A (difference, reference) pair: one term of a metric and the score its relative form divides by.
_Term = tuple[float, float]


# ---------------------------------------------------------------------------------------------
# Helpers


def families(matrix: ResultMatrix) -> tuple[str, ...]:
    """Metric families (``TaskColumn.metric`` values) in order of first appearance."""
    seen: list[str] = []
    for column in matrix.tasks:
        if column.metric not in seen:
            seen.append(column.metric)
    return tuple(seen)


def family_direction(matrix: ResultMatrix, family: str) -> Direction:
    """The direction shared by every task of ``family``; a family mixing directions is an error."""
    directions = {c.direction for c in matrix.tasks if c.metric == family}
    if not directions:
        raise RecordError(f"metrics: no task has metric {family!r}")
    if len(directions) > 1:
        raise RecordError(f"metrics: tasks with metric {family!r} disagree on its direction")
    return directions.pop()


def _aligned(matrix: ResultMatrix, family: str) -> list[tuple[int, int]]:
    """(j, k(j)) for every aligned task of ``family``."""
    return [
        (j, c.stage) for j, c in enumerate(matrix.tasks) if c.metric == family and c.stage is not None
    ]


def _general(matrix: ResultMatrix, family: str) -> list[int]:
    """Indices of the general (unaligned) tasks of ``family``."""
    return [j for j, c in enumerate(matrix.tasks) if c.metric == family and c.stage is None]


def _mean(terms: list[float]) -> float | None:
    """Arithmetic mean; ``None`` for no terms. Overflow to inf is reported, never returned."""
    if not terms:
        return None
    value = sum(terms) / len(terms)
    if not np.all(np.isfinite(value)):
        raise NumericsError(f"metrics: a mean over {len(terms)} terms is {value}")
    return value


def _absolute(terms: list[_Term]) -> float | None:
    """Mean of the differences."""
    return _mean([difference for difference, _ in terms])


def _relative(terms: list[_Term]) -> float | None:
    """Mean of 100 * difference / |reference| over the terms whose reference is not 0."""
    if terms and isinstance(terms[0][1], np.ndarray):
        return _relative_resampled(terms)
    return _mean([100.0 * d / abs(r) for d, r in terms if r != 0.0])


def _relative_resampled(terms: list[_Term]) -> np.ndarray:
    """``_relative`` per resample: each resample skips its own zero references (NaN: all zero)."""
    kept = [r != 0.0 for _, r in terms]
    parts = [np.where(k, 100.0 * d / np.where(k, np.abs(r), 1.0), 0.0) for (d, r), k in zip(terms, kept)]
    counts = sum(k.astype(float) for k in kept)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sum(parts) / counts, np.nan)


def _peak(scores: list[float]) -> float:
    """The largest score (elementwise for resampled cells)."""
    return functools.reduce(np.fmax, scores) if isinstance(scores[0], np.ndarray) else max(scores)


# ---------------------------------------------------------------------------------------------
# Terms: one (difference, reference) pair per task that enters a metric's sum


def _plasticity_terms(m: ResultMatrix, family: str) -> list[_Term]:
    return [(m.score(k, j) - m.score(k - 1, j), m.score(k - 1, j)) for j, k in _aligned(m, family)]


def _bwt_terms(m: ResultMatrix, family: str) -> list[_Term]:
    last = m.num_stages
    return [
        (m.score(last, j) - m.score(k, j), m.score(k, j)) for j, k in _aligned(m, family) if k < last
    ]


def _fwt_terms(m: ResultMatrix, family: str) -> list[_Term]:
    return [(m.score(k - 1, j) - m.score(0, j), m.score(0, j)) for j, k in _aligned(m, family) if k > 1]


def _forgetting_max_terms(m: ResultMatrix, family: str) -> list[_Term]:
    last = m.num_stages
    terms = []
    for j, k in _aligned(m, family):
        if k < last:
            peak = _peak([m.score(t, j) for t in range(k, last)])
            terms.append((peak - m.score(last, j), m.score(k, j)))
    return terms


def _forgetting_first_terms(m: ResultMatrix, family: str) -> list[_Term]:
    last = m.num_stages
    return [
        (m.score(k, j) - m.score(last, j), m.score(k, j)) for j, k in _aligned(m, family) if k < last
    ]


def _retention_terms(m: ResultMatrix, family: str, t: int) -> list[_Term]:
    return [(m.score(t, j) - m.score(0, j), m.score(0, j)) for j in _general(m, family)]


# ---------------------------------------------------------------------------------------------
# Public metrics: f(matrix, family) -> float | None


def final(matrix: ResultMatrix, family: str) -> float | None:
    """Final performance on aligned tasks, native units: mean over aligned j of R[T][j]."""
    last = matrix.num_stages
    return _mean([matrix.values[last][j] for j, _ in _aligned(matrix, family)])


def final_general(matrix: ResultMatrix, family: str) -> float | None:
    """Final performance on general tasks, native units: mean over general j of R[T][j]."""
    last = matrix.num_stages
    return _mean([matrix.values[last][j] for j in _general(matrix, family)])


def plasticity(matrix: ResultMatrix, family: str) -> float | None:
    """Learning: mean over aligned j of (s[k(j)][j] - s[k(j)-1][j]). Positive = the stage helped."""
    return _absolute(_plasticity_terms(matrix, family))


def plasticity_rel(matrix: ResultMatrix, family: str) -> float | None:
    """Relative learning, %: mean over aligned j of 100 (s[k][j] - s[k-1][j]) / |s[k-1][j]|, k = k(j)."""
    return _relative(_plasticity_terms(matrix, family))


def bwt(matrix: ResultMatrix, family: str) -> float | None:
    """Backward transfer (GEM, paper form): 1/n * sum_{j: k(j)<T} (s[T][j] - s[k(j)][j]).

    n = number of terms (the GEM paper divides by T-1, its published code by T; n = T-1 with one
    task per stage). Negative = forgetting. ``None`` when no aligned task precedes the last stage.
    """
    return _absolute(_bwt_terms(matrix, family))


def bwt_rel(matrix: ResultMatrix, family: str) -> float | None:
    """Relative BWT, %: 1/n * sum_{j: k(j)<T} 100 (s[T][j] - s[k(j)][j]) / |s[k(j)][j]|."""
    return _relative(_bwt_terms(matrix, family))


def fwt(matrix: ResultMatrix, family: str) -> float | None:
    """Forward transfer (base-model baseline, as Avalanche): 1/n * sum_{j: k(j)>1} (s[k(j)-1][j] - s[0][j]).

    n = number of terms (= T-1 with one task per stage; GEM's paper divides by T-1, its code by T).
    Positive = earlier stages helped task j before its own stage. ``None`` when T = 1.
    """
    return _absolute(_fwt_terms(matrix, family))


def fwt_rel(matrix: ResultMatrix, family: str) -> float | None:
    """Relative FWT, %: 1/n * sum_{j: k(j)>1} 100 (s[k(j)-1][j] - s[0][j]) / |s[0][j]|."""
    return _relative(_fwt_terms(matrix, family))


def forgetting_max(matrix: ResultMatrix, family: str) -> float | None:
    """Forgetting (Chaudhry, "max"): 1/n * sum_{j: k(j)<T} (max_{k(j)<=l<T} s[l][j] - s[T][j]).

    n = number of terms (= T-1 with one task per stage). Positive = forgetting.
    """
    return _absolute(_forgetting_max_terms(matrix, family))


def forgetting_max_rel(matrix: ResultMatrix, family: str) -> float | None:
    """Relative max-forgetting, %:

    1/n * sum_{j: k(j)<T} 100 (max_{k(j)<=l<T} s[l][j] - s[T][j]) / |s[k(j)][j]|.
    """
    return _relative(_forgetting_max_terms(matrix, family))


def forgetting_first(matrix: ResultMatrix, family: str) -> float | None:
    """Forgetting (Avalanche, "first"): 1/n * sum_{j: k(j)<T} (s[k(j)][j] - s[T][j]) = -BWT.

    n = number of terms (= T-1 with one task per stage). Positive = forgetting.
    """
    return _absolute(_forgetting_first_terms(matrix, family))


def forgetting_first_rel(matrix: ResultMatrix, family: str) -> float | None:
    """Relative first-forgetting, %: 1/n * sum_{j: k(j)<T} 100 (s[k(j)][j] - s[T][j]) / |s[k(j)][j]|."""
    return _relative(_forgetting_first_terms(matrix, family))


def general_retention(matrix: ResultMatrix, family: str) -> float | None:
    """General retention (TRACE ΔR^G): mean over general j of (s[T][j] - s[0][j]). Negative = loss."""
    return _absolute(_retention_terms(matrix, family, matrix.num_stages))


def general_retention_rel(matrix: ResultMatrix, family: str) -> float | None:
    """Relative general retention, %: mean over general j of 100 (s[T][j] - s[0][j]) / |s[0][j]|."""
    return _relative(_retention_terms(matrix, family, matrix.num_stages))


def general_retention_per_stage(matrix: ResultMatrix, family: str) -> tuple[float, ...] | None:
    """General retention after each stage: element t-1 = mean over general j of (s[t][j] - s[0][j]).

    Length T (t = 1..T); the last element equals ``general_retention``. ``None`` when the family
    has no general task.
    """
    values = []
    for t in range(1, matrix.num_stages + 1):
        value = _absolute(_retention_terms(matrix, family, t))
        if value is None:
            return None
        values.append(value)
    return tuple(values)


# ---------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Metric:
    """One row of ``METRICS``. ``direction`` None: as the family's tasks (native-unit metrics)."""

    name: str
    function: Callable[[ResultMatrix, str], float | None]
    direction: Direction | None
    doc: str

    def higher_is_better(self, family_direction: Direction) -> bool:
        return (self.direction or family_direction) is Direction.HIGHER


_HIGHER = Direction.HIGHER
_LOWER = Direction.LOWER

METRICS: tuple[Metric, ...] = (
    Metric(
        "final", final, None,
        "mean final value R[T][j] over aligned tasks, native units",
    ),
    Metric(
        "final_general", final_general, None,
        "mean final value R[T][j] over general tasks, native units",
    ),
    Metric(
        "plasticity", plasticity, _HIGHER,
        "mean gain on each task during its own stage",
    ),
    Metric(
        "plasticity_rel", plasticity_rel, _HIGHER,
        "plasticity, % of the score before the stage",
    ),
    Metric(
        "bwt", bwt, _HIGHER,
        "backward transfer (GEM); negative = forgetting",
    ),
    Metric(
        "bwt_rel", bwt_rel, _HIGHER,
        "backward transfer, % of the score after the task's stage",
    ),
    Metric(
        "fwt", fwt, _HIGHER,
        "forward transfer vs the base model, before each task's stage",
    ),
    Metric(
        "fwt_rel", fwt_rel, _HIGHER,
        "forward transfer, % of the base model's score",
    ),
    Metric(
        "forgetting_max", forgetting_max, _LOWER,
        "forgetting from the peak (Chaudhry); positive = forgetting",
    ),
    Metric(
        "forgetting_max_rel", forgetting_max_rel, _LOWER,
        "max-forgetting, % of the score after the task's stage",
    ),
    Metric(
        "forgetting_first", forgetting_first, _LOWER,
        "forgetting since the task's stage (Avalanche) = -BWT",
    ),
    Metric(
        "forgetting_first_rel", forgetting_first_rel, _LOWER,
        "first-forgetting, % of the score after the task's stage",
    ),
    Metric(
        "general_retention", general_retention, _HIGHER,
        "change on general tasks vs the base model (TRACE)",
    ),
    Metric(
        "general_retention_rel", general_retention_rel, _HIGHER,
        "general retention, % of the base model's score",
    ),
)


@dataclass(frozen=True)
class MetricValue:
    """One computed metric for one family; ``value`` is None when the metric is undefined."""

    name: str
    family: str
    value: float | None
    higher_is_better: bool
    doc: str

    @property
    def key(self) -> str:
        """``name[family]``, e.g. ``bwt[bpb]``."""
        return f"{self.name}[{self.family}]"


def compute_all(matrix: ResultMatrix) -> tuple[MetricValue, ...]:
    """Every metric of ``METRICS`` for every family, in table order, families in task order."""
    results = []
    for metric in METRICS:
        for family in families(matrix):
            direction = family_direction(matrix, family)
            results.append(
                MetricValue(
                    name=metric.name,
                    family=family,
                    value=metric.function(matrix, family),
                    higher_is_better=metric.higher_is_better(direction),
                    doc=metric.doc,
                )
            )
    return tuple(results)


def as_dict(values: tuple[MetricValue, ...] | list[MetricValue]) -> dict[str, float | None]:
    """``{"bwt[bpb]": -0.1, ...}`` from ``compute_all``'s result."""
    return {v.key: v.value for v in values}
