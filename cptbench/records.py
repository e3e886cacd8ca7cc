"""Run records on disk: load and validate one, and rebuild its ResultMatrix."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from cptbench.errors import CptbenchError, RecordError, read_text
from cptbench.matrix import Direction, ResultMatrix, TaskColumn
from cptbench.schemas import RECORD_SCHEMA_VERSION, RunRecord, describe_validation_error

RECORD_NAME = "record.json"


def matrix_from_record(record: RunRecord) -> ResultMatrix:
    columns = tuple(TaskColumn(t.name, t.metric, Direction(t.direction), t.stage) for t in record.tasks)
    return ResultMatrix(tuple(record.stages), columns, tuple(tuple(r) for r in record.matrix))


def load_record(path: Path) -> RunRecord:
    """Read a run record from a run directory or a JSON file; any problem is one RecordError line."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_NAME
    text = read_text(path, RecordError)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise RecordError(f"{path}: malformed JSON ({where}): {exc.msg}") from None
    if not isinstance(raw, dict):
        raise RecordError(f"{path}: expected a JSON object at the top level, got {type(raw).__name__}")
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
    except CptbenchError as exc:
        raise RecordError(f"{path}: {exc}") from None
    return record
