"""The presentation kit every page shares: one number format, one markdown table, one arrow per
direction, and the result matrix's row labels."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from cptbench.core.matrix import Direction

DASH = "—"
"""An undefined value (None, NaN, infinity)."""
ARROW = {Direction.HIGHER: "↑", Direction.LOWER: "↓"}


def arrow(higher_is_better: bool) -> str:
    return ARROW[Direction.HIGHER if higher_is_better else Direction.LOWER]


def number(value: float | None, digits: int = 4, *, signed: bool = False, zero_sign: bool = False) -> str:
    """``value`` with ``digits`` decimals, ``DASH`` when undefined; ``signed`` prefixes ``+`` to
    positive values. A value that rounds to zero prints without a sign ("0.0000", never "-0.0000")
    unless ``zero_sign``."""
    if value is None or not math.isfinite(value):
        return DASH
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text if zero_sign or float(text) != 0 else text.lstrip("+-")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table, one line per row and a final newline; ``|`` inside a cell is escaped."""
    line = lambda cells: "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)]) + "\n"


def row_labels(stages: Sequence[str]) -> list[str]:
    """``base`` then ``after <stage>`` for every stage: the result matrix's row labels."""
    return ["base"] + [f"after {stage}" for stage in stages]
