"""``answer_logprob``: the mean log-probability (nats) of the right answer of multiple-choice items,
log P(delimiter + answer | context), summed over the answer's tokens. Continuous where accuracy
moves in steps of 1 / items, so small gains and losses of knowledge show; it reads the same items
as ``choice`` (the HF backend scores a request once per checkpoint, so the pair costs one pass)."""

from __future__ import annotations

import math

from cptbench.core.samples import Samples
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.kinds.base import Cell, TaskKind, close, done
from cptbench.eval.kinds.choice import MultipleChoice


class AnswerLogprob(MultipleChoice):
    """The ``choice`` kind's items and caps, scored by the true answer's log-probability."""

    name = "answer_logprob"
    metric = "logprob"

    def score(self, backend, task, items, context) -> Cell:
        requests = [LoglikelihoodRequest(i.context, i.delimiter + i.choices[i.answer]) for i in items]
        logprobs = [result.logprob for result in backend.loglikelihood(requests)]
        done(context, len(items))
        total = math.fsum(logprobs)
        return Cell(total / len(items), {"items": len(items), "sum_logprob": total}, Samples.of(logprobs))

    def recomputed(self, task, details) -> dict[str, float]:
        return {"value": details["sum_logprob"] / details["items"]}

    def sample_problem(self, task, details, samples, documents) -> str | None:
        """Each item a log-probability (at most 0), summing to ``sum_logprob``."""
        problem = TaskKind.sample_problem(self, task, details, samples, documents)
        if problem or samples.weights is not None:
            return problem or "weights: a log-probability item weighs 1 (no weights)"
        if any(v > 1e-6 for v in samples.values):
            return "values: a log-probability is at most 0"
        if "sum_logprob" in details and not close(math.fsum(samples.values), details["sum_logprob"]):
            return f"values sum to {math.fsum(samples.values)!r}, details.sum_logprob is {details['sum_logprob']!r}"
        return None
