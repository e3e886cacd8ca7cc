"""File-boundary models for leaderboard submissions and regression baselines, and their checks.

A **submission** file (``leaderboards/<suite>/submissions/<id>.json``) is a run record with a small
``submission`` header (name, submitter, date, method). A **baseline** file is what
``cptbench baseline create`` writes and ``cptbench regress`` reads: suite, budget, model, seed,
metrics (optionally the matrix), tolerances and where it came from.

Unknown fields are errors in both. Every check raises one ``CptbenchError`` line naming the file
and the field that failed. Submissions are written atomically, one writer per leaderboard at a
time (``waiting_lock``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout
from pydantic import FiniteFloat, NonNegativeFloat, field_validator, model_validator

from cptbench.config.suites import Suite, available_suites, load_suite
from cptbench.core import metrics
from cptbench.core.errors import ConfigError, CptbenchError
from cptbench.core.io import Strict, read_json_object, validate
from cptbench.core.records import ColumnModel, MethodRef, RunRecord, SuiteRef, matrix_from_record, verify_metrics
from cptbench.run.plan import make_plan, method_label

NAME_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 120
DEFAULT_METHOD = "naive sequential CPT"
REQUIRED_PACKAGES = ("cptbench", "torch")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SubmissionError(CptbenchError):
    """A submission is malformed, inconsistent, or would overwrite another one (exit 2)."""


class BaselineError(CptbenchError):
    """A baseline file is malformed, or a run cannot be compared with it (exit 2)."""


# --- names and free text ---------------------------------------------------------------------


def _shown(text: str) -> str:
    """``text`` for an error line: quoted, and cut short so that a 10 kB name stays one short line."""
    return repr(text) if len(text) <= 40 else repr(text[:40]) + f"... ({len(text)} characters)"


def check_name(name: str) -> str:
    """A submission name doubles as its file name: letters, digits, ``._-``; no separators, no ``..``."""
    if not name:
        raise ValueError("empty name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"{_shown(name)} is longer than {NAME_MAX_LENGTH} characters")
    if "/" in name or "\\" in name:
        raise ValueError(f"{_shown(name)} contains a path separator")
    if ".." in name:
        raise ValueError(f"{_shown(name)} contains '..'")
    if not _NAME.fullmatch(name):
        raise ValueError(f"{_shown(name)}: use letters, digits, '.', '_' and '-', starting with a letter or digit")
    return name


def check_text(text: str) -> str:
    """Free text shown on the leaderboard (submitter, method): one short line, no control characters."""
    text = text.strip()
    if not text:
        raise ValueError("empty text")
    if len(text) > TEXT_MAX_LENGTH:
        raise ValueError(f"{_shown(text)} is longer than {TEXT_MAX_LENGTH} characters")
    if _CONTROL.search(text):
        raise ValueError(f"{_shown(text)} contains control characters")
    return text


# --- submissions -----------------------------------------------------------------------------


class SubmissionHeader(Strict):
    name: str
    submitter: str | None = None
    submitted: dt.date
    method: str = DEFAULT_METHOD

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("submitter", "method")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value)


class Submission(RunRecord):
    """A run record plus the ``submission`` header; it is a RunRecord for every reader."""

    submission: SubmissionHeader


def submission_payload(record: RunRecord, header: SubmissionHeader) -> dict[str, object]:
    """What a submission file holds: the header first, then the record's fields in order."""
    return {"submission": header.model_dump(mode="json"), **record.model_dump(mode="json")}


# --- reading ---------------------------------------------------------------------------------


def load_submission(path: Path) -> Submission:
    """Read one submission file (schema only; ``check_record`` checks it against the suite)."""
    submission = validate(read_json_object(path, SubmissionError), Submission, path, SubmissionError)
    try:
        matrix_from_record(submission)
    except CptbenchError as exc:
        raise SubmissionError(f"{path}: {exc}") from None
    return submission


# --- a record against its shipped suite ------------------------------------------------------


def check_record(record: RunRecord, source: str) -> Suite:
    """Everything a leaderboard requires of a record; returns the shipped ``Suite``.

    Suite name, version, content hash, budget, stages and tasks equal the shipped suite's; the
    provenance is present; every derived metric recomputed from the matrix equals the stored one.
    (Schema version and finite, complete cells are checked when the record is loaded.)
    """
    suite = _shipped_suite(record, source)
    _check_provenance(record, suite, source)
    problems = verify_metrics(record)
    if problems:
        raise SubmissionError(f"{source}: {problems[0]}")
    return suite


def _planned_suite(record: RunRecord, suite: Suite, source: str) -> Suite:
    """The suite as the record's method ran it (stage order, joint stage)."""
    method = record.method or MethodRef(order=[s.name for s in suite.stages])
    try:
        return make_plan(suite, method).suite
    except ConfigError as exc:
        raise SubmissionError(f"{source}: method: {exc}") from None


def record_method_label(record: RunRecord) -> str:
    return method_label(record.method, record.recipes)


def _shipped_suite(record: RunRecord, source: str) -> Suite:
    ref = record.suite
    shipped = available_suites()
    if ref.name not in shipped:
        raise SubmissionError(f"{source}: suite.name {_shown(ref.name)} is not a shipped suite (shipped: {', '.join(shipped)})")
    suite = load_suite(ref.name)
    if ref.hash != suite.content_hash:
        raise SubmissionError(
            f"{source}: suite.hash {ref.hash[:12]}... differs from the shipped {suite.name} suite's "
            f"{suite.content_hash[:12]}... (the run used another version of the suite file)"
        )
    if ref.version != suite.version:
        raise SubmissionError(f"{source}: suite.version {ref.version} differs from the shipped {suite.version}")
    budget = suite.budgets.get(ref.budget)
    if budget is None:
        raise SubmissionError(f"{source}: suite.budget {_shown(ref.budget)} is not one of {sorted(suite.budgets)}")
    for cap in (f.name for f in dataclasses.fields(budget) if f.name != "name"):
        if getattr(ref, cap, None) != getattr(budget, cap):
            raise SubmissionError(f"{source}: suite.{cap} {getattr(ref, cap, None)} differs from budget {budget.name!r} of the suite")
    planned = _planned_suite(record, suite, source)
    if record.stages != [stage.name for stage in planned.stages]:
        raise SubmissionError(f"{source}: stages {record.stages} differ from the suite's as run ({record_method_label(record)})")
    expected = [
        ColumnModel(name=t.name, metric=t.column.metric, direction=t.column.direction.value, stage=t.stage)
        for t in planned.tasks
    ]
    if record.tasks != expected:
        raise SubmissionError(f"{source}: tasks differ from the suite's ({', '.join(t.name for t in suite.tasks)})")
    return suite


def _check_provenance(record: RunRecord, suite: Suite, source: str) -> None:
    if not record.model.reference.strip():
        raise SubmissionError(f"{source}: model.reference is empty")
    for stage in suite.stages:
        if not record.recipes.get(stage.recipe):
            raise SubmissionError(f"{source}: recipes.{stage.recipe}: missing (the recipe of stage {stage.name!r})")
    if not record.cptbench_version.strip():
        raise SubmissionError(f"{source}: cptbench_version is empty")
    packages = record.environment.get("packages")
    if not isinstance(packages, dict):
        raise SubmissionError(f"{source}: environment.packages: missing (package versions)")
    for name in REQUIRED_PACKAGES:
        version = packages.get(name)
        if not isinstance(version, str) or not version or version == "not installed":
            raise SubmissionError(f"{source}: environment.packages.{name}: missing version")
    if not record.data:
        raise SubmissionError(f"{source}: data: no data file hashes")


# --- leaderboard entries: validated submissions with their recomputed metrics ---------------


@dataclass(frozen=True)
class Entry:
    id: str
    submission: Submission
    values: dict[str, metrics.MetricValue]  # by key, e.g. "bwt[bpb]"

    @property
    def header(self) -> SubmissionHeader:
        return self.submission.submission

    @property
    def model(self) -> str:
        """The model reference; a local directory is shown by its last component only."""
        ref = self.submission.model
        return Path(ref.reference).name if ref.source == "local" else ref.reference


def make_entry(submission: Submission) -> Entry:
    values = {v.key: v for v in metrics.compute_all(matrix_from_record(submission))}
    return Entry(submission.submission.name, submission, values)


def load_entries(directory: Path, suite: Suite) -> list[Entry]:
    """Every submission of ``directory``, each validated against the shipped suite."""
    entries = []
    for path in sorted((directory / "submissions").glob("*.json")):
        submission = load_submission(path)
        if submission.submission.name != path.stem:
            raise SubmissionError(f"{path}: submission.name {submission.submission.name!r} differs from the file name")
        if submission.suite.name != suite.name:
            raise SubmissionError(f"{path}: suite.name {submission.suite.name!r} on the {suite.name} leaderboard")
        check_record(submission, str(path))
        entries.append(make_entry(submission))
    return entries


# --- one writer per leaderboard at a time ----------------------------------------------------


class LeaderboardBusyError(CptbenchError):
    exit_code = 3


@contextlib.contextmanager
def waiting_lock(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, waiting up to ``timeout`` seconds for other holders.

    A ``flock`` (via filelock) rather than ``lock.run_lock``: the kernel releases it when its holder
    dies, and a second process can never take it between another's create and pid write.
    """
    lock = FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LeaderboardBusyError(f"{path}: still locked by another submission after {timeout:g} s") from None
    try:
        yield
    finally:
        lock.release()


# --- baselines -------------------------------------------------------------------------------

BASELINE_SCHEMA_VERSION = 1


class BaselineSource(Strict):
    """Where a baseline came from: the run record it was made of."""

    record_created: str
    cptbench_version: str
    git_sha: str | None
    model_source: str
    recipes: dict[str, dict[str, object]]
    packages: dict[str, str]


class Baseline(Strict):
    """Reference metrics (and optionally the matrix) of one run, with per-key absolute tolerances."""

    baseline_schema_version: Literal[1]
    created: str
    suite: SuiteRef
    model: str
    seed: int
    stages: list[str]
    tasks: list[ColumnModel]
    metrics: dict[str, FiniteFloat | None]
    matrix: list[list[FiniteFloat]] | None = None
    tolerances: dict[str, NonNegativeFloat]
    cell_tolerance: NonNegativeFloat
    created_from: BaselineSource

    @model_validator(mode="after")
    def _consistent(self) -> Baseline:
        unknown = sorted(set(self.tolerances) - set(self.metrics))
        if unknown:
            raise ValueError(f"tolerances.{unknown[0]}: not a metric of this baseline")
        if self.matrix is not None:
            rows, columns = len(self.stages) + 1, len(self.tasks)
            if len(self.matrix) != rows or any(len(row) != columns for row in self.matrix):
                raise ValueError(f"matrix: expected {rows} rows of {columns} cells")
        return self


def load_baseline(path: Path) -> Baseline:
    raw = read_json_object(path, BaselineError)
    version = raw.get("baseline_schema_version")
    if isinstance(version, int) and version > BASELINE_SCHEMA_VERSION:
        raise BaselineError(f"{path}: baseline_schema_version {version} is newer than this cptbench reads; upgrade cptbench")
    return validate(raw, Baseline, path, BaselineError)
