"""``bpb``: bits-per-byte of documents (corpus level, as lm-eval aggregates it), token perplexity beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from cptbench.core.matrix import Direction
from cptbench.core.samples import Samples
from cptbench.data.corpus import spread
from cptbench.data.sources import check_documents, load_texts
from cptbench.eval.backends.base import RollingResult
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, close


def bits_per_byte(results: Sequence[RollingResult]) -> float:
    """Corpus-level BPB = sum of NLL (nats) / (ln 2 * sum of UTF-8 bytes), as lm-eval aggregates it."""
    return bpb_of_sums(sum(r.nll for r in results), sum(r.num_bytes for r in results))


def token_perplexity(results: Sequence[RollingResult]) -> float:
    """exp(sum of NLL / number of tokens): tokenizer-dependent, reported beside BPB only."""
    return perplexity_of_sums(sum(r.nll for r in results), sum(r.num_tokens for r in results))


def document_bits(results: Sequence[RollingResult]) -> Samples:
    """Each document's bits (NLL / ln 2) weighted by its bytes: resampled documents give corpus BPB."""
    return Samples.of([r.nll / math.log(2) for r in results], [r.num_bytes for r in results])


def document_bits_problem(kind: TaskKind, task, details, samples: Samples, documents) -> str | None:
    """Each item a document's bits (finite, at least 0) weighted by its UTF-8 bytes: the weights are
    the evaluated documents' bytes, in order, and the sums are the details' (nll in nats, bytes)."""
    problem = TaskKind.sample_problem(kind, task, details, samples, documents)
    if problem:
        return problem
    if samples.weights is None:
        return "weights: missing (each document weighs its UTF-8 bytes)"
    if not all(math.isfinite(v) and v >= 0 for v in samples.values):
        return "values: a document's bits are finite and at least 0"
    if documents is not None:
        sizes = [len(d.encode("utf-8")) for d in documents]
        if len(sizes) != len(samples.weights) or any(w != b for w, b in zip(samples.weights, sizes)):
            first = next((i for i, (w, b) in enumerate(zip(samples.weights, sizes)) if w != b), min(len(sizes), len(samples)))
            return (f"weights: item {first} weighs {samples.weights[first] if first < len(samples) else None!r}, "
                    f"the document the suite evaluates there has {sizes[first] if first < len(sizes) else None!r} bytes")
    if "bytes" in details and not close(math.fsum(samples.weights), details["bytes"]):
        return f"weights sum to {math.fsum(samples.weights)!r}, details.bytes is {details['bytes']!r}"
    if "nll" in details and not close(math.fsum(samples.values) * math.log(2), details["nll"]):
        return f"values sum to {math.fsum(samples.values)!r} bits, details.nll is {details['nll']!r} nats"
    return None


def bpb_of_sums(nll: float, num_bytes: int) -> float:
    return nll / (math.log(2) * num_bytes)


def perplexity_of_sums(nll: float, num_tokens: int) -> float:
    return math.exp(nll / num_tokens)


class BitsPerByte(TaskKind):
    name = "bpb"
    reads = "texts"
    metric = "bpb"
    direction = Direction.LOWER
    count_detail = "documents"
    fields = ("text",)

    def inputs(self, task, suite, budget) -> TaskInputs:
        source = load_texts(task.data, suite.sentences_per_doc, max_items=self.cap(budget))
        items = spread(source.texts, self.cap(budget))
        check_documents(items, task.data, f"task {task.name}")
        return TaskInputs(items, source.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        results = backend.loglikelihood_rolling(items, progress=context.progress)
        return Cell(
            value=bits_per_byte(results),
            details={
                "perplexity": token_perplexity(results),
                "documents": len(results),
                "tokens": sum(r.num_tokens for r in results),
                "bytes": sum(r.num_bytes for r in results),
                "nll": sum(r.nll for r in results),
            },
            samples=document_bits(results),
        )

    def sample_problem(self, task, details, samples, documents) -> str | None:
        return document_bits_problem(self, task, details, samples, documents)

    def recomputed(self, task, details) -> dict[str, float]:
        return {
            "value": bpb_of_sums(details["nll"], details["bytes"]),
            "perplexity": perplexity_of_sums(details["nll"], details["tokens"]),
        }
