"""What data sources hand out: documents (``Texts``), labelled questions (``Examples`` of items with
the ``Question`` fields), multiple-choice items (``Choice``), and a stage's training documents in
training order (``Corpus``)."""

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
class Question:
    """A question as stages and tasks read it from any source: the user prompt, the SFT target,
    the reference answer (GRPO reward, explanation score) and a short label (``Answer: <label>``)."""

    id: str
    prompt: str
    completion: str
    reference: str
    label: str | None


def user_turn(question) -> list[dict]:
    """A question's prompt as the one user message of a chat (how stages and tasks ask it)."""
    return [{"role": "user", "content": question.prompt}]


@dataclass(frozen=True)
class Choice:
    """A multiple-choice item (lm-eval's ``multiple_choice``): ``context + delimiter + choice``."""

    context: str
    choices: tuple[str, ...]
    answer: int  # index of the right choice
    delimiter: str = " "


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
