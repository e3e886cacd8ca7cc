"""Turn a TaskSpec into backend requests and score the responses to one number per task."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cptbench.backends.base import Backend, Progress, RollingResult
from cptbench.errors import NumericsError
from cptbench.suites import TaskSpec


@dataclass(frozen=True)
class Cell:
    """One matrix cell: the task's value plus what it was computed from."""

    value: float
    details: dict[str, float | int]


def bits_per_byte(results: Sequence[RollingResult]) -> float:
    """Corpus-level BPB = sum of NLL (nats) / (ln 2 * sum of UTF-8 bytes), as lm-eval aggregates it."""
    return sum(r.nll for r in results) / (math.log(2) * sum(r.num_bytes for r in results))


def token_perplexity(results: Sequence[RollingResult]) -> float:
    """exp(sum of NLL / number of tokens): tokenizer-dependent, reported beside BPB only."""
    return math.exp(sum(r.nll for r in results) / sum(r.num_tokens for r in results))


def evaluate_task(backend: Backend, task: TaskSpec, texts: Sequence[str], progress: Progress | None = None) -> Cell:
    if task.kind != "bpb":
        raise ValueError(f"task {task.name}: unknown kind {task.kind!r}")
    results = backend.loglikelihood_rolling(texts, progress=progress)
    cell = Cell(
        value=bits_per_byte(results),
        details={
            "perplexity": token_perplexity(results),
            "documents": len(results),
            "tokens": sum(r.num_tokens for r in results),
            "bytes": sum(r.num_bytes for r in results),
            "nll": sum(r.nll for r in results),
        },
    )
    for name, number in [("value", cell.value), *cell.details.items()]:
        if not math.isfinite(number):
            raise NumericsError(f"task {task.name}: {name} is {number}")
    return cell
