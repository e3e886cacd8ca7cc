"""``decision``: yes/no/maybe accuracy by log-likelihood after the plain-text prompt (lm-eval's
pubmedqa formulation; no chat template, so every stage is measured alike)."""

from __future__ import annotations

from cptbench.core.matrix import Direction
from cptbench.data.corpus import spread
from cptbench.data.pubmedqa import DECISION_CHOICES, decision_context
from cptbench.data.sources import load_examples
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, accuracy_problem, choice_accuracy


class Decision(TaskKind):
    name = "decision"
    reads = "decisions"  # questions with an abstract and a yes/no/maybe label (pubmedqa)
    metric = "accuracy"
    direction = Direction.HIGHER

    def inputs(self, task, suite, budget) -> TaskInputs:
        examples = load_examples(task.data)
        return TaskInputs(spread(examples.items, self.cap(budget)), examples.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        groups = [[LoglikelihoodRequest(decision_context(e), c) for c in DECISION_CHOICES] for e in items]
        answers = [[c.strip() for c in DECISION_CHOICES].index(e.decision) for e in items]
        return choice_accuracy(backend, groups, answers, context)

    sample_problem = accuracy_problem  # hits: 0 or 1 each, summing to correct

    def recomputed(self, task, details) -> dict[str, float]:
        return {"value": details["correct"] / details["items"]}
