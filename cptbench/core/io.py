"""Files in and out, written once: atomic writes, reading JSON/YAML objects and validating them.

Every write goes through a temp file beside its target and a rename, so a reader (or a resumed
run after ``kill -9``) sees the old file or the new one, never half of one. Every read turns a
problem into one line that names the file (and the field, for validation), raised as the caller's
``CptbenchError`` subclass.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cptbench.core.errors import ConfigError, CptbenchError

# --- writing ---------------------------------------------------------------------------------


def cannot_write(path: Path, exc: OSError) -> str:
    """One line for a failed write: where, and why in words (a file in the way, read-only, full disk)."""
    path = Path(path)
    blocker = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return f"{path}: cannot write there: {blocker} is a file, not a folder"
    reason = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
              errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied", errno.EISDIR: "a folder is in the way",
              errno.ENOTDIR: "a file is in the way"}.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{path}: cannot write ({reason})"


@contextlib.contextmanager
def atomic_path(path: Path, *, directory: bool = False, mode: int | None = None,
                error: type[CptbenchError] = CptbenchError) -> Iterator[Path]:
    """A temp file (or folder) beside ``path`` for the block to fill; renamed onto ``path`` when the
    block ends normally, removed when it raises. ``mode`` sets the file's permissions (mkstemp
    makes 0600; pages are meant to be world-readable). Every write of cptbench goes through here:
    an ``OSError`` (read-only folder, a file where a folder should be, full disk) is one ``error``
    line naming ``path``, and nothing is left behind."""
    path = Path(path)
    if path.name in ("", ".", ".."):  # '' and '.' are the current folder: never replaced whole
        raise error(f"{str(path)!r}: name a file or folder to write, not the current or parent folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if directory:
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
        else:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=path.suffix)
            os.close(fd)
            tmp = Path(name)
    except OSError as exc:
        raise error(cannot_write(path, exc)) from None
    try:
        yield tmp  # what the block raises is its own (a download's OSError is not a write's)
        try:
            if mode is not None:
                os.chmod(tmp, mode)
            if directory and path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        except OSError as exc:
            raise error(cannot_write(path, exc)) from None
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str, *, mode: int | None = 0o644) -> None:
    with atomic_path(path, mode=mode) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:  # a full disk while writing
            raise CptbenchError(cannot_write(path, exc)) from None


def write_bytes(path: Path, data: bytes, *, shown: Path | None = None) -> None:
    """``path.write_bytes`` for a file inside a folder that ``atomic_path(directory=True)`` fills (its
    rename is the atomic step): an ``OSError`` (a full disk mid-write) is one line naming ``shown``,
    the file as it will be called, rather than the temp folder that is removed."""
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise CptbenchError(cannot_write(Path(shown or path), exc)) from None


def json_text(payload: object) -> str:
    """Indented JSON, keys in insertion order, NaN and infinities refused as one line (JSON has none)."""
    try:
        return json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"
    except ValueError as exc:
        raise CptbenchError(f"cannot write JSON: {exc} (a NaN or infinity in the data)") from None


def write_json_atomic(path: Path, payload: object) -> None:
    """Indented JSON, keys in insertion order, NaN refused (JSON has none)."""
    write_text_atomic(path, json_text(payload), mode=None)


# --- reading ---------------------------------------------------------------------------------
#
# One guarded reader for every JSON and YAML file cptbench reads (records, submissions, baselines,
# run-directory files, suites, recipes, manifests): whatever a file holds, a problem is one line.
# Bounded: nesting depth, the number of values (a YAML alias bomb expands to billions), integer
# size (Python refuses to parse more than 4300 digits; cptbench needs none beyond 64 bits), and
# every number finite (JSON has no NaN; a YAML .nan is never meant).

MAX_DEPTH = 64
MAX_VALUES = 1_000_000
MAX_INTEGER = 2**63


def read_text(path, error: type[CptbenchError] = CptbenchError) -> str:
    """A UTF-8 file's text; a missing, unreadable or non-UTF-8 file is one ``error`` line naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: a folder, not a file") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None


def check_bounded(value: object, source: object, error: type[CptbenchError] = CptbenchError) -> object:
    """``value`` (parsed JSON or YAML) within the reader's bounds; else one ``error`` line naming
    ``source`` and the place. Iterative, and stops at the first problem, so its cost is bounded too."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    seen = 0
    while stack:
        item, where, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise error(f"{source}: more than {MAX_VALUES:,} values (YAML aliases expanding without end?)")
        if depth > MAX_DEPTH:
            raise error(f"{source}: {where or 'top level'}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if abs(item) >= MAX_INTEGER:
                raise error(f"{source}: {where or 'value'}: integer of {len(str(abs(item)))} digits is too large")
        elif isinstance(item, float):
            if not math.isfinite(item):
                shown = "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
                raise error(f"{source}: {where or 'value'}: {shown} is not finite (JSON has no NaN or Infinity)")
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise error(f"{source}: {where or 'top level'}: a key of type {type(key).__name__}")
                stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
        else:  # YAML dates and the like: strings to every schema of cptbench
            continue
    return value


def parse_json(text: str, source: object, error: type[CptbenchError] = CptbenchError) -> object:
    """JSON text as Python values, bounded (``check_bounded``); any problem is one ``error`` line."""
    try:
        raw = json.loads(text)  # NaN and Infinity tokens parse; the walk names where they are
    except json.JSONDecodeError as exc:
        raise error(f"{source}: malformed JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except RecursionError:
        raise error(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise error(f"{source}: malformed JSON ({_why(exc)})") from None
    return check_bounded(raw, source, error)


def _why(exc: ValueError) -> str:
    text = " ".join(str(exc).split())
    if "digits" in text and "integer" in text:
        return f"an integer of more than {sys.get_int_max_str_digits()} digits"
    return text[:120]


def read_json(path: Path, error: type[CptbenchError] = CptbenchError) -> object:
    """Any JSON value from ``path``, bounded; any problem is one ``error`` line naming the file."""
    return parse_json(read_text(path, error), path, error)


def read_json_object(path: Path, error: type[CptbenchError] = CptbenchError) -> dict:
    """A JSON object from ``path``; any problem is one ``error`` line naming the file."""
    raw = read_json(path, error)
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a JSON object at the top level, got {type(raw).__name__}")
    return raw


def parse_yaml(text: str, source: object, error: type[CptbenchError] = ConfigError) -> object:
    """YAML text as Python values (safe loader), bounded; any problem is one ``error`` line."""
    import yaml

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise error(f"{source}: malformed YAML{where}") from None
    except RecursionError:
        raise error(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, OverflowError) as exc:  # an integer of more digits than Python converts
        raise error(f"{source}: malformed YAML ({_why(exc)})") from None
    return check_bounded(raw, source, error)


def read_yaml_mapping(path: Path, error: type[CptbenchError] = ConfigError) -> dict:
    """A YAML file whose top level is a mapping; anything else is one ``error`` line naming the file."""
    raw = parse_yaml(read_text(path, error), path, error)
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
