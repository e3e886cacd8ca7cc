"""``cptbench verify``: re-evaluate a finished run and compare every cell with its record.

A record can be rewritten so that it agrees with itself (matrix, metrics and details together);
only evaluating the models again catches that. The run keeps its last stage's checkpoint, so the
final row is re-evaluated from it and row 0 from the base model, on the suite's own tasks and
budget, each into ``RUN_DIR/verify/<row>`` (an ordinary one-row run, redone every time). The outcome goes
to ``RUN_DIR/verification.json``, bound to the record by its sha256, which ``cptbench submit``
carries onto the leaderboard.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from pathlib import Path

from cptbench import __version__
from cptbench.config.suites import evaluation_view, load_suite
from cptbench.core.constants import DEFAULT_BACKEND, RECORD_NAME
from cptbench.core.errors import RecordError
from cptbench.core.io import write_json_atomic
from cptbench.core.progress import Reporter
from cptbench.core.records import RunRecord, load_verified_record
from cptbench.core.samples import Samples
from cptbench.core.spec import Suite
from cptbench.models.checkpoints import check_checkpoint
from cptbench.run.runner import RunConfig, run_suite
from cptbench.run.store import RunDir

MAX_VERIFY_TOLERANCE = 1e-4  # the loosest a leaderboard accepts as "verified"
DEFAULT_TOLERANCE = 1e-5  # relative and absolute: another batch shape moves float sums by ~5e-6 (docs/benchmarks.md)
VERIFICATION_NAME = "verification.json"
VERIFIED, REPRODUCED = "verified", "reproduced"  # the levels: base and final rows re-evaluated; every row trained again


@dataclasses.dataclass(frozen=True)
class Verification:
    verified: bool
    cells: int
    max_difference: float
    disagreements: list[str]
    path: Path
    cells_disagreeing: int = 0  # cells whose value or items differ (a cell may have both lines)
    level: str = VERIFIED
    rows: tuple[int, ...] = ()
    stages_disagreeing: int = 0  # reproduce: stages whose training (tokens, data order, loss...) differs


@dataclasses.dataclass
class Comparison:
    """Disagreement lines and the absolute difference of every compared cell."""

    disagreements: list[str] = dataclasses.field(default_factory=list)
    differences: list[float] = dataclasses.field(default_factory=list)
    cells_disagreeing: int = 0

    def row(self, record: RunRecord, row: int, label: str, values: dict[str, float],
            samples: dict[str, Samples | None], tolerance: float) -> None:
        """Every cell of the record's row ``row`` and its per-item samples against ``values`` and
        ``samples`` (by task name), evaluated again."""
        recorded_samples = (record.cell_samples() or [[None] * len(record.tasks)] * len(record.matrix))[row]
        for task, stored, items in zip(record.tasks, record.matrix[row], recorded_samples):
            value = values[task.name]
            self.differences.append(abs(value - stored))
            before = len(self.disagreements)
            if not math.isclose(value, stored, rel_tol=tolerance, abs_tol=tolerance):
                self.disagreements.append(f"matrix[{row}] ({label}) {task.name}: recorded {stored!r}, re-evaluated {value!r}")
            problem = samples_disagree(items, samples.get(task.name), tolerance)
            if problem:
                self.disagreements.append(f"samples[{row}] ({label}) {task.name}: {problem}")
            self.cells_disagreeing += len(self.disagreements) > before


def write_verification(run_dir: Path, level: str, rows: list[int], tolerance: float, found: Comparison,
                       stages_disagreeing: int = 0) -> Verification:
    """``RUN_DIR/verification.json``, bound to the record by its sha256: what ``submit`` carries."""
    verification = Verification(not found.disagreements, len(found.differences), max(found.differences, default=0.0),
                                found.disagreements, run_dir / VERIFICATION_NAME, found.cells_disagreeing, level,
                                tuple(rows), stages_disagreeing)
    write_json_atomic(verification.path, {
        "level": level,
        "verified": verification.verified,
        "cptbench_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "record_sha256": record_sha256(run_dir / RECORD_NAME),
        "rows": rows,
        "tolerance": tolerance,
        "cells": verification.cells,
        "max_difference": verification.max_difference,
        "disagreements": found.disagreements,
    })
    return verification


def record_sha256(record_file: Path) -> str:
    """Binds a verification to the exact record it checked."""
    return hashlib.sha256(Path(record_file).read_bytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class VerificationPlan:
    run_dir: Path
    record: RunRecord
    suite: Suite
    rows: list[tuple[int, str, str]]  # (row, label, model to evaluate)
    backend_options: tuple[tuple[str, str], ...]  # the run's own (vLLM engine settings, server URL)


def plan_verification(run_dir: Path, suite: str | None = None) -> VerificationPlan:
    """Every check before any evaluation: a consistent record, its suite, the checkpoint it kept."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RecordError(f"{run_dir}: not a run directory (verify needs the run's checkpoint beside its record)")
    record = load_verified_record(run_dir)
    rows = _rows_to_verify(run_dir, record)
    loaded = suite_of(run_dir, record, suite)
    run = RunDir(run_dir)
    config = run.read_config()
    options = (config.fingerprint if config else {}).get("backend_options", {})
    if not isinstance(options, dict):
        raise RecordError(f"{run.config}: fingerprint.backend_options: expected a mapping")
    options = tuple(sorted((str(k), str(v)) for k, v in options.items()))
    return VerificationPlan(run_dir, record, loaded, rows, options)


def suite_of(run_dir: Path, record: RunRecord, suite: str | None) -> Suite:
    """The suite the record ran (``--suite``, else the shipped one of its name), by content hash."""
    loaded = load_suite(suite or record.suite.name)
    if loaded.content_hash != record.suite.hash:
        raise RecordError(f"{run_dir / RECORD_NAME}: suite.hash {record.suite.hash[:12]} is not the suite "
                          f"{loaded.name}'s ({loaded.content_hash[:12]}); pass --suite with the file it ran")
    return loaded


def verify_run(plan: VerificationPlan, *, tolerance: float = DEFAULT_TOLERANCE, reporter: Reporter | None = None) -> Verification:
    """Re-evaluate row 0 (base model) and the final row (kept checkpoint); compare every cell."""
    run_dir, record, loaded, rows = plan.run_dir, plan.record, plan.suite, plan.rows
    view = evaluation_view(loaded)
    found = Comparison()
    backend = str(record.backend.get("backend", DEFAULT_BACKEND))
    for row, label, model in rows:
        # force: evaluated anew each time, since an earlier verification's cells prove nothing now
        config = RunConfig(suite=view, budget=loaded.budget(record.suite.budget), model=model, seed=record.seed,
                           out_dir=run_dir / "verify" / f"{row}-{label}", backend=backend,
                           backend_options=plan.backend_options, force=True)
        again = run_suite(config, reporter)
        redone = dict(zip((t.name for t in again.tasks), again.matrix[0]))
        redone_samples = dict(zip((t.name for t in again.tasks), (again.cell_samples() or [[None] * len(again.tasks)])[0]))
        found.row(record, row, label, redone, redone_samples, tolerance)
    return write_verification(run_dir, VERIFIED, [row for row, _, _ in rows], tolerance, found)


def samples_disagree(recorded: Samples | None, redone: Samples | None, tolerance: float) -> str | None:
    """Where a cell's recorded per-item values differ from the re-evaluated ones (None: they agree).
    The cell alone can hide a rewrite that keeps the sums: every item is compared."""
    if recorded is None or redone is None:
        return None if recorded is redone else f"recorded {'no' if recorded is None else len(recorded)} items, re-evaluated " \
                                                f"{'none' if redone is None else len(redone)}"
    if len(recorded) != len(redone):
        return f"recorded {len(recorded)} items, re-evaluated {len(redone)}"
    pairs = [("value", recorded.values, redone.values), ("weight", recorded.weights or (), redone.weights or ())]
    for what, ours, theirs in pairs:
        if len(ours) != len(theirs):
            return f"recorded {'weights' if ours else 'no weights'}, re-evaluated {'weights' if theirs else 'none'}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if not math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance):
                return f"item {i}: recorded {what} {a!r}, re-evaluated {b!r}"
    return None


def _rows_to_verify(run_dir: Path, record: RunRecord) -> list[tuple[int, str, str]]:
    """(row, label, model) for the base row and, when the run trained, the final row."""
    rows = [(0, "base", record.model.reference)]
    if record.stages:
        last = len(record.stages)
        # a run keeps its last checkpoint in the run directory; an evaluate-sequence names it
        checkpoint = Path(record.trainer.checkpoints[-1]) if record.trainer else RunDir(run_dir).checkpoint(last, record.stages[-1])
        if not checkpoint.is_dir():
            raise RecordError(f"{checkpoint}: the final checkpoint is gone, so the final row cannot be re-evaluated")
        check_checkpoint(checkpoint)  # cut short: one line before any evaluation
        rows.append((last, record.stages[-1], str(checkpoint)))
    return rows
