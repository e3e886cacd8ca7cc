"""The regression gate: compare a run record with a committed baseline under per-key tolerances.

Direction-aware: each metric's direction comes from ``metrics.METRICS`` (via ``compute_all``), each
cell's from its task column; only a change *for the worse* by more than the tolerance is a
regression. ``compare`` returns a ``RegressReport`` and never exits; the CLI maps it to exit codes
(0 pass, ``REGRESSION_EXIT_CODE`` regression, 2 bad input).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from cptbench.core import metrics
from cptbench.core.matrix import Direction
from cptbench.core.records import RunRecord, matrix_from_record, samples_grid
from cptbench.core.uncertainty import compare as uncertainty_compare
from cptbench.core.uncertainty import mean_matrix
from cptbench.publish.compare import check_seed_group
from cptbench.publish.format import arrow, markdown_table, number
from cptbench.publish.submissions import (
    BASELINE_SCHEMA_VERSION,
    Baseline,
    BaselineError,
    BaselineRun,
    BaselineSource,
)

REGRESSION_EXIT_CODE = 1
DEFAULT_TOLERANCE = 0.005
"""Absolute tolerance of a metric in native units (bits-per-byte for the shipped suites)."""
DEFAULT_REL_TOLERANCE = 0.5
"""Absolute tolerance of a relative (``*_rel``) metric, in percentage points."""
DEFAULT_CELL_TOLERANCE = 0.005
"""Absolute tolerance of one matrix cell, native units."""
ALL_CELLS = "cells"
"""``--tol cells=ABS`` sets the tolerance of every matrix cell."""
_SLACK = 1e-12  # a change of exactly the tolerance passes despite rounding
FAMILY_ERROR = 0.05  # --tol auto: the chance that a rerun of the baseline's configuration fails at all
AUTO = "auto"
"""``--tol auto``: every tolerance from the intervals (an explicit ``--tol KEY=ABS`` still wins)."""


def default_tolerance(key: str) -> float:
    name = key.split("[", 1)[0]
    return DEFAULT_REL_TOLERANCE if name.endswith("_rel") else DEFAULT_TOLERANCE


# --- making a baseline -----------------------------------------------------------------------


def create_baseline(records: Sequence[RunRecord], *, include_matrix: bool = True, now: dt.datetime | None = None) -> Baseline:
    """A baseline of one run, or of several seeds of one configuration (their mean): metrics,
    default tolerances, provenance, and each seed's matrix and per-item values (``--tol auto``)."""
    check_seed_group(records, "baseline create")
    record = records[0]
    matrix = mean_matrix(records)
    values = metrics.as_dict(metrics.compute_all(matrix))
    packages, sha = record.environment.get("packages"), record.environment.get("git_sha")
    source = BaselineSource(
        record_created=record.created,
        cptbench_version=record.cptbench_version,
        git_sha=sha if isinstance(sha, str) else None,
        model_source=record.model.source,
        recipes=record.recipes,
        packages={str(k): str(v) for k, v in packages.items()} if isinstance(packages, dict) else {},
    )
    created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
    return Baseline(
        baseline_schema_version=BASELINE_SCHEMA_VERSION,
        created=created,
        suite=record.suite,
        model=record.model.reference,
        seed=record.seed,
        stages=record.stages,
        tasks=record.tasks,
        metrics=values,
        matrix=[list(row) for row in matrix.values] if include_matrix else None,
        tolerances={key: default_tolerance(key) for key in values},
        cell_tolerance=DEFAULT_CELL_TOLERANCE,
        created_from=source,
        runs=[BaselineRun(seed=r.seed, matrix=r.matrix, samples=r.samples) for r in records],
    )


@dataclass(frozen=True)
class _SeedRun:
    """A baseline's seed as the interval code reads a run: stages, tasks, matrix, samples."""

    stages: list[str]
    tasks: list
    matrix: list[list[float]]
    seed: int
    samples: list | None

    def cell_samples(self):
        return samples_grid(self.samples)


def auto_noise(record: RunRecord, baseline: Baseline) -> dict[str, float]:
    """Per metric and cell key, the standard deviation of (run − baseline) that noise explains:
    sqrt(se² + sd²), se = the bootstrap standard error of the difference (items resampled in
    pairs, the baseline's seeds resampled), sd = the spread across the baseline's seeds (the run is
    one more seed; 0 with a one-seed baseline)."""
    if not baseline.runs or all(run.samples is None for run in baseline.runs):
        raise BaselineError("--tol auto: the baseline holds no per-item values; re-create it with "
                            "`cptbench baseline create RUN [RUN...]` from runs made by this cptbench")
    seeds = [_SeedRun(baseline.stages, baseline.tasks, run.matrix, run.seed, run.samples) for run in baseline.runs]
    found = uncertainty_compare(seeds, [record])
    spread = _seed_sd(seeds)
    labels = ["base", *record.stages]
    deltas = dict(found.metrics) | {
        cell_key(task.name, labels[t]): row[j] for t, row in enumerate(found.cells) for j, task in enumerate(record.tasks)
    }
    return {key: math.hypot(delta.interval.se if delta.interval else 0.0, spread.get(key) or 0.0)
            for key, delta in deltas.items()}


def auto_tolerances(record: RunRecord, baseline: Baseline, checks: int) -> tuple[dict[str, float], list[str]]:
    """``z · auto_noise`` per key, z the one-sided normal quantile at 5 % / ``checks``
    (Bonferroni): the gate as a whole fails a same-configuration rerun at most 5 % of the time
    (when the noise estimate is right). Notes say what it rests on."""
    noise = auto_noise(record, baseline)
    z = statistics.NormalDist().inv_cdf(1 - FAMILY_ERROR / max(checks, 1))
    seeds = len(baseline.runs or [])
    notes = [f"--tol auto: z · sqrt(se² + seed sd²) with z = {z:.2f} (5 % over {checks} checks, one-sided, "
             f"Bonferroni), from the baseline's {seeds} seed(s) and the items both scored"]
    if seeds == 1:
        notes.append("the baseline has one seed: auto tolerances cover evaluation noise only, not seed-to-seed "
                     "variation; make it from several (`cptbench baseline create RUN_s0 RUN_s1 RUN_s2`)")
    return {key: z * sigma for key, sigma in noise.items()}, notes


def _seed_sd(seeds: list[_SeedRun]) -> dict[str, float]:
    """Standard deviation across the baseline's seeds of every metric and cell (empty with one seed)."""
    if len(seeds) < 2:
        return {}
    labels = ["base", *seeds[0].stages]
    per_seed = []
    for run in seeds:
        matrix = matrix_from_record(run)
        values = metrics.as_dict(metrics.compute_all(matrix))
        values |= {cell_key(c.name, labels[t]): v for t, row in enumerate(matrix.values) for c, v in zip(matrix.tasks, row)}
        per_seed.append(values)
    return {key: statistics.stdev(v[key] for v in per_seed) for key in per_seed[0] if None not in (v[key] for v in per_seed)}


# --- the comparison --------------------------------------------------------------------------


class Status(str, enum.Enum):
    PASS = "pass"
    BETTER = "better"
    REGRESSION = "REGRESSION"


@dataclass(frozen=True)
class Check:
    """One compared quantity: a derived metric (``bwt[bpb]``) or a cell (``politics_bpb@ai``)."""

    key: str
    baseline: float | None
    current: float | None
    tolerance: float
    higher_is_better: bool

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def status(self) -> Status:
        if self.delta is None:  # undefined on one side only is a change nobody asked for
            return Status.PASS if self.baseline is None and self.current is None else Status.REGRESSION
        gain = self.delta if self.higher_is_better else -self.delta
        if gain < -(self.tolerance + _SLACK):
            return Status.REGRESSION
        return Status.BETTER if gain > self.tolerance + _SLACK else Status.PASS


@dataclass(frozen=True)
class RegressReport:
    run: str
    baseline: str
    checks: tuple[Check, ...]
    notes: tuple[str, ...]

    @property
    def regressions(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is Status.REGRESSION)

    @property
    def passed(self) -> bool:
        return not self.regressions

    def markdown(self) -> str:
        return render_markdown(self)


def parse_tolerances(items: list[str]) -> dict[str, float]:
    """``["bwt[bpb]=0.01", "forgetting_max=0.02", "cells=0.1"]`` -> ``{key: tolerance}``."""
    parsed: dict[str, float] = {}
    for item in items:
        key, sep, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not key.strip() or not math.isfinite(value) or value < 0:
            if item == AUTO:
                continue  # the caller reads it (``compare(auto=True)``)
            raise BaselineError(f"--tol {item}: expected METRIC=ABS with ABS a finite number >= 0")
        parsed[key.strip()] = value
    return parsed


def cell_key(task: str, row_label: str) -> str:
    """``politics_bpb@ai``: task ``politics_bpb`` after stage ``ai`` (``@base`` = before any stage)."""
    return f"{task}@{row_label}"


def compare(
    record: RunRecord,
    baseline: Baseline,
    *,
    tolerances: dict[str, float] | None = None,
    cells: bool = False,
    chosen_cells: tuple[str, ...] = (),
    auto: bool = False,
    run: str = "run",
    baseline_name: str = "baseline",
) -> RegressReport:
    """Compare ``record`` (stored metrics already verified) with ``baseline``; never exits. With
    ``auto``, each tolerance is what noise explains (``auto_tolerances``) unless given explicitly."""
    _check_comparable(record, baseline)
    overrides = dict(tolerances or {})
    automatic, auto_notes = {}, []
    if auto:
        count = len(baseline.metrics) + (len(baseline.tasks) * (len(baseline.stages) + 1) if cells else len(set(chosen_cells)))
        automatic, auto_notes = auto_tolerances(record, baseline, count)
    checks = list(_metric_checks(record, baseline, overrides, automatic))
    if cells or chosen_cells:
        checks += _cell_checks(record, baseline, overrides, cells, chosen_cells, automatic)
    unused = sorted(k for k in overrides if k != ALL_CELLS and not _used(k, checks))
    if unused:
        raise BaselineError(f"--tol {unused[0]}: not a compared metric or cell (e.g. forgetting_max[bpb], forgetting_max)")
    if not checks:  # a gate that checks nothing passes everything
        raise BaselineError(f"{baseline_name}: nothing to compare (the baseline holds no metrics; add --cells to compare the matrix)")
    return RegressReport(run, baseline_name, tuple(checks), tuple(_notes(record, baseline) + auto_notes))


def _used(key: str, checks: list[Check]) -> bool:
    return any(c.key == key or c.key.split("[", 1)[0] == key for c in checks)


def _check_comparable(record: RunRecord, baseline: Baseline) -> None:
    """Suite, budget, stages and tasks must agree: otherwise the numbers mean different things."""
    ours = record.suite.model_dump(exclude={"version", "hash"})
    theirs = baseline.suite.model_dump(exclude={"version", "hash"})
    pairs = {f"suite.{key}": (ours[key], theirs.get(key)) for key in ours}
    pairs["stages"] = (record.stages, baseline.stages)
    for what, (current, reference) in pairs.items():
        if current != reference:
            raise BaselineError(f"run and baseline are not comparable: {what} {current} vs baseline {reference}")
    if record.tasks != baseline.tasks:
        names = ", ".join(t.name for t in baseline.tasks)
        raise BaselineError(f"run and baseline are not comparable: tasks differ from the baseline's ({names})")


def _tolerance(key: str, overrides: dict[str, float], stored: float | None, automatic: dict[str, float]) -> float:
    name = key.split("[", 1)[0]
    for candidate in (overrides.get(key), overrides.get(name), automatic.get(key), stored):
        if candidate is not None:
            return candidate
    return default_tolerance(key)


def _metric_checks(record: RunRecord, baseline: Baseline, overrides: dict[str, float], automatic: dict[str, float]):
    computed = {value.key: value for value in metrics.compute_all(matrix_from_record(record))}
    for key, reference in baseline.metrics.items():
        if key not in computed:
            raise BaselineError(f"baseline metric {key!r} is not a metric of this run (known: {', '.join(computed)})")
        current = computed[key]
        tolerance = _tolerance(key, overrides, baseline.tolerances.get(key), automatic)
        yield Check(key, reference, current.value, tolerance, current.higher_is_better)


def _cell_checks(record, baseline, overrides, every: bool, chosen: tuple[str, ...], automatic: dict[str, float]) -> list[Check]:
    if baseline.matrix is None:
        raise BaselineError("--cells: the baseline holds no matrix (create it without --no-matrix)")
    labels = ["base", *record.stages]
    keys = {cell_key(task.name, label): (t, j) for t, label in enumerate(labels) for j, task in enumerate(record.tasks)}
    for key in chosen:
        if key not in keys:
            raise BaselineError(f"--cell {key}: expected TASK@STAGE, e.g. {record.tasks[0].name}@{labels[-1]} or ...@base")
    selected = list(keys) if every else list(dict.fromkeys(chosen))
    checks = []
    for key in selected:
        t, j = keys[key]
        tolerance = overrides.get(key, overrides.get(ALL_CELLS, automatic.get(key, baseline.cell_tolerance)))
        higher = Direction(record.tasks[j].direction) is Direction.HIGHER
        checks.append(Check(key, baseline.matrix[t][j], record.matrix[t][j], tolerance, higher))
    return checks


def _notes(record: RunRecord, baseline: Baseline) -> list[str]:
    """Configuration differences that do not stop the comparison but a reviewer should see."""
    notes = []
    if record.suite.hash != baseline.suite.hash:
        notes.append(f"suite hash `{record.suite.hash[:12]}` differs from the baseline's `{baseline.suite.hash[:12]}`")
    if record.model.reference != baseline.model:
        notes.append(f"model `{record.model.reference}` differs from the baseline's `{baseline.model}`")
    baseline_seeds = [run.seed for run in baseline.runs] if baseline.runs else [baseline.seed]
    if record.seed not in baseline_seeds:
        notes.append(f"seed {record.seed} is not the baseline's ({', '.join(map(str, baseline_seeds))})")
    if record.recipes != baseline.created_from.recipes:
        notes.append("recipes differ from the baseline's: " + _recipe_diff(record.recipes, baseline.created_from.recipes))
    return notes


def _recipe_diff(current: dict[str, dict], reference: dict[str, dict]) -> str:
    if set(current) != set(reference):
        return f"{sorted(current)} vs {sorted(reference)}"
    changes = [
        f"{name}.{field} {reference[name].get(field)!r} -> {current[name].get(field)!r}"
        for name in sorted(current)
        for field in sorted(set(current[name]) | set(reference[name]))
        if current[name].get(field) != reference[name].get(field)
    ]
    return ", ".join(changes)


# --- rendering -------------------------------------------------------------------------------


def render_markdown(report: RegressReport) -> str:
    """A heading with the verdict, configuration notes, and one table row per check."""
    regressions = report.regressions
    if regressions:
        verdict = f"FAIL: {len(regressions)} regression(s) ({', '.join(c.key for c in regressions)})"
    else:
        verdict = f"PASS ({len(report.checks)} checks)"
    lines = [
        f"## cptbench regress: {verdict}",
        "",
        f"Run `{report.run}` against baseline `{report.baseline}`. ↑ higher is better, ↓ lower is better; "
        "only a change for the worse beyond the tolerance fails.",
        "",
    ]
    lines += [f"- note: {note}" for note in report.notes]
    undefined = [c.key for c in report.checks if c.baseline is None and c.current is None]
    if undefined:
        lines.append(f"- {len(undefined)} metric(s) undefined in both (e.g. no term in the sum), not listed: {', '.join(undefined)}")
    rows = [
        [f"{c.key} {arrow(c.higher_is_better)}", number(c.baseline, 5), number(c.current, 5),
         number(c.delta, 5, signed=True), f"{c.tolerance:g}",
         f"**{c.status.value}**" if c.status is Status.REGRESSION else c.status.value]
        for c in report.checks if c.key not in undefined
    ]
    lines += ["", markdown_table(["metric", "baseline", "current", "delta", "tolerance", "status"], rows)]
    return "\n".join(lines)
