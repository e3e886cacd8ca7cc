"""``answer_logprob``: the mean log-probability (nats) of the right answer of multiple-choice items,
log P(delimiter + answer | context), summed over the answer's tokens. Continuous where accuracy
moves in steps of 1 / items, so small gains and losses of knowledge show; it reads the same items
as ``choice`` (the HF backend scores a request once per checkpoint, so the pair costs one pass)."""

from __future__ import annotations

import math

from cptbench.core.samples import Samples
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.kinds.base import Cell, done
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
