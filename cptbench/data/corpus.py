"""What data sources hand out: documents (``Texts``), labelled questions (``Examples``), and a
stage's training documents in training order (``Corpus``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    """Documents plus the sha256 of every raw file they came from (keys ``source/domain/split``)."""

    texts: tuple[str, ...]
    data_hashes: dict[str, str]


@dataclass(frozen=True)
class Examples:
    """Question/answer items (e.g. PubMedQA) for an SFT / GRPO stage or a question task."""

    items: tuple
    data_hashes: dict[str, str]


@dataclass(frozen=True)
class Corpus:
    """A stage's training documents in training order, and how many tokens they make."""

    texts: tuple[str, ...]
    tokens: int  # document tokens + one EOS per document (what the trainer sees)
    order_hash: str


def spread(items: tuple, limit: int | None) -> tuple:
    """``limit`` items spread evenly over ``items`` (independent of the run seed, so every run of a
    suite and budget evaluates the same ones)."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return tuple(items[int(i * step)] for i in range(limit))
