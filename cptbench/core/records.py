"""Run records: their schema (versioned JSON), loading and validating one, rebuilding its ResultMatrix."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, ValidationError

from cptbench.core import metrics
from cptbench.core.constants import RECORD_NAME
from cptbench.core.errors import CptbenchError, RecordError
from cptbench.core.io import Strict, describe_validation_error, read_json_object
from cptbench.core.matrix import Direction, ResultMatrix, TaskColumn
from cptbench.core.samples import Samples, SamplesModel

RECORD_SCHEMA_VERSION = 2  # 2: ``method`` is {name, params, order_spec, order} (``migrate_record`` reads 1)


class ColumnModel(Strict):
    name: str
    metric: str
    direction: Literal["higher", "lower"]
    stage: PositiveInt | None


class SuiteRef(Strict):
    name: str
    version: PositiveInt
    hash: str
    budget: str
    train_tokens: PositiveInt | None
    eval_docs: PositiveInt | None
    probe_items: PositiveInt | None = None
    train_examples: PositiveInt | None = None
    rl_prompts: PositiveInt | None = None
    generation_items: PositiveInt | None = None


class ModelRef(Strict):
    reference: str
    source: str
    parameters: PositiveInt


class StageTraining(Strict):
    stage: str
    documents: int
    corpus_tokens: int
    tokens: int
    steps: int | None  # None (and seconds, final_loss): trained outside cptbench (``trainer``)
    seconds: float | None
    final_loss: float | None
    data_order_hash: str
    kind: Literal["cpt", "sft", "grpo"] = "cpt"
    sources: dict[str, dict[str, int]] = Field(default_factory=dict)  # documents / tokens per data source (replay)
    rewards: dict[str, float] = Field(default_factory=dict)  # grpo: mean of each reward component over the stage


class StageCurve(Strict):
    """The curve tasks inside one stage (``eval_every``): their values at each optimizer step,
    step 0 being the matrix row before the stage and the last step the stage's own row."""

    stage: str
    tasks: list[str]
    steps: list[int]
    values: list[list[float]]  # [point][task]
    seconds: float  # spent measuring the points inside the stage (not counted as training time)


class TrainerRef(Strict):
    """Who trained the stages: cptbench's reference trainers (a record without this field), or a
    stack of one's own whose checkpoints ``cptbench evaluate-sequence`` evaluated."""

    kind: Literal["external"] = "external"
    declared: str  # what the user says trained it: "name, version, recipe URL"
    manifest_sha256: str | None  # the ``cptbench export`` manifest it trained on (None: not given)
    checkpoints: list[str]  # base, then one per stage, as given


MethodParam = bool | int | float | str


class MethodRef(Strict):
    """How the stages were run: a registered method (cptbench/methods/) with its parameters as
    validated there, and the stage order (cptbench/run/plan.py)."""

    name: str = Field("naive", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    params: dict[str, MethodParam] = Field(default_factory=dict)
    order_spec: str = "given"  # given | reversed | random:SEED | similar
    order: list[str]  # the suite's stages in the order they were run


class RunRecord(Strict):
    """Everything a report, a leaderboard submission or the regression gate needs: nothing else is read."""

    schema_version: Literal[2]
    cptbench_version: str
    created: str
    suite: SuiteRef
    model: ModelRef
    seed: int
    recipes: dict[str, dict[str, object]]
    backend: dict[str, object]
    environment: dict[str, object]
    data: dict[str, str]
    stages: list[str]
    tasks: list[ColumnModel]
    matrix: list[list[float]]
    details: list[list[dict[str, float | int]]]
    metrics: dict[str, float | None]
    training: list[StageTraining]
    timings: dict[str, float]
    attempts: list[float] | None = None  # wall seconds of each process that worked on the run (None: older records)
    method: MethodRef
    trainer: TrainerRef | None = None  # None: cptbench's reference trainers
    # per-item values of each cell (cptbench.core.samples), what intervals are resampled from;
    # None: records made before them, or a cell whose metric is not a mean over items
    samples: list[list[SamplesModel | None]] | None = None
    curves: list[StageCurve] | None = None  # None: the run measured no curves (no eval_every)

    def cell_samples(self) -> list[list[Samples | None]] | None:
        return samples_grid(self.samples)


def samples_grid(stored: list[list[SamplesModel | None]] | None) -> list[list[Samples | None]] | None:
    """A stored ``samples`` field (a record's, or a baseline run's) as ``Samples``."""
    if stored is None:
        return None
    return [[None if s is None else s.samples() for s in row] for row in stored]


def record_samples(grid: list[list[Samples | None]]) -> list[list[dict]] | None:
    """The record's ``samples`` field for a grid of cells' samples (None when no cell has any)."""
    if all(s is None for row in grid for s in row):
        return None
    return [[None if s is None else s.to_json() for s in row] for row in grid]


def check_samples(record: RunRecord) -> None:
    """Samples agree with the matrix: one per cell, each determining its cell's value (to 1e-6),
    and the same number of items in every row of a column (every row scores the same items)."""
    grid = record.cell_samples()
    if grid is None:
        return
    if len(grid) != len(record.matrix) or any(len(row) != len(record.tasks) for row in grid):
        raise CptbenchError(f"samples: expected {len(record.matrix)} rows of {len(record.tasks)} cells, as the matrix")
    for j, task in enumerate(record.tasks):
        counts = {len(row[j]) for row in grid if row[j] is not None}
        if len(counts) > 1:
            raise CptbenchError(f"samples: task {task.name} has {sorted(counts)} items in different rows")
        for t, row in enumerate(grid):
            cell = row[j]
            if cell is not None and not math.isclose(cell.value(), record.matrix[t][j], rel_tol=1e-6, abs_tol=1e-9):
                raise CptbenchError(
                    f"samples[{t}][{task.name}]: its items give {cell.value()!r}, the matrix has {record.matrix[t][j]!r}"
                )



def matrix_from_record(record: RunRecord) -> ResultMatrix:
    columns = tuple(TaskColumn(t.name, t.metric, Direction(t.direction), t.stage) for t in record.tasks)
    return ResultMatrix(tuple(record.stages), columns, tuple(tuple(r) for r in record.matrix))


def migrate_record(raw: dict) -> dict:
    """A record (or submission) of any schema version this cptbench reads, as the current one.

    Version 1 -> 2: ``method`` was ``{name: naive|joint|dapt, order_spec, order, replay_fraction,
    replay_budget_neutral}`` or absent (records made before methods: naive in the suite's order,
    which is then the order of ``stages``). Naive with a replay fraction is now the ``replay``
    method. Anything else is returned unchanged, for the schema to judge.
    """
    if raw.get("schema_version") != 1:
        return raw
    old = raw.get("method")
    if old is None:
        old = {"name": "naive", "order": raw.get("stages")}
    if not isinstance(old, dict):
        return raw
    method = {"name": old.get("name", "naive"), "params": {}, "order_spec": old.get("order_spec", "given"),
              "order": old.get("order")}
    fraction = old.get("replay_fraction", 0.0)
    if method["name"] == "naive" and fraction:
        method = {**method, "name": "replay",
                  "params": {"fraction": fraction, "budget_neutral": old.get("replay_budget_neutral", True)}}
    return {**raw, "schema_version": 2, "method": method}


def load_record(path: Path) -> RunRecord:
    """Read a run record from a run directory or a JSON file; any problem is one RecordError line."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_NAME
    raw = migrate_record(read_json_object(path, RecordError))
    version = raw.get("schema_version")
    if isinstance(version, int) and version > RECORD_SCHEMA_VERSION:
        raise RecordError(
            f"{path}: schema_version {version} is newer than this cptbench reads ({RECORD_SCHEMA_VERSION}); upgrade cptbench"
        )
    try:
        record = RunRecord.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(f"{path}: {describe_validation_error(exc)}") from None
    try:
        matrix_from_record(record)  # shape, finiteness, stage alignment
        check_samples(record)
    except CptbenchError as exc:
        raise RecordError(f"{path}: {exc}") from None
    return record


def verify_metrics(record: RunRecord, rel_tol: float = 1e-9, abs_tol: float = 1e-9) -> list[str]:
    """Recompute the metrics from the record's matrix; one line per disagreement (empty = consistent)."""
    problems = []
    recomputed = metrics.as_dict(metrics.compute_all(matrix_from_record(record)))
    for key, expected in recomputed.items():
        if key not in record.metrics:
            problems.append(f"metrics.{key}: missing from the record (recomputed {expected!r})")
            continue
        stored = record.metrics[key]
        tol = {"rel_tol": rel_tol, "abs_tol": abs_tol}
        same = stored is expected if None in (stored, expected) else math.isclose(stored, expected, **tol)
        if not same:
            problems.append(f"metrics.{key}: stored {stored!r}, recomputed {expected!r}")
    extra = [key for key in record.metrics if key not in recomputed]
    problems += [f"metrics.{key}: not a metric of this matrix" for key in extra]
    return problems


def load_verified_record(path: Path) -> RunRecord:
    """``load_record``, refused when the stored metrics disagree with the formulas on its matrix."""
    path = Path(path)
    record_file = path / RECORD_NAME if path.is_dir() else path
    record = load_record(record_file)
    problems = verify_metrics(record)
    if problems:
        raise RecordError(f"{record_file}: stored metrics disagree with the matrix: {problems[0]}")
    return record
