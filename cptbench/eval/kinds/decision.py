"""``decision``: yes/no/maybe accuracy by log-likelihood after the plain-text prompt (lm-eval's
pubmedqa formulation; no chat template, so every stage is measured alike)."""

from __future__ import annotations

from cptbench.core.matrix import Direction
from cptbench.data.corpus import spread
from cptbench.data.pubmedqa import DECISION_CHOICES, decision_context
from cptbench.data.sources import load_examples
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, done


class Decision(TaskKind):
    name = "decision"
    reads = "examples"
    metric = "accuracy"
    direction = Direction.HIGHER

    def inputs(self, task, suite, budget) -> TaskInputs:
        examples = load_examples(task.data)
        return TaskInputs(spread(examples.items, self.cap(budget)), examples.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        requests = [LoglikelihoodRequest(decision_context(e), c) for e in items for c in DECISION_CHOICES]
        scores = backend.loglikelihood(requests)
        n = len(DECISION_CHOICES)
        correct = 0
        for i, example in enumerate(items):
            logprobs = [s.logprob for s in scores[i * n : (i + 1) * n]]
            best = max(range(n), key=logprobs.__getitem__)
            correct += DECISION_CHOICES[best].strip() == example.decision
        done(context, len(items))
        return Cell(correct / len(items), {"items": len(items), "correct": correct, "chance": 1 / n})

    def recomputed(self, task, details) -> dict[str, float]:
        return {"value": details["correct"] / details["items"]}
