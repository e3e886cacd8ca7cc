"""``cptbench train``: one stage outside a suite — a local JSONL file in, a checkpoint out.

JSONL rows by kind (one JSON object per line):
- ``cpt``: ``{"text": ...}``
- ``sft``: ``{"prompt": ..., "completion": ...}`` (strings, or chat message lists)
- ``grpo``: ``{"prompt": ..., "reference": ..., "decision": ...}`` (the reward functions read
  ``reference`` and ``decision``; other columns are passed to them too)
"""

from __future__ import annotations

from pathlib import Path

from cptbench.core.errors import ConfigError, DataError
from cptbench.core.io import parse_json, read_text
from cptbench.run.provenance import check_seed
from cptbench.run.store import check_force_checkpoint, writable_folder
from cptbench.train.common import StepProgress, TrainResult
from cptbench.train.kinds import stage_kind, train_rows
from cptbench.train.trackers import Tracking, check_report_to

CHAT_FIELDS = ("prompt", "completion")  # a string, or a list of chat messages; every other field: a string


def read_rows(path: Path, kind: str) -> list[dict]:
    """The JSONL rows of ``path``; a malformed line, or a missing or mistyped field, is one DataError
    naming the file, line and field (checked here: TRL would fail deep inside, after creating folders)."""
    rows = []
    for number, line in enumerate(read_text(path, DataError).splitlines(), start=1):
        if not line.strip():
            continue
        row = parse_json(line, f"{path}: line {number}", DataError)  # bounded: depth, integers, NaN
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object")
        for field in stage_kind(kind, "--kind").fields:
            if field not in row or row[field] in ("", None, []):
                raise DataError(f"{path}: line {number}: {field}: required for --kind {kind}")
            problem = _type_problem(field, row[field], row, rows[0] if rows else row)
            if problem:
                raise DataError(f"{path}: line {number}: {field}: {problem}")
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def _type_problem(field: str, value: object, row: dict, first: dict) -> str | None:
    """What is wrong with a present field's type, if anything. TRL renders prompt and completion
    with the chat template or neither, and one dataset column holds one type: one form throughout."""
    if field not in CHAT_FIELDS:
        return None if isinstance(value, str) else f"expected a string, got {type(value).__name__}"
    if not (isinstance(value, str) or (isinstance(value, list) and all(_is_message(m) for m in value))):
        return f"expected a string or a list of {{role, content}} chat messages, got {type(value).__name__}"
    form = _form(value)
    if field == "completion" and form != _form(row["prompt"]):
        return f"{form}, but prompt is {_form(row['prompt'])}: use one form for both"
    if form != _form(first[field]):
        return f"{form}, but the first row's is {_form(first[field])}: use one form throughout"
    return None


def _form(value: object) -> str:
    return "a string" if isinstance(value, str) else "chat messages"


def _is_message(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str) and isinstance(value.get("content"), str)


def train_one(kind: str, model: str, data: Path, out: Path, *, recipe: str | None = None, seed: int = 0,
              force: bool = False, progress: StepProgress | None = None, report_to: str = "none") -> TrainResult:
    """Train ``model`` for one stage of ``kind`` on ``data``; the checkpoint lands in ``out``, and
    with ``report_to`` the training logs in ``OUT-trackers/`` beside it (cptbench/train/trackers.py)."""
    from cptbench.config.suites import load_recipe
    from cptbench.models.resolve import resolve_model

    stage_kind(kind, "--kind")
    check_seed(seed)
    check_report_to(report_to)
    loaded = load_recipe(recipe or kind, kind)
    rows = read_rows(data, kind)
    writable_folder(out)
    if force:
        check_force_checkpoint(out)  # never another folder
    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out}: exists and is not empty; choose another folder or pass --force")
    start = resolve_model(model).path
    common = dict(seed=seed, progress=progress, tracking=single_tracking(report_to, out, kind))
    if out.exists():
        import shutil

        shutil.rmtree(out)
    return train_rows(kind, rows, loaded, start, out, **common)


def single_tracking(report_to: str, out: Path, kind: str) -> Tracking | None:
    """``cptbench train --report-to``: the tracker's folder beside the checkpoint (which is replaced
    whole when it is saved), ``OUT-trackers/``; the tracker run named after ``out``."""
    if report_to == "none":
        return None
    folder = out.absolute()
    return Tracking(report_to, folder.with_name(folder.name + "-trackers"), folder.name, kind)
