"""The registry of data sources: a suite names one by ``data.source``.

Adding a source is one module with a ``DataSource`` subclass (``cptbench.data.base``; its files
come through ``cptbench.data.cache.Upstream``) plus one entry in ``SOURCES``.
"""

from __future__ import annotations

from cptbench.core.errors import DataError
from cptbench.core.spec import DataSpec
from cptbench.data.base import DataSource
from cptbench.data.corpus import Examples, Texts
from cptbench.data.crossner import CrossNER
from cptbench.data.facts import Facts
from cptbench.data.hf import HuggingFace
from cptbench.data.pubmedqa import PubMedQA

SOURCES: dict[str, DataSource] = {source.name: source for source in (CrossNER(), PubMedQA(), HuggingFace(), Facts())}


def get_source(name: str) -> DataSource:
    if name not in SOURCES:
        raise DataError(f"data source {name!r} is not one of {', '.join(sorted(SOURCES))}")
    return SOURCES[name]


def load_texts(data: DataSpec, sentences_per_doc: int, *, max_items: int | None = None,
               max_bytes: int | None = None) -> Texts:
    """The documents of ``data``; a streaming source stops reading at ``max_items`` documents or
    ``max_bytes`` UTF-8 bytes (what the budget takes), the others hand out everything. Documents
    that all render empty (a template naming empty fields) are an error: a stage would train on
    end-of-text tokens only, a task would divide by zero bytes."""
    texts = get_source(data.source).texts(data, sentences_per_doc, max_items=max_items, max_bytes=max_bytes)
    if texts.texts and not any(text.strip() for text in texts.texts):
        raise DataError(f"{describe(data, 'text')}: all {len(texts.texts)} documents render empty (check the template and the data)")
    return texts


def describe(data: DataSpec, field: str = "") -> str:
    """Where ``data`` is named, for an error line: the suite file and field for ``source: hf``."""
    if data.hf is not None:
        return f"{data.hf.origin}.{field}" if field else data.hf.origin
    return "/".join(part for part in (data.source, data.domain, "+".join(data.splits)) if part)


def check_documents(texts: tuple[str, ...], data: DataSpec, what: str) -> None:
    """Every document ``what`` scores has text (a bits-per-byte of an empty document is undefined)."""
    for i, text in enumerate(texts):
        if not text.strip():
            raise DataError(f"{describe(data, 'text')}: document {i} of the {len(texts)} {what} evaluates renders empty "
                            f"(bits per byte need text in every document; filter the data or fix the template)")


def load_examples(data: DataSpec) -> Examples:
    return get_source(data.source).examples(data)


def load_choices(data: DataSpec, max_items: int | None = None) -> Examples:
    return get_source(data.source).choices(data, max_items)


def pinned_hashes(data: DataSpec) -> dict[str, str]:
    return get_source(data.source).pinned_hashes(data)
