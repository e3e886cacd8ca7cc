"""Texts for a stage (training corpus under a token budget) and for a task (evaluated documents)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from cptbench.data import crossner
from cptbench.core.errors import DataError
from cptbench.config.suites import DataSpec


@dataclass(frozen=True)
class Texts:
    """Documents plus the sha256 of every raw file they came from (keys ``source/domain/split``)."""

    texts: tuple[str, ...]
    data_hashes: dict[str, str]


def load_texts(data: DataSpec, sentences_per_doc: int) -> Texts:
    """Raw documents: CrossNER sentences grouped into documents, or PubMedQA abstracts."""
    if data.source == "pubmedqa":
        return _pubmedqa_texts(data)
    if data.source != "crossner":
        raise DataError(f"data source {data.source!r} is not supported")
    texts: list[str] = []
    hashes: dict[str, str] = {}
    for split in data.splits:
        documents, sha = crossner.documents_with_hash(data.domain, split, sentences_per_doc)
        texts.extend(d.text for d in documents)
        hashes[f"crossner/{data.domain}/{split}"] = sha
    if not texts:
        raise DataError(f"crossner/{data.domain}: splits {list(data.splits)} hold no documents")
    return Texts(tuple(texts), hashes)


def _pubmedqa_texts(data: DataSpec) -> Texts:
    from cptbench.data import pubmedqa

    texts: list[str] = []
    hashes: dict[str, str] = {}
    for split in data.splits:
        examples, sha = pubmedqa.examples_with_hash(split)
        texts.extend(pubmedqa.abstract(e) for e in examples)
        hashes[f"pubmedqa/{split}"] = sha
    return Texts(tuple(texts), hashes)


@dataclass(frozen=True)
class Examples:
    """PubMedQA questions for an SFT / GRPO stage or a decision / explanation task."""

    items: tuple  # tuple[pubmedqa.Example, ...]
    data_hashes: dict[str, str]


def load_examples(data: DataSpec) -> Examples:
    from cptbench.data import pubmedqa

    if data.source != "pubmedqa":
        raise DataError(f"data source {data.source!r}: question/answer stages and tasks read 'pubmedqa'")
    items: list = []
    hashes: dict[str, str] = {}
    for split in data.splits:
        examples, sha = pubmedqa.examples_with_hash(split)
        items.extend(examples)
        hashes[f"pubmedqa/{split}"] = sha
    return Examples(tuple(items), hashes)


def spread(items: tuple, limit: int | None) -> tuple:
    """``limit`` items spread evenly over ``items`` (independent of the run seed, so every run of a
    suite and budget evaluates the same ones)."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return tuple(items[int(i * step)] for i in range(limit))


@dataclass(frozen=True)
class Corpus:
    """A stage's training documents in training order, and how many tokens they make."""

    texts: tuple[str, ...]
    tokens: int  # document tokens + one EOS per document (what the trainer sees)
    order_hash: str


def training_corpus(source: Texts, token_counts: list[int], cap: int | None, seed: int) -> Corpus:
    """Documents in a seeded order, taken while they fit in ``cap`` tokens (at least one).

    ``token_counts[i]`` is document i's length in tokens without EOS; each document costs one
    more token for the EOS the trainer appends.
    """
    order = list(range(len(source.texts)))
    random.Random(seed).shuffle(order)
    chosen: list[int] = []
    total = 0
    for index in order:
        cost = token_counts[index] + 1
        if cap is not None and chosen and total + cost > cap:
            break
        chosen.append(index)
        total += cost
    texts = tuple(source.texts[i] for i in chosen)
    digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()
    return Corpus(texts, total, digest)


def evaluation_documents(source: Texts, limit: int | None) -> tuple[str, ...]:
    return spread(source.texts, limit)


def task_inputs(task, sentences_per_doc: int, budget, probe_seed: int) -> tuple[tuple, dict[str, str]]:
    """What a task evaluates (documents, or cloze items) and the hashes of the files it came from."""
    from cptbench.data.probes import cloze_items

    if task.data is None:  # an lm-eval task with its own data
        return (), {}
    if task.kind in ("decision", "explanation"):
        examples = load_examples(task.data)
        limit = budget.eval_docs if task.kind == "decision" else budget.generation_items
        return spread(examples.items, limit), examples.data_hashes
    if task.kind == "cloze":
        domain, split = task.data.domain, task.data.splits[0]
        items = cloze_items(domain, split, budget.probe_items, probe_seed)
        return items, {f"crossner/{domain}/{split}": crossner.content_hash(domain, split)}
    source = load_texts(task.data, sentences_per_doc)
    return evaluation_documents(source, budget.eval_docs), source.data_hashes
