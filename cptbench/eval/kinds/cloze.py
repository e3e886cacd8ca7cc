"""``cloze``: entity-cloze accuracy from sentences with entity spans (``cptbench.data.probes``).

The model picks the candidate whose sentence it finds most likely: log P(candidate + rest of
sentence | sentence before the entity), summed over the continuation's tokens. The backend moves
the context's trailing whitespace into the continuation, so the candidate is tokenized as it is
in running text (``'ĠEm', 'manuel'``, not ``'Ġ'`` + ``'Em', 'manuel'``)."""

from __future__ import annotations

from cptbench.core.matrix import Direction
from cptbench.data.probes import cloze_items
from cptbench.data.sources import get_source
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, accuracy_problem, choice_accuracy


class Cloze(TaskKind):
    name = "cloze"
    reads = "sentences"
    metric = "accuracy"
    direction = Direction.HIGHER
    budget_cap = "probe_items"

    def inputs(self, task, suite, budget) -> TaskInputs:
        data = task.data
        split = data.splits[0]
        sentences, sha = get_source(data.source).sentences(data.domain, split)
        label = f"{data.source}/{data.domain}/{split}"
        items = cloze_items(sentences, label, self.cap(budget), suite.probe_seed)
        return TaskInputs(items, {label: sha})

    def score(self, backend, task, items, context) -> Cell:
        groups = [[LoglikelihoodRequest(i.context, c + i.rest) for c in i.candidates] for i in items]
        return choice_accuracy(backend, groups, [i.answer for i in items], context)

    sample_problem = accuracy_problem  # hits: 0 or 1 each, summing to correct

    def recomputed(self, task, details) -> dict[str, float]:
        return {"value": details["correct"] / details["items"]}
