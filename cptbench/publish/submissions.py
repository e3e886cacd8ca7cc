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
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout
from pydantic import Field, FiniteFloat, NonNegativeFloat, field_validator, model_validator

from cptbench.config.suites import Suite, available_suites, load_suite
from cptbench.core.errors import ConfigError, CptbenchError
from cptbench.core.io import Strict, cannot_write, read_json_object, validate
from cptbench.core.records import (
    ColumnModel,
    ModelRef,
    RunRecord,
    StageTraining,
    SuiteRef,
    check_samples,
    matrix_from_record,
    migrate_record,
    verify_metrics,
)
from cptbench.core.resources import tasks_dir
from cptbench.core.samples import SamplesModel
from cptbench.core.spec import Budget, TaskSpec
from cptbench.data.sources import load_examples, pinned_hashes
from cptbench.eval.kinds.base import TaskKind
from cptbench.eval.kinds.registry import get_kind
from cptbench.methods.base import Method
from cptbench.models.resolve import ALIASES, KNOWN_PARAMETERS
from cptbench.publish.integrity import check_recomputable
from cptbench.run.plan import Plan, PlannedStage, make_plan, method_label, planned_mix
from cptbench.run.stage import examples_cap
from cptbench.run.verify import MAX_VERIFY_TOLERANCE, VERIFICATION_NAME, record_sha256

NAME_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 120
DEFAULT_METHOD = "naive sequential CPT"
REQUIRED_PACKAGES = ("cptbench", "torch")
MODEL_SOURCES = ("alias", "local", "hub")
CELL_REL_TOL = 1e-9  # a cell and its details are stored from the same sums: only float rounding differs
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, line/paragraph separators


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


class Verified(Strict):
    """What ``cptbench verify`` found (every cell agreed) at its ``level``: *verified*, the run's base
    and final rows re-evaluated; *reproduced* (``--reproduce``), every row trained and evaluated again."""

    level: Literal["verified", "reproduced"] = "verified"  # files written before levels existed: verified
    cptbench_version: str
    created: str
    rows: list[int]
    cells: int = Field(ge=1)
    tolerance: NonNegativeFloat = Field(le=MAX_VERIFY_TOLERANCE)  # a looser "agreement" is no verification
    max_difference: NonNegativeFloat


class SubmissionHeader(Strict):
    name: str
    submitter: str | None = None
    submitted: dt.date
    method: str = DEFAULT_METHOD
    verified: Verified | None = None  # None: not re-evaluated

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


def verification_of(record_file: Path, record: RunRecord | None = None) -> Verified | None:
    """The run's ``verification.json`` when it exists: it must be for this very record, agree, and
    (given the ``record``) cover the rows its level re-evaluates (``check_verified``)."""
    path = record_file.parent / VERIFICATION_NAME
    if not path.is_file():
        return None
    raw = read_json_object(path, SubmissionError)
    if raw.get("record_sha256") != record_sha256(record_file):
        raise SubmissionError(f"{path}: record_sha256 is not that of {record_file.name} (changed since); run cptbench verify again")
    if raw.get("verified") is not True:
        first = (raw.get("disagreements") or ["no verdict"])[0]
        raise SubmissionError(f"{path}: verified is not true: re-evaluation disagrees with the record ({first})")
    verified = validate({k: raw.get(k) for k in Verified.model_fields if k in raw}, Verified, path, SubmissionError)
    if record is not None:
        check_verified(record, verified, str(path), "verification")
    return verified


# --- reading ---------------------------------------------------------------------------------


def load_submission(path: Path) -> Submission:
    """Read one submission file (schema only; ``check_record`` checks it against the suite)."""
    submission = validate(migrate_record(read_json_object(path, SubmissionError)), Submission, path, SubmissionError)
    try:
        matrix_from_record(submission)
        check_samples(submission)
    except CptbenchError as exc:
        raise SubmissionError(f"{path}: {exc}") from None
    return submission


# --- a record against its shipped suite ------------------------------------------------------


def check_record(record: RunRecord, source: str, suite: Suite | None = None) -> Suite:
    """Everything a leaderboard requires of a record; returns its ``Suite``: the shipped one of
    that name, or ``suite`` (a suite file of one's own, ``submit --suite FILE``).

    No string holds a control character; suite name, version, content hash, budget, stages and
    tasks equal the shipped suite's; the provenance is present, names one model and one seed, and
    its data hashes are the pinned data's; every cell equals what its details determine, and every
    derived metric recomputed from the matrix equals the stored one; each task scored, and each
    stage trained on, what the budget takes. (Schema version and finite, complete cells are
    checked when the record is loaded.)
    """
    _check_strings(record, source)
    suite = _record_suite(record, source, suite)
    _check_provenance(record, suite, source)
    _check_identity(record, source)
    _check_data_hashes(record, suite, source)
    _check_cells(record, suite, source)
    problems = verify_metrics(record)
    if problems:
        raise SubmissionError(f"{source}: {problems[0]}")
    budget = suite.budgets[record.suite.budget]
    _check_eval_counts(record, suite, budget, source)
    _check_training(record, suite, budget, source)
    check_recomputable(record, suite, source, SubmissionError, _plan(record, suite, source))  # publish/integrity.py
    return suite


def _plan(record: RunRecord, suite: Suite, source: str) -> Plan:
    """The plan the record's method ran (stage order, joint stage, replay)."""
    try:
        return make_plan(suite, record.method)
    except ConfigError as exc:
        raise SubmissionError(f"{source}: method: {exc}") from None


def _planned_suite(record: RunRecord, suite: Suite, source: str) -> Suite:
    """The suite as the record's method ran it (stage order, joint stage)."""
    return _plan(record, suite, source).suite


def record_method_label(record: RunRecord) -> str:
    label = method_label(record.method, record.recipes)
    return f"{label}; trained by {record.trainer.declared}" if record.trainer else label


def is_shipped(suite: Suite) -> bool:
    return suite.path.resolve().parent == (tasks_dir() / "suites").resolve()


def board_folder(suite: Suite) -> str:
    """A leaderboard's folder under the leaderboards root: a shipped suite's name; a suite of one's
    own is named by name and hash, so two different files of one name never share a board."""
    return suite.name if is_shipped(suite) else f"{suite.name}-{suite.content_hash[:12]}"


def _record_suite(record: RunRecord, source: str, suite: Suite | None) -> Suite:
    ref = record.suite
    if suite is None:
        shipped = available_suites()
        if ref.name not in shipped:
            raise SubmissionError(f"{source}: suite.name {_shown(ref.name)} is not a shipped suite (shipped: "
                                  f"{', '.join(shipped)}); for a suite of your own pass --suite FILE")
        suite = load_suite(ref.name)
    elif ref.name != suite.name:
        raise SubmissionError(f"{source}: suite.name {_shown(ref.name)} differs from {suite.path}'s {suite.name!r}")
    kind = "shipped" if is_shipped(suite) else "given"
    if ref.hash != suite.content_hash:
        raise SubmissionError(
            f"{source}: suite.hash {ref.hash[:12]}... differs from the {kind} {suite.name} suite's "
            f"{suite.content_hash[:12]}... (the run used another version of the suite file)"
        )
    if ref.version != suite.version:
        raise SubmissionError(f"{source}: suite.version {ref.version} differs from the {kind} {suite.version}")
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
    if record.trainer is not None:  # trained elsewhere: what trained it is declared, the data it trained on pinned
        if not record.trainer.declared.strip():
            raise SubmissionError(f"{source}: trainer.declared is empty (what trained the stages)")
        if record.trainer.manifest_sha256 is None:
            raise SubmissionError(f"{source}: trainer.manifest_sha256: missing (evaluate-sequence --manifest: a ranked "
                                  f"record says which exported data the stages trained on)")
    else:
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


# --- a record against itself: one string per line, one model, one seed ----------------------


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for every string of a JSON value, dictionary keys included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{path or 'record'} key", key
            yield from _strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _check_strings(record: RunRecord, source: str) -> None:
    """No string may hold a control character: any of them may be shown on the board (model,
    recipes, versions...), where a newline splits a table row and an escape sequence reaches a
    terminal. (No field of an honest record needs one.)"""
    for where, text in _strings(record.model_dump(mode="json"), ""):
        if _CONTROL.search(text):
            raise SubmissionError(f"{source}: {where}: {_shown(text)} contains control characters")


def shown_model(model: ModelRef) -> str:
    """The model as the board shows it; a local directory by its last component only."""
    return Path(model.reference).name if model.source == "local" else model.reference


def _check_identity(record: RunRecord, source: str) -> None:
    """Fields that say the same thing twice must agree: a model's name and its size (a record
    relabelled from the tiny model to SmolLM2 keeps the tiny model's count), and the seed."""
    model = record.model
    if model.source not in MODEL_SOURCES:
        raise SubmissionError(f"{source}: model.source {_shown(model.source)} is not one of {', '.join(MODEL_SOURCES)}")
    if model.source == "alias" and model.reference not in ALIASES:
        raise SubmissionError(f"{source}: model.reference {_shown(model.reference)} is not an alias ({', '.join(sorted(ALIASES))})")
    name = shown_model(model)
    known = KNOWN_PARAMETERS.get(name.strip().lower())
    if known is not None and model.parameters != known:
        raise SubmissionError(
            f"{source}: model.parameters {model.parameters:,} differ from the {known:,} of {_shown(name)} (another model)"
        )
    determinism = record.environment.get("determinism")
    seed = determinism.get("seed") if isinstance(determinism, dict) else None
    if seed is None:
        raise SubmissionError(f"{source}: environment.determinism.seed: missing (the seed the run set)")
    if type(seed) is not int or seed != record.seed:
        raise SubmissionError(f"{source}: seed {record.seed} differs from environment.determinism.seed {seed!r}")


# --- a record against its details: cells, items scored, documents trained ------------------


def _task_kinds(record: RunRecord, suite: Suite) -> list[tuple[TaskSpec, TaskKind]]:
    """The suite's task and kind behind each column (names were checked against the suite)."""
    specs = {t.name: t for t in suite.tasks}
    return [(specs[column.name], get_kind(specs[column.name].kind)) for column in record.tasks]


def _check_cells(record: RunRecord, suite: Suite, source: str) -> None:
    """Every cell equals what its details determine (BPB = summed NLL / (ln 2 x bytes), accuracy =
    correct / items, ...): the metrics are recomputed from the matrix, so a matrix rewritten
    together with its metrics is caught only here."""
    rows, columns = len(record.matrix), len(record.tasks)
    if len(record.details) != rows or any(len(row) != columns for row in record.details):
        raise SubmissionError(f"{source}: details: expected {rows} rows of {columns} cells, as the matrix")
    kinds = _task_kinds(record, suite)
    for i, (values, cells) in enumerate(zip(record.matrix, record.details)):
        for (task, kind), value, details in zip(kinds, values, cells):
            where = f"details[{i}][{task.name}]"
            try:
                expected = kind.recomputed(task, details)
            except KeyError as exc:
                raise SubmissionError(f"{source}: {where}: missing {exc.args[0]!r} (the cell is computed from it)") from None
            except (ArithmeticError, ValueError) as exc:
                raise SubmissionError(f"{source}: {where}: the cell cannot be recomputed ({exc})") from None
            for key, want in expected.items():
                stored = value if key == "value" else details.get(key)
                if stored is None or not math.isclose(stored, want, rel_tol=CELL_REL_TOL, abs_tol=1e-12):
                    field = f"matrix[{i}][{task.name}]" if key == "value" else f"{where}.{key}"
                    raise SubmissionError(f"{source}: {field} {stored!r} differs from {want!r}, recomputed from its details")


def _taken(count: int | float, cap: int | None, available, where: str, source: str) -> None:
    """``count`` items are what a budget ``cap`` takes from data holding ``available()`` (None:
    unknown): ``min(cap, available)``, the rule of ``data.corpus.spread`` and of the stages.

    The data is read only when the count is below the cap or there is no cap: a count equal to a
    cap needs no data (every shipped cap is far below what its data holds)."""
    if cap is not None and count == cap:
        return
    if cap is not None and count > cap:
        raise SubmissionError(f"{source}: {where} {count:g} exceeds the budget's {cap}")
    try:
        held = available()
    except CptbenchError as exc:
        raise SubmissionError(
            f"{source}: {where} {count:g} is below the budget's {cap if cap is not None else '(no cap: all the data)'}; "
            f"the data to check it could not be read ({exc})"
        ) from None
    expected = held if cap is None or held is None else min(cap, held)
    if expected is not None and count != expected:
        raise SubmissionError(f"{source}: {where} {count:g} differs from the {expected} the budget takes (cap {cap}, data {held})")


def _check_eval_counts(record: RunRecord, suite: Suite, budget: Budget, source: str) -> None:
    """Each task scored the items the budget takes, the same in every row (a smoke run relabelled
    small keeps its 2 documents per task)."""
    for j, (task, kind) in enumerate(_task_kinds(record, suite)):
        counts = [row[j].get(kind.count_detail) for row in record.details]
        for i, count in enumerate(counts):
            where = f"details[{i}][{task.name}].{kind.count_detail}"
            if count is None:
                raise SubmissionError(f"{source}: {where}: missing (how many items the cell scored)")
            if count != counts[0]:
                raise SubmissionError(f"{source}: {where} {count!r} differs from row 0's {counts[0]!r} (every row scores the same items)")

        def available(task=task, kind=kind) -> int | None:
            if task.data is None:  # an lm-eval task reading its own data: unknown here
                return None
            return len(kind.inputs(task, suite, dataclasses.replace(budget, **{kind.budget_cap: None})).items)

        _taken(counts[0], kind.cap(budget), available, f"details[0][{task.name}].{kind.count_detail}", source)


def _check_training(record: RunRecord, suite: Suite, budget: Budget, source: str) -> None:
    """Each stage trained on what the budget takes: token caps for cpt stages (replay within its
    share), ``min(cap, available)`` examples for sft / grpo stages."""
    plan = _plan(record, suite, source)
    names = [stage.stage for stage in record.training]
    if names != [p.stage.name for p in plan.stages]:
        raise SubmissionError(f"{source}: training: stages {names} differ from the stages run {record.stages}")
    for planned, stage in zip(plan.stages, record.training):
        where = f"training[{stage.stage}]"
        if stage.kind != planned.stage.kind:
            raise SubmissionError(f"{source}: {where}.kind {stage.kind!r} differs from the suite's {planned.stage.kind!r}")
        if stage.sources:
            for key, total in (("documents", stage.documents), ("corpus_tokens", stage.corpus_tokens)):
                parts = sum(counts.get(key.removeprefix("corpus_"), 0) for counts in stage.sources.values())
                if parts != total:
                    raise SubmissionError(f"{source}: {where}.{key} {total} differs from the sum over its sources ({parts})")
        if stage.kind == "cpt":
            epochs = record.recipes.get(planned.stage.recipe, {}).get("num_train_epochs", 1.0)
            _check_cpt_stage(planned, stage, plan.plugin, budget, epochs, f"{source}: {where}")
        else:
            data = planned.sources[0].data
            _taken(stage.documents, examples_cap(stage.kind, budget), lambda data=data: len(load_examples(data).items),
                   f"{where}.documents", source)


def _check_cpt_stage(planned: PlannedStage, stage: StageTraining, method: Method, budget: Budget, epochs: object,
                     where: str) -> None:
    """The own sources within the budget's cap (less a budget-neutral replay share; one document may
    exceed it), what the method requires of its data (``Method.validate``: replay within its share),
    and every corpus token trained once per epoch (``train.cpt``)."""
    own = [s.name for s in planned.sources]
    replayed = [s.name for s in planned.replay]
    sources = stage.sources or ({own[0]: {"documents": stage.documents, "tokens": stage.corpus_tokens}} if len(own) == 1 else {})
    unknown = sorted(set(sources) - set(own) - set(replayed))
    if unknown:
        raise SubmissionError(f"{where}.sources: {_shown(unknown[0])} is not a source of this stage")
    fraction = planned.replay_fraction if replayed else 0.0
    cap, why = budget.train_tokens, f"budget {budget.name!r}"
    if cap is not None and fraction and planned.replay_budget_neutral:
        cap, why = round((1 - fraction) * cap), f"{why} less budget-neutral replay {fraction:.0%}"
    for name in own:
        counts = sources.get(name, {})
        if cap is not None and counts.get("tokens", 0) > cap and counts.get("documents", 0) > 1:
            raise SubmissionError(f"{where}.sources.{name}.tokens {counts['tokens']} exceed the {cap} new tokens of {why}")
    problem = method.validate(planned_mix(planned), sources)
    if problem:
        raise SubmissionError(f"{where}: {problem}")
    # + one token per document and epoch: a tokenizer that adds BOS to each example (TRL does) sees one more
    passes = max(1, math.ceil(epochs)) if isinstance(epochs, int | float) else None
    if passes is not None and stage.tokens > (stage.corpus_tokens + stage.documents) * passes:
        raise SubmissionError(f"{where}.tokens {stage.tokens} exceed the corpus's {stage.corpus_tokens} x {epochs:g} epochs")


# --- a record against the pinned data --------------------------------------------------------


def _check_data_hashes(record: RunRecord, suite: Suite, source: str) -> None:
    """The record hashes exactly the files the suite reads, and each hash is the pinned one (the
    data sources pin their upstream files): a run on other data is another benchmark."""
    expected: dict[str, str] = {}
    for data in [s.data for s in suite.stages] + [t.data for t in suite.tasks if t.data is not None]:
        expected.update(pinned_hashes(data))
    for key in sorted(expected.keys() | record.data.keys()):
        if key not in record.data:
            raise SubmissionError(f"{source}: data.{key}: missing (the suite reads it)")
        if key not in expected:
            raise SubmissionError(f"{source}: data.{key}: not a file the {suite.name} suite reads")
        if record.data[key] != expected[key]:
            raise SubmissionError(
                f"{source}: data.{key}: sha256 {record.data[key][:12]}... differs from the pinned "
                f"{expected[key][:12]}... (the run read other data)"
            )


# --- leaderboard entries: validated submissions --------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: str
    submission: Submission

    @property
    def header(self) -> SubmissionHeader:
        return self.submission.submission

    @property
    def model(self) -> str:
        """The model reference; a local directory is shown by its last component only."""
        return shown_model(self.submission.model)


def make_entry(submission: Submission) -> Entry:
    return Entry(submission.submission.name, submission)


def load_entries(directory: Path, suite: Suite) -> list[Entry]:
    """Every submission of ``directory``, each validated against ``suite``."""
    entries = []
    paths = sorted((directory / "submissions").glob("*.json"))
    _check_distinct_ids(paths)
    for path in paths:
        submission = load_submission(path)
        if submission.submission.name != path.stem:
            raise SubmissionError(f"{path}: submission.name {submission.submission.name!r} differs from the file name")
        if submission.suite.name != suite.name:
            raise SubmissionError(f"{path}: suite.name {submission.suite.name!r} on the {suite.name} leaderboard")
        check_record(submission, str(path), suite)
        check_verified(submission, submission.submission.verified, str(path))
        entries.append(make_entry(submission))
    return entries


def check_verified(record: RunRecord, verified: Verified | None, source: str, field: str = "submission.verified") -> None:
    """A verification covers every task of the rows its level re-evaluates: *verified*, rows 0 and T
    (what ``cptbench verify`` does); *reproduced*, every row, of a run cptbench trained (checkpoints
    trained elsewhere cannot be trained again). On a board it is the submitter's statement, which a
    maintainer re-checks by running verify."""
    if verified is None:
        return
    last, command = len(record.stages), "verify"
    rows = [0, last] if last else [0]
    if verified.level == "reproduced":
        if record.trainer is not None:
            raise SubmissionError(f"{source}: {field}: reproduced, but the stages were trained outside cptbench "
                                  f"(trainer: {record.trainer.declared!r}): verify --reproduce trains only its own")
        rows, command = list(range(last + 1)), "verify --reproduce"
    if verified.rows != rows or verified.cells != len(rows) * len(record.tasks):
        raise SubmissionError(f"{source}: {field}: rows {verified.rows} and {verified.cells} cells are not "
                              f"what {command} re-evaluates (rows {rows}, {len(rows) * len(record.tasks)} cells)")


def _check_distinct_ids(paths: list[Path]) -> None:
    """Ids differ in more than case: ``submit`` refuses such a clash, and a case-insensitive file
    system (macOS, Windows) would check out only one of the two files."""
    seen: dict[str, Path] = {}
    for path in paths:
        first = seen.setdefault(path.stem.lower(), path)
        if first != path:
            raise SubmissionError(f"{path}: id {path.stem!r} differs from {first.name} only in case")


# --- one writer per leaderboard at a time ----------------------------------------------------


class LeaderboardBusyError(CptbenchError):
    exit_code = 3


@contextlib.contextmanager
def waiting_lock(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, waiting up to ``timeout`` seconds for other holders.

    A ``flock`` (via filelock) rather than ``lock.run_lock``: the kernel releases it when its holder
    dies, and a second process can never take it between another's create and pid write.
    """
    if Path(path).is_dir():
        raise SubmissionError(f"{path}: a folder where the leaderboard's lock file belongs; remove it")
    lock = FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:  # a TimeoutError, so an OSError too: first
        raise LeaderboardBusyError(f"{path}: still locked by another submission after {timeout:g} s") from None
    except OSError as exc:
        raise SubmissionError(cannot_write(Path(path), exc)) from None
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


class BaselineRun(Strict):
    """One seed a baseline was made from: its matrix and per-item values (``regress --tol auto``)."""

    seed: int
    matrix: list[list[FiniteFloat]]
    samples: list[list[SamplesModel | None]] | None


class Baseline(Strict):
    """Reference metrics (and optionally the matrix) of one run or the mean of several seeds, with
    per-key absolute tolerances; ``runs``: each seed's matrix and samples, for ``--tol auto``."""

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
    runs: list[BaselineRun] | None = None  # None: baselines made before intervals

    @model_validator(mode="after")
    def _consistent(self) -> Baseline:
        unknown = sorted(set(self.tolerances) - set(self.metrics))
        if unknown:
            raise ValueError(f"tolerances.{unknown[0]}: not a metric of this baseline")
        if self.matrix is not None:
            rows, columns = len(self.stages) + 1, len(self.tasks)
            if len(self.matrix) != rows or any(len(row) != columns for row in self.matrix):
                raise ValueError(f"matrix: expected {rows} rows of {columns} cells")
        for i, run in enumerate(self.runs or []):
            shapes = [run.matrix] + ([run.samples] if run.samples is not None else [])
            if any(len(grid) != len(self.stages) + 1 or any(len(r) != len(self.tasks) for r in grid) for grid in shapes):
                raise ValueError(f"runs[{i}]: expected {len(self.stages) + 1} rows of {len(self.tasks)} cells")
        return self


def load_baseline(path: Path) -> Baseline:
    raw = read_json_object(path, BaselineError)
    version = raw.get("baseline_schema_version")
    if isinstance(version, int) and version > BASELINE_SCHEMA_VERSION:
        raise BaselineError(f"{path}: baseline_schema_version {version} is newer than this cptbench reads; upgrade cptbench")
    return validate(raw, Baseline, path, BaselineError)
