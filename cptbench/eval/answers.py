"""Parsing generated PubMedQA answers (shared by GRPO rewards and evaluation).

Public API: ``DECISIONS``, ``strip_reasoning(text)``, ``split_answer(text)``.

A completion is an explanation followed by a line ``Answer: yes|no|maybe``. Models add markdown
("**Answer:** Yes."), reasoning blocks (``<think>...</think>``) or put the answer at the end of
the last sentence; all of those parse. The last answer line wins.
"""

from __future__ import annotations

import re

DECISIONS = ("yes", "no", "maybe")

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<think>.*", re.IGNORECASE | re.DOTALL)
_THINK_CLOSE = re.compile(r"^.*?</think>", re.IGNORECASE | re.DOTALL)
_MARKUP = r"[\s*_`#>-]*"
# "Answer: <anything>" on its own line (value may be no decision at all: that line still wins)
_ANSWER_LINE = re.compile(rf"^{_MARKUP}answer[\s*_`]*:(?P<value>.*)$", re.IGNORECASE)
# "... so it does. Answer: yes" at the end of a line: only with a real decision
_ANSWER_TAIL = re.compile(
    r"^(?P<before>.*\S)\s+[*_`]*answer[\s*_`]*:[\s*_`]*(?P<value>(?:yes|no|maybe)\b[\W_]*)$",
    re.IGNORECASE,
)
_DECISION = re.compile(r"[\s*_`\"'(\[]*(yes|no|maybe)\b", re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """``text`` without ``<think>...</think>`` blocks and surrounding whitespace.

    An unclosed ``<think>`` runs to the end (generation was cut off while reasoning); a lone
    ``</think>`` ends reasoning that began in the prompt (chat templates that open the block).
    """
    text = _THINK_BLOCK.sub("", text)
    text = _THINK_OPEN.sub("", text)
    return _THINK_CLOSE.sub("", text).strip()


def _decision(value: str) -> str | None:
    match = _DECISION.match(value)
    return match.group(1).lower() if match else None


def split_answer(text: str) -> tuple[str, str | None]:
    """``(explanation, decision)``: the text without reasoning and without the last answer line,
    and that line's yes/no/maybe (lower case), or None when there is no such line or value."""
    lines = strip_reasoning(text).split("\n")  # not splitlines(): U+2029 occurs inside answers
    for i in range(len(lines) - 1, -1, -1):
        own = _ANSWER_LINE.match(lines[i])
        tail = None if own else _ANSWER_TAIL.match(lines[i])
        if own or tail:
            kept = lines[:i] + ([tail.group("before")] if tail else []) + lines[i + 1 :]
            value = (own or tail).group("value")
            return "\n".join(kept).strip(), _decision(value)
    return "\n".join(lines).strip(), None
