"""Results as data: a run's matrix, its per-cell 95 % intervals and its metrics, and a suite's
leaderboard, as pandas DataFrames (``cptbench.load_run``, ``cptbench.load_board``), and a run as
CSV or JSON for scripts (``cptbench report RUN --format csv|json``).

Nothing is computed here that the report and the leaderboard do not compute: the intervals are
``cptbench.core.uncertainty.summarize`` (the paired bootstrap the report prints, same seed, same
numbers), the board is ``cptbench.publish.leaderboard.load_board`` (every submission validated
and ranked with ties). An undefined value (no interval, an undefined metric) is NaN in a
DataFrame and ``null`` in JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cptbench.core import metrics
from cptbench.core.constants import RECORD_NAME
from cptbench.core.errors import RecordError
from cptbench.core.io import read_json_object
from cptbench.core.records import RunRecord, load_verified_record, verify_metrics
from cptbench.core.uncertainty import Interval, Summary, summarize
from cptbench.run.plan import method_label

BASE_ROW = "base"
"""The label of row 0 (the model before any stage); the other rows carry their stage's name."""
METRIC_COLUMNS = ("metric", "name", "family", "value", "low", "high", "higher_is_better")
CELL_COLUMNS = ("after", "task", "family", "direction", "value", "low", "high")


@dataclass(frozen=True)
class RunFrames:
    """One run as DataFrames. ``matrix``, ``low`` and ``high``: rows ``base`` then each stage's
    name (index ``after``), one column per task; ``low``/``high`` bound each cell's 95 % interval
    (NaN: the cell has no interval, e.g. all its items agree). ``metrics``: one row per derived
    metric (``metric`` = ``name[family]``, e.g. ``bwt[bpb]``) with its value and 95 % interval.
    ``tasks``: per task its metric family, direction (``higher``/``lower`` is better) and the
    stage it belongs to (None: a general task). ``record``: the validated run record itself."""

    record: RunRecord
    matrix: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    metrics: pd.DataFrame
    tasks: pd.DataFrame

    def cells(self) -> pd.DataFrame:
        """The matrix in long form, one row per cell: after, task, family, direction, value, low, high."""
        rows = []
        for after in self.matrix.index:
            for task in self.matrix.columns:
                info = self.tasks.loc[task]
                rows.append([after, task, info["family"], info["direction"], self.matrix.at[after, task],
                             self.low.at[after, task], self.high.at[after, task]])
        return pd.DataFrame(rows, columns=list(CELL_COLUMNS))


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def read_run_record(path: Path) -> RunRecord:
    """A run directory, its ``record.json``, or a leaderboard submission file (a record with a
    ``submission`` header); the stored metrics must agree with the formulas on its matrix."""
    path = Path(path)
    file = path / RECORD_NAME if path.is_dir() else path
    if "submission" not in read_json_object(file, RecordError):
        return load_verified_record(file)
    from cptbench.publish.submissions import load_submission

    record = load_submission(file)
    problems = verify_metrics(record)
    if problems:
        raise RecordError(f"{file}: stored metrics disagree with the matrix: {problems[0]}")
    return record


def run_frames(record: RunRecord, summary: Summary | None = None) -> RunFrames:
    """The DataFrames of one run record (``summary``: its intervals, computed when not given)."""
    summary = summary or summarize([record])
    index = pd.Index([BASE_ROW, *record.stages], name="after")
    columns = pd.Index([t.name for t in record.tasks], name="task")

    def grid(pick) -> pd.DataFrame:
        values = [[pick(summary.matrix.values[t][j], summary.cells[t][j]) for j in range(len(columns))]
                  for t in range(len(index))]
        return pd.DataFrame(values, index=index, columns=columns, dtype=float)

    bound = lambda interval, side: math.nan if interval is None else getattr(interval, side)  # noqa: E731
    metric_rows = []
    for computed in metrics.compute_all(summary.matrix):
        interval: Interval | None = summary.metrics.get(computed.key)
        metric_rows.append([computed.key, computed.name, computed.family, _nan(summary.estimates.get(computed.key)),
                            bound(interval, "low"), bound(interval, "high"), computed.higher_is_better])
    tasks = pd.DataFrame(
        [[t.name, t.metric, t.direction, t.stage] for t in record.tasks], columns=["task", "family", "direction", "stage"]
    ).set_index("task")
    tasks["stage"] = tasks["stage"].astype("Int64")  # <NA>: a general task
    return RunFrames(
        record=record,
        matrix=grid(lambda value, _: value),
        low=grid(lambda _, interval: bound(interval, "low")),
        high=grid(lambda _, interval: bound(interval, "high")),
        metrics=pd.DataFrame(metric_rows, columns=list(METRIC_COLUMNS)),
        tasks=tasks,
    )


def load_run(path: str | Path) -> RunFrames:
    """A run's matrix, per-cell intervals and metrics with intervals, as DataFrames.

    ``path``: a run directory, a ``record.json``, or a leaderboard submission file. The record is
    validated as ``cptbench report`` validates it (schema, samples, stored metrics = formulas)."""
    return run_frames(read_run_record(Path(path)))


def load_board(suite: str, root: str | Path | None = None, sort: str | None = None) -> pd.DataFrame:
    """A suite's leaderboard (a shipped suite's name, or a suite YAML of one's own), ranked as
    ``cptbench leaderboard`` ranks it: one row per configuration (its seeds together), with rank,
    name, model, method, description, submitter, budget, seeds, submitted, verified, then each
    ranked metric's value and the bounds of its 95 % interval (``<metric>_low``, ``<metric>_high``).

    ``root``: the folder that holds the boards (default: the checkout's ``leaderboards/``);
    ``sort``: the metric to rank by (default: ``final``)."""
    from cptbench.publish.leaderboard import default_root
    from cptbench.publish.leaderboard import load_board as board_of
    from cptbench.publish.page import description_of
    from cptbench.publish.submissions import record_method_label

    board = board_of(Path(root) if root is not None else default_root(), suite, sort)
    keys = board.columns
    header = ["rank", "name", "model", "method", "description", "submitter", "budget", "seeds", "submitted", "verified"]
    header += [column for key in keys for column in (key, f"{key}_low", f"{key}_high")]
    rows = []
    for row in board.rows:
        first = row.first
        values = []
        for key in keys:
            interval = row.summary.metrics.get(key)
            values += [_nan(row.summary.estimates.get(key)), *((math.nan, math.nan) if interval is None else (interval.low, interval.high))]
        rows.append([
            row.rank, row.id, first.model, record_method_label(first.submission), description_of(first),
            first.header.submitter, first.submission.suite.budget, [e.submission.seed for e in row.entries],
            max(e.header.submitted for e in row.entries).isoformat(), all(e.header.verified is not None for e in row.entries),
            *values,
        ])
    return pd.DataFrame(rows, columns=header)


# --- for scripts: `cptbench report RUN --format csv|json` ------------------------------------


def run_csv(frames: RunFrames) -> str:
    """The matrix with its intervals, one line per cell (``RunFrames.cells``); empty = undefined."""
    return frames.cells().to_csv(index=False, lineterminator="\n")


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_json(frames: RunFrames) -> str:
    """The run's identity, its matrix with per-cell interval bounds (rows and tasks named), and
    every metric with its interval; ``null`` = undefined."""
    record = frames.record
    grid = lambda frame: [[_json_value(float(v)) for v in row] for row in frame.to_numpy()]  # noqa: E731
    rows = [{column: _json_value(value) for column, value in zip(METRIC_COLUMNS, row)}
            for row in frames.metrics.itertuples(index=False)]
    for row in rows:
        row["higher_is_better"] = bool(row["higher_is_better"])
    payload = {
        "suite": {"name": record.suite.name, "version": record.suite.version, "hash": record.suite.hash,
                  "budget": record.suite.budget},
        "model": record.model.reference,
        "seed": record.seed,
        "method": method_label(record.method, record.recipes),
        "rows": list(frames.matrix.index),
        "tasks": [{"name": t.name, "family": t.metric, "direction": t.direction, "stage": t.stage} for t in record.tasks],
        "matrix": grid(frames.matrix),
        "low": grid(frames.low),
        "high": grid(frames.high),
        "metrics": rows,
    }
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"
