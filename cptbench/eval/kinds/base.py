"""What a task kind is: how a task's data becomes inputs, and how a backend's answers become one
number (a ``Cell``) with the details it was computed from."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cptbench.core.matrix import Direction
from cptbench.core.samples import Samples
from cptbench.core.spec import Budget, LmEvalRef, Suite, TaskSpec
from cptbench.eval.backends.base import Backend, Progress


@dataclass(frozen=True)
class Cell:
    """One matrix cell: the task's value, the sums it was computed from (``details``) and its
    per-item values (``samples``: what its interval is resampled from)."""

    value: float
    details: dict[str, float | int]
    samples: Samples | None = None


@dataclass(frozen=True)
class TaskInputs:
    """What a task evaluates (documents, cloze items, questions) and the hashes of their files."""

    items: tuple
    data_hashes: dict[str, str]


@dataclass
class EvalContext:
    """Shared by the tasks of one checkpoint's evaluation."""

    budget: Budget
    progress: Progress | None = None
    generations: dict = field(default_factory=dict)  # prompts -> texts: one generation pass per question set


class TaskKind:
    """A kind of task (``bpb``, ``cloze``, ...): subclass it in one module, register it in
    ``cptbench.eval.kinds.registry``. Class attributes declare what the suite loader checks."""

    name: str = ""
    reads: str | None = "texts"  # the data view its items come from; None: it brings its own data
    metric: str = ""  # the column's metric (a family name shared by tasks in the same unit)
    direction: Direction = Direction.HIGHER
    metric_choices: tuple[str, ...] = ()  # when a task must pick its metric (``metric:`` in the suite)
    budget_cap: str = "eval_docs"  # the ``Budget`` field that caps its items (taken evenly from the data)
    count_detail: str = "items"  # the cell detail that says how many items were scored
    fields: tuple[str, ...] = ()  # what a templated source (``hf``) must map for this kind (``text``, ``prompt``...)

    def column(self, metric: str | None, lmeval: LmEvalRef | None) -> tuple[str, Direction]:
        """The column's metric and direction for a task of this kind."""
        return (metric or self.metric), self.direction

    def inputs(self, task: TaskSpec, suite: Suite, budget: Budget) -> TaskInputs:
        raise NotImplementedError

    def score(self, backend: Backend, task: TaskSpec, items: Sequence, context: EvalContext) -> Cell:
        raise NotImplementedError

    def cap(self, budget: Budget) -> int | None:
        """How many items the budget allows (None: all)."""
        return getattr(budget, self.budget_cap)

    def sample_problem(self, task: TaskSpec, details: Mapping[str, float], samples: Samples,
                       documents: Sequence[str] | None) -> str | None:
        """What is wrong with a stored cell's per-item ``samples`` given its ``details`` (and, when
        known, the ``documents`` it scored, as the suite and budget give them), checked without a
        model; None when they agree. Every kind: one item per scored item."""
        count = details.get(self.count_detail)
        if count is not None and len(samples) != count:
            return f"{len(samples)} items, details.{self.count_detail} is {count!r}"
        return None

    def recomputed(self, task: TaskSpec, details: Mapping[str, float]) -> dict[str, float]:
        """What a stored cell's details determine, recomputed from them: ``value`` (the cell) and any
        derived detail, so that a record's cells can be checked against the sums they came from.
        Empty when the details do not determine the value (missing keys raise ``KeyError``)."""
        return {}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def accuracy_problem(kind: TaskKind, task: TaskSpec, details: Mapping[str, float], samples: Samples,
                     documents: Sequence[str] | None) -> str | None:
    """An accuracy cell's items are hits: each 0 or 1, as many as ``items``, summing to ``correct``."""
    problem = TaskKind.sample_problem(kind, task, details, samples, documents)
    if problem or samples.weights is not None:
        return problem or "weights: an accuracy item weighs 1 (no weights)"
    if any(v not in (0.0, 1.0) for v in samples.values):
        return "values: an accuracy item is 0 or 1"
    if "correct" in details and not close(math.fsum(samples.values), details["correct"]):
        return f"values sum to {math.fsum(samples.values):g}, details.correct is {details['correct']!r}"
    return None


def choice_accuracy(backend: Backend, groups: Sequence[Sequence], answers: Sequence[int], context: EvalContext) -> Cell:
    """Accuracy of picking, per item, the request (``LoglikelihoodRequest``) of highest log-likelihood:
    ``groups[i]`` holds item i's requests, ``answers[i]`` the index of the right one. Chance is the
    mean of 1 / choices."""
    scores = backend.loglikelihood([request for group in groups for request in group])
    hits, offset = [], 0
    for group, answer in zip(groups, answers):
        logprobs = [s.logprob for s in scores[offset : offset + len(group)]]
        hits.append(int(max(range(len(logprobs)), key=logprobs.__getitem__) == answer))
        offset += len(group)
    done(context, len(groups))
    chance = sum(1 / len(group) for group in groups) / len(groups)
    correct = sum(hits)
    return Cell(correct / len(groups), {"items": len(groups), "correct": correct, "chance": chance}, Samples.of(hits))


def done(context: EvalContext, count: int) -> None:
    """Advance the progress bar by ``count`` finished items."""
    if context.progress:
        context.progress(count)
