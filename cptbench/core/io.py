"""Files in and out, written once: atomic writes, reading JSON/YAML objects and validating them.

Every write goes through a temp file beside its target and a rename, so a reader (or a resumed
run after ``kill -9``) sees the old file or the new one, never half of one. Every read turns a
problem into one line that names the file (and the field, for validation), raised as the caller's
``CptbenchError`` subclass.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cptbench.core.errors import ConfigError, CptbenchError

# --- writing ---------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: Path, *, directory: bool = False, mode: int | None = None) -> Iterator[Path]:
    """A temp file (or folder) beside ``path`` for the block to fill; renamed onto ``path`` when the
    block ends normally, removed when it raises. ``mode`` sets the file's permissions (mkstemp
    makes 0600; pages are meant to be world-readable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
    else:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=path.suffix)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        if directory and path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str, *, mode: int | None = 0o644) -> None:
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, payload: object) -> None:
    """Indented JSON, keys in insertion order, NaN refused (JSON has none)."""
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n", mode=None)


# --- reading ---------------------------------------------------------------------------------


def read_text(path, error: type[CptbenchError] = CptbenchError) -> str:
    """A UTF-8 file's text; a missing, unreadable or non-UTF-8 file is one ``error`` line naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_json_object(path: Path, error: type[CptbenchError] = CptbenchError) -> dict:
    """A JSON object from ``path``; any problem is one ``error`` line naming the file."""
    text = read_text(path, error)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: malformed JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a JSON object at the top level, got {type(raw).__name__}")
    return raw


def read_yaml_mapping(path: Path, error: type[CptbenchError] = ConfigError) -> dict:
    """A YAML file whose top level is a mapping; anything else is one ``error`` line naming the file."""
    import yaml

    text = read_text(path, error)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise error(f"{path}: malformed YAML{where}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


# --- validating ------------------------------------------------------------------------------


class Strict(BaseModel):
    """Base of every file schema: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem as 'field.path: message' (a model validator's message names its own field)."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{field}: {message}" if field else message


def validate(raw: object, model: type[M], source: object, error: type[CptbenchError] = ConfigError) -> M:
    """``model.model_validate(raw)``; a failure is one ``error`` line: 'source: field.path: message'."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(f"{source}: {describe_validation_error(exc)}") from None


def load_yaml(path: Path, model: type[M]) -> M:
    """Parse a YAML file into ``model``; any problem is one ConfigError naming file and field."""
    return validate(read_yaml_mapping(path), model, path)
