"""What ``cptbench suites check`` reports: every stage's and task's data read for real (sources
load, splits and fields exist, templates fill), with the counts a budget takes, and no model."""

from __future__ import annotations

from dataclasses import dataclass

from cptbench.core.spec import Budget, Stage, Suite
from cptbench.data.corpus import Examples, Texts
from cptbench.eval.kinds.registry import get_kind
from cptbench.run.prechecks import check_stage_data
from cptbench.run.runner import load_stage_data
from cptbench.run.stage import examples_cap


@dataclass(frozen=True)
class CheckedPart:
    """One stage or task: what it reads and how much of it a budget takes."""

    name: str
    kind: str
    data: str  # the data's identity, as a record's ``data`` keys name it
    count: int  # documents / examples / items a run with the budget reads
    note: str = ""


def check_suite(suite: Suite, budget: Budget) -> list[CheckedPart]:
    """Read every stage's and task's data as a run with ``budget`` would; raises the first problem
    (``DataError`` / ``ConfigError``, one line naming the file and field)."""
    parts = []
    for stage in suite.stages:
        data = load_stage_data(stage, suite, budget)
        check_stage_data(stage, data)
        parts.append(_stage(stage, data, budget))
    for task in suite.tasks:
        kind = get_kind(task.kind)
        inputs = kind.inputs(task, suite, budget)
        label = ", ".join(inputs.data_hashes) or (task.lmeval.task if task.lmeval else "")
        cap = kind.cap(budget)
        note = "" if cap is None or len(inputs.items) == cap else f"fewer than the budget's {kind.budget_cap} {cap}"
        parts.append(CheckedPart(task.name, task.kind, label, len(inputs.items), note))
    return parts


def _stage(stage: Stage, data: Texts | Examples, budget: Budget) -> CheckedPart:
    label = ", ".join(data.data_hashes)
    if isinstance(data, Texts):
        size = sum(len(t.encode()) for t in data.texts)
        note = f"{size:,} UTF-8 bytes"
        if budget.train_tokens is not None and size < budget.train_tokens:
            note += f": fewer than the {budget.train_tokens:,} train_tokens of budget {budget.name!r}, so all of it trains"
        return CheckedPart(stage.name, stage.kind, label, len(data.texts), note)
    cap = examples_cap(stage.kind, budget)
    taken = len(data.items) if cap is None else min(cap, len(data.items))
    return CheckedPart(stage.name, stage.kind, label, taken, f"of {len(data.items)} examples")
