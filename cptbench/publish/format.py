"""The presentation kit every page shares: one number format, one markdown table, one arrow per
direction, and the result matrix's row labels."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from cptbench.core.matrix import Direction
from cptbench.core.uncertainty import Interval

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


def spanned(value: float | None, interval: Interval | None, digits: int = 4, *, signed: bool = False) -> str:
    """``value [low, high]`` (its 95 % interval), or the value alone when it has none."""
    text = number(value, digits, signed=signed)
    if interval is None or text == DASH:
        return text
    return f"{text} [{number(interval.low, digits, signed=signed)}, {number(interval.high, digits, signed=signed)}]"


def plus_minus(value: float | None, interval: Interval | None, digits: int = 4) -> str:
    """``value ±h``, h = half the 95 % interval's width (compact, for matrix cells)."""
    text = number(value, digits)
    return text if interval is None or text == DASH else f"{text} ±{interval.half_width:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table, one line per row and a final newline; ``|`` inside a cell is escaped."""
    line = lambda cells: "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)]) + "\n"


def row_labels(stages: Sequence[str]) -> list[str]:
    """``base`` then ``after <stage>`` for every stage: the result matrix's row labels."""
    return ["base"] + [f"after {stage}" for stage in stages]
