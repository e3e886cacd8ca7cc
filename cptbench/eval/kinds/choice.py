"""``choice``: multiple-choice accuracy by log-likelihood, lm-eval's ``multiple_choice`` shape: the
model picks the choice ``c`` with the highest log P(delimiter + c | context) (``acc``; no length
normalisation). Items come from any source with a ``choices`` view (``hf``: ``context``,
``choices`` and ``answer`` in the suite), so users bring their own knowledge probes."""

from __future__ import annotations

from cptbench.core.matrix import Direction
from cptbench.data.corpus import spread
from cptbench.data.sources import load_choices
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, accuracy_problem, choice_accuracy


class MultipleChoice(TaskKind):
    name = "choice"
    reads = "choices"
    metric = "accuracy"
    direction = Direction.HIGHER
    budget_cap = "probe_items"
    fields = ("context", "choices", "answer")

    def inputs(self, task, suite, budget) -> TaskInputs:
        items = load_choices(task.data, self.cap(budget))
        return TaskInputs(spread(items.items, self.cap(budget)), items.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        groups = [[LoglikelihoodRequest(i.context, i.delimiter + c) for c in i.choices] for i in items]
        return choice_accuracy(backend, groups, [i.answer for i in items], context)

    sample_problem = accuracy_problem  # hits: 0 or 1 each, summing to correct

    def recomputed(self, task, details) -> dict[str, float]:
        return {"value": details["correct"] / details["items"]}
