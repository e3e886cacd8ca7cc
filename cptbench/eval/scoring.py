"""Turn a TaskSpec into backend requests and score the responses to one number per task."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cptbench.eval.backends.base import Backend, LoglikelihoodRequest, Progress, RollingResult
from cptbench.core.errors import NumericsError
from cptbench.data.probes import ClozeItem
from cptbench.config.suites import TaskSpec


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


def evaluate_task(backend: Backend, task: TaskSpec, inputs: Sequence, *, limit: int | None = None,
                  progress: Progress | None = None, generations: dict | None = None) -> Cell:
    """Score one task on one checkpoint: ``inputs`` are documents (bpb, lmeval), cloze items or
    PubMedQA examples (decision, explanation). ``generations`` (a dict kept for one checkpoint)
    lets the explanation tasks of one question set share a single generation pass."""
    if task.kind == "bpb":
        cell = _bits_per_byte_cell(backend, inputs, progress)
    elif task.kind == "cloze":
        cell = _cloze_cell(backend, inputs, progress)
    elif task.kind in ("decision", "explanation"):
        from cptbench.eval import answer_tasks

        if task.kind == "decision":
            cell = answer_tasks.decision_cell(backend, inputs, progress)
        else:
            cell = answer_tasks.explanation_cell(backend, inputs, task.metric, progress, generations)
    else:
        from cptbench.eval.kinds.lmeval import evaluate_lmeval

        documents = inputs if task.data is not None else None
        cell = evaluate_lmeval(backend.model, backend.tokenizer, task.lmeval, documents,
                               prefix_token_id=backend.prefix_token_id, limit=limit)
        if progress:
            progress(len(inputs))
    for name, number in [("value", cell.value), *cell.details.items()]:
        if not math.isfinite(number):
            raise NumericsError(f"task {task.name}: {name} is {number}")
    return cell


def _bits_per_byte_cell(backend: Backend, texts: Sequence[str], progress: Progress | None) -> Cell:
    results = backend.loglikelihood_rolling(texts, progress=progress)
    return Cell(
        value=bits_per_byte(results),
        details={
            "perplexity": token_perplexity(results),
            "documents": len(results),
            "tokens": sum(r.num_tokens for r in results),
            "bytes": sum(r.num_bytes for r in results),
            "nll": sum(r.nll for r in results),
        },
    )


def _cloze_cell(backend: Backend, items: Sequence[ClozeItem], progress: Progress | None) -> Cell:
    """Accuracy: the true entity's sentence is the most likely of the candidates' (summed log-prob)."""
    requests = [LoglikelihoodRequest(item.context, candidate + item.rest) for item in items for candidate in item.candidates]
    scores = backend.loglikelihood(requests)
    correct, offset = 0, 0
    for item in items:
        logprobs = [s.logprob for s in scores[offset : offset + len(item.candidates)]]
        correct += max(range(len(logprobs)), key=logprobs.__getitem__) == item.answer
        offset += len(item.candidates)
    if progress:
        progress(len(items))
    chance = sum(1 / len(item.candidates) for item in items) / len(items)
    return Cell(correct / len(items), {"items": len(items), "correct": correct, "chance": chance})
