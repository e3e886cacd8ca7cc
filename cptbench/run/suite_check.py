"""What ``cptbench suites check`` reports: every stage's and task's data read for real (sources
load, splits and fields exist, templates fill), with the counts a budget takes, and no model."""

from __future__ import annotations

from dataclasses import dataclass

from cptbench.core.spec import Budget, DataSpec, Suite
from cptbench.data.sources import load_examples, load_texts
from cptbench.eval.kinds.registry import get_kind
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
    parts = [_stage(stage.name, stage.kind, stage.data, suite, budget) for stage in suite.stages]
    for task in suite.tasks:
        kind = get_kind(task.kind)
        inputs = kind.inputs(task, suite, budget)
        label = ", ".join(inputs.data_hashes) or (task.lmeval.task if task.lmeval else "")
        cap = kind.cap(budget)
        note = "" if cap is None or len(inputs.items) == cap else f"fewer than the budget's {kind.budget_cap} {cap}"
        parts.append(CheckedPart(task.name, task.kind, label, len(inputs.items), note))
    return parts


def _stage(name: str, kind: str, data: DataSpec, suite: Suite, budget: Budget) -> CheckedPart:
    if kind == "cpt":
        texts = load_texts(data, suite.sentences_per_doc, max_bytes=budget.train_tokens)
        size = sum(len(t.encode()) for t in texts.texts)
        note = f"{size:,} UTF-8 bytes"
        if budget.train_tokens is not None and size < budget.train_tokens:
            note += f": fewer than the {budget.train_tokens:,} train_tokens of budget {budget.name!r}, so all of it trains"
        return CheckedPart(name, kind, ", ".join(texts.data_hashes), len(texts.texts), note)
    examples = load_examples(data)
    cap = examples_cap(kind, budget)
    taken = len(examples.items) if cap is None else min(cap, len(examples.items))
    return CheckedPart(name, kind, ", ".join(examples.data_hashes), taken, f"of {len(examples.items)} examples")
