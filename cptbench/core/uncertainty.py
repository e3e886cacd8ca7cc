"""Intervals on cells and derived metrics: a bootstrap over the items every row scores, and over seeds.

Every row of a run scores the same documents (and probe items), so a resample draws item indices
once per task and uses them in every row, in every seed of a configuration, and on both sides of a
comparison (a *paired* bootstrap): the document-to-document variation that is common to all rows
cancels in differences such as plasticity or BWT, and only what changes between rows is left.
Cells are ratios of sums (``cptbench.core.samples``): a resampled BPB is the resampled documents'
bits over their bytes, as lm-eval aggregates it. With several seeds, each resample also draws the
seeds with replacement and averages their matrices (a two-level bootstrap: seeds, then items).
Derived metrics are recomputed on every resampled matrix; an interval is the 2.5th and 97.5th
percentiles of the resamples (a percentile bootstrap), its standard error their standard deviation.

A cell without samples (records made before them, or a corpus-level lm-eval metric) is held fixed
over item resamples: its interval then reflects the seeds only, and is None with a single seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cptbench.core import metrics
from cptbench.core.errors import CptbenchError
from cptbench.core.matrix import ResultMatrix
from cptbench.core.records import RunRecord, matrix_from_record

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0  # the bootstrap's own seed: the same records always give the same intervals
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95 % percentile-bootstrap interval and standard error."""

    estimate: float
    low: float
    high: float
    se: float

    def excludes(self, value: float = 0.0) -> bool:
        return not self.low <= value <= self.high

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class Summary:
    """One configuration (one or more seeds): mean matrix, and intervals on its cells and metrics."""

    matrix: ResultMatrix  # the mean over seeds
    cells: list[list[Interval | None]]
    estimates: dict[str, float | None]  # every metric of the mean matrix (defined even without an interval)
    metrics: dict[str, Interval | None]
    seeds: tuple[int, ...]
    resamples: int


@dataclass(frozen=True)
class Delta:
    """B − A for one cell or metric, with its interval; distinguishable when it excludes 0."""

    interval: Interval | None
    higher_is_better: bool

    @property
    def distinguishable(self) -> bool:
        return self.interval is not None and self.interval.excludes(0.0)


@dataclass(frozen=True)
class Comparison:
    cells: list[list[Delta]]
    metrics: dict[str, Delta]
    paired: bool  # both sides scored the same items, resampled together


# --- resampling ------------------------------------------------------------------------------


def _check_same_shape(groups: Sequence[Sequence[RunRecord]]) -> None:
    """Every run scores the same tasks; the seeds of one group have the same rows. Groups may differ
    in rows (joint trains one stage where naive trains five): they share the columns, and the
    metrics both define are compared on the same item draws."""
    first = groups[0][0]
    names = [t.name for t in first.tasks]
    for group in groups:
        if not group:
            raise CptbenchError("an empty group of runs has no interval")
        for record in group:
            if [t.name for t in record.tasks] != names or len(record.matrix) != len(group[0].matrix):
                raise CptbenchError(
                    f"the runs of seed {record.seed} and seed {group[0].seed} have different tasks or stages: no common interval"
                )


def _cell_arrays(group: Sequence[RunRecord], j: int) -> tuple[np.ndarray, np.ndarray]:
    """Values and weights of column j: shape (seeds, rows, items); a cell without samples is one
    item of weight 1 holding its value (fixed under resampling)."""
    values, weights = [], []
    for record in group:
        grid = record.cell_samples()
        rows_v, rows_w = [], []
        for t, row in enumerate(record.matrix):
            samples = None if grid is None else grid[t][j]
            if samples is None:
                rows_v.append([row[j]]), rows_w.append([1.0])
            else:
                rows_v.append(samples.values), rows_w.append(samples.weights or [1.0] * len(samples))
        if len({len(r) for r in rows_v}) > 1:  # samples in some rows only: the cells alone
            rows_v, rows_w = [[v] for v in (r[j] for r in record.matrix)], [[1.0]] * len(record.matrix)
        values.append(rows_v), weights.append(rows_w)
    if len({len(v[0]) for v in values}) > 1:
        raise CptbenchError(f"task {group[0].tasks[j].name}: the seeds of one configuration scored different numbers of items")
    return np.asarray(values, dtype=float), np.asarray(weights, dtype=float)


def resampled_matrices(groups: Sequence[Sequence[RunRecord]], resamples: int = DEFAULT_RESAMPLES,
                       seed: int = DEFAULT_SEED, paired: bool = True) -> tuple[list[np.ndarray], bool]:
    """One array (resamples, rows, columns) of resampled mean matrices per group, and whether every
    column was paired. Paired: one item draw per task and resample, used in every row of every
    group whose column has that many items; ``paired=False`` draws items anew for every row and
    group (the naive bootstrap, to show what pairing buys). Seeds are drawn per group."""
    _check_same_shape(groups)
    rng = np.random.default_rng(seed)
    columns = len(groups[0][0].tasks)
    out = [np.empty((resamples, len(group[0].matrix), columns)) for group in groups]
    seed_weights = [_draws(rng, len(group), resamples) / len(group) for group in groups]
    all_paired = paired
    for j in range(columns):
        arrays = [_cell_arrays(group, j) for group in groups]
        sizes = {v.shape[2] for v, _ in arrays}
        all_paired &= len(sizes) == 1
        shared = _draws(rng, next(iter(sizes)), resamples) if paired and len(sizes) == 1 else None
        for g, (values, weights) in enumerate(arrays):
            rows, size = values.shape[1], values.shape[2]
            if shared is not None:
                counts = np.broadcast_to(shared[:, None, :], (resamples, rows, size))
            else:
                counts = _draws(rng, size, resamples * rows).reshape(resamples, rows, size)
            ratio = np.einsum("srn,brn->bsr", values, counts) / np.einsum("srn,brn->bsr", weights, counts)
            out[g][:, :, j] = np.einsum("bsr,bs->br", ratio, seed_weights[g])
    return out, all_paired


def _draws(rng: np.random.Generator, size: int, resamples: int) -> np.ndarray:
    """How often each of ``size`` items is drawn in each resample (rows sum to ``size``)."""
    if size == 1:
        return np.ones((resamples, 1))
    return rng.multinomial(size, np.full(size, 1 / size), size=resamples).astype(float)


@dataclass(frozen=True)
class _Resampled:
    """A ResultMatrix whose cells hold one value per resample (an array): the metric functions
    compute every resample at once on it."""

    stages: tuple[str, ...]
    tasks: tuple
    values: np.ndarray  # (rows, columns, resamples)

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def score(self, t: int, j: int) -> np.ndarray:
        return self.tasks[j].direction.gain(self.values[t][j])


def metric_resamples(template: ResultMatrix, replicates: np.ndarray) -> dict[str, np.ndarray]:
    """Every derived metric on every resampled matrix (NaN where a metric is undefined)."""
    stacked = _Resampled(template.stages, template.tasks, np.moveaxis(replicates, 0, -1))
    nan = np.full(len(replicates), np.nan)
    return {v.key: nan if v.value is None else np.asarray(v.value, dtype=float) for v in metrics.compute_all(stacked)}


def interval(estimate: float | None, resampled: np.ndarray) -> Interval | None:
    """The percentile interval of ``resampled`` around ``estimate`` (None: undefined, or no spread
    to resample: a cell without samples in a single run)."""
    if estimate is None or np.isnan(resampled).any() or np.ptp(resampled) == 0.0:
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), float(np.std(resampled, ddof=1)))


# --- summaries and comparisons ---------------------------------------------------------------


def mean_matrix(group: Sequence[RunRecord]) -> ResultMatrix:
    """The cell-wise mean of the runs' matrices (a run: a RunRecord, or anything with its
    ``stages``, ``tasks``, ``matrix``, ``seed`` and ``cell_samples()``)."""
    first = matrix_from_record(group[0])
    values = np.mean([r.matrix for r in group], axis=0)
    return ResultMatrix(first.stages, first.tasks, tuple(map(tuple, values.tolist())))


def summarize(group: Sequence[RunRecord], resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
              paired: bool = True) -> Summary:
    """Intervals on every cell and metric of one configuration (its runs: one per seed)."""
    (replicates,), _ = resampled_matrices([group], resamples, seed, paired)
    matrix = mean_matrix(group)
    cells = [[interval(v, replicates[:, t, j]) for j, v in enumerate(row)] for t, row in enumerate(matrix.values)]
    estimates = metrics.as_dict(metrics.compute_all(matrix))
    resampled = metric_resamples(matrix, replicates)
    return Summary(matrix, cells, estimates, {k: interval(estimates[k], resampled[k]) for k in estimates},
                   tuple(r.seed for r in group), resamples)


def compare(a: Sequence[RunRecord], b: Sequence[RunRecord], resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED) -> Comparison:
    """B − A on every cell and metric, paired over the items both sides scored. Sides of different
    stages (joint against naive) share no cells: ``cells`` is empty, and the metrics both define
    (final performance, plasticity...) are compared."""
    (rep_a, rep_b), paired = resampled_matrices([a, b], resamples, seed)
    mean_a, mean_b = mean_matrix(a), mean_matrix(b)
    directions = [c.direction.gain(1.0) > 0 for c in mean_a.tasks]
    cells = [
        [Delta(interval(vb - va, rep_b[:, t, j] - rep_a[:, t, j]), directions[j])
         for j, (va, vb) in enumerate(zip(row_a, row_b))]
        for t, (row_a, row_b) in enumerate(zip(mean_a.values, mean_b.values))
    ] if len(mean_a.values) == len(mean_b.values) else []
    values_a = {v.key: v for v in metrics.compute_all(mean_a)}
    values_b = {v.key: v for v in metrics.compute_all(mean_b)}
    res_a, res_b = metric_resamples(mean_a, rep_a), metric_resamples(mean_b, rep_b)
    deltas = {}
    for key, value in values_a.items():
        other = values_b[key].value if key in values_b else None
        estimate = None if value.value is None or other is None else other - value.value
        deltas[key] = Delta(interval(estimate, res_b.get(key, np.nan * res_a[key]) - res_a[key]), value.higher_is_better)
    return Comparison(cells, deltas, paired)


def ranks_with_ties(groups: Sequence[Sequence[RunRecord]], key: str, higher_is_better: bool,
                    resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> list[int]:
    """Each group's rank on metric ``key``: 1 + the number of groups significantly better (their
    paired difference's interval excludes 0). Groups no one beats share rank 1; the metric undefined
    for a group ranks it last."""
    replicates, _ = resampled_matrices(groups, resamples, seed)
    means = [mean_matrix(g) for g in groups]
    resampled = [metric_resamples(m, r)[key] for m, r in zip(means, replicates)]
    estimates = [metrics.as_dict(metrics.compute_all(m))[key] for m in means]
    sign = 1.0 if higher_is_better else -1.0
    ranks = []
    for i, mine in enumerate(estimates):
        if mine is None:
            ranks.append(len(groups))
            continue
        better = 0
        for k, theirs in enumerate(estimates):
            if k == i or theirs is None:
                continue
            gap = interval(sign * (theirs - mine), sign * (resampled[k] - resampled[i]))
            better += gap is not None and gap.low > 0
        ranks.append(1 + better)
    return ranks


def seed_spread(group: Sequence[RunRecord]) -> dict[str, float | None]:
    """Standard deviation across seeds of each stored metric (None with one seed or undefined)."""
    if len(group) < 2:
        return {key: None for key in group[0].metrics}
    spread = {}
    for key in group[0].metrics:
        values = [r.metrics.get(key) for r in group]
        spread[key] = None if None in values else float(np.std(values, ddof=1))
    return spread


def minimum_detectable(se: float) -> float:
    """The smallest true difference a two-sided 5 % test detects with 80 % power, for a difference
    whose standard error is ``se``: (z_0.975 + z_0.8) · se = 2.80 · se."""
    return (1.959964 + 0.841621) * se if math.isfinite(se) else math.inf
