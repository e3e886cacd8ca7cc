"""The plasticity–forgetting plane: one point per configuration (a leaderboard row, or one side of
``cptbench report A B …``) at x = plasticity[family], y = forgetting_max[family] of its seed mean,
with the 95 % interval bars the report and the board already compute (``cptbench.core.uncertainty``)
on both axes; the naive configuration (the record's method name ``naive``) is marked.

The family is the suite's ranked one (``ranked_family``: bits-per-byte, else log-prob, else the
first aligned family). Learning more is to the right, forgetting less is down: the best corner is
the bottom right. ``tradeoff_svg`` draws it as inline SVG for the leaderboard page (written by hand:
no matplotlib, identical bytes on every run); ``cptbench.publish.figures.write_tradeoff`` as a PNG.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cptbench.core import metrics
from cptbench.core.matrix import Direction
from cptbench.core.records import RunRecord
from cptbench.core.uncertainty import Interval, Summary
from cptbench.run.plan import method_label

PREFERRED_FAMILIES = ("bpb", "logprob")
"""The families ranked when a stage's own task has one, in this order: bits-per-byte does not depend
on the tokenizer, and both are continuous (they resolve differences that accuracy rounds away)."""
X_METRIC, Y_METRIC = "plasticity", "forgetting_max"
LABEL_CHARACTERS = 28  # a point's label beside it; the full name is its tooltip


def ranked_family(aligned: Sequence[str], every: Sequence[str]) -> str:
    """The first of ``PREFERRED_FAMILIES`` among the families of the stages' own tasks (``aligned``),
    else the first of them; a suite without aligned tasks: the same among ``every`` task's family."""
    candidates = list(aligned) or list(every)
    return next((family for family in PREFERRED_FAMILIES if family in candidates), candidates[0])


def record_family(record: RunRecord) -> str:
    """``ranked_family`` of a run record's tasks."""
    return ranked_family([t.metric for t in record.tasks if t.stage is not None], [t.metric for t in record.tasks])


def is_naive(record: RunRecord) -> bool:
    """Plain sequential training: the naive method with the recipes' defaults (no replay, no LoRA,
    no other schedule), the reference every other point is read against."""
    method = getattr(record, "method", None)
    return method is not None and method_label(method, record.recipes) == "naive"


def _higher(name: str) -> bool:
    return next(m for m in metrics.METRICS if m.name == name).direction is Direction.HIGHER


def axis_titles(family: str) -> tuple[str, str]:
    """The x and y axis titles, each saying which direction is better."""
    x, y = (f"{name}[{family}] ({'higher' if _higher(name) else 'lower'} is better)" for name in (X_METRIC, Y_METRIC))
    return x, y


@dataclass(frozen=True)
class Point:
    """One configuration on the plane; an undefined coordinate (a one-stage run has no forgetting)
    leaves it out of the picture."""

    label: str  # short, drawn beside the point
    name: str  # the full name, shown on hover
    x: float | None
    y: float | None
    x_interval: Interval | None
    y_interval: Interval | None
    naive: bool

    @property
    def drawn(self) -> bool:
        return all(v is not None and math.isfinite(v) for v in (self.x, self.y))


def point(label: str, name: str, summary: Summary, family: str, naive: bool) -> Point:
    x, y = f"{X_METRIC}[{family}]", f"{Y_METRIC}[{family}]"
    return Point(label, name, summary.estimates.get(x), summary.estimates.get(y),
                 summary.metrics.get(x), summary.metrics.get(y), naive)


def short_name(ids: Sequence[str], limit: int = LABEL_CHARACTERS) -> str:
    """A row's name for a label, without its seed: one id less a seed suffix (``x-s0`` -> ``x``); several
    (the seeds of one configuration) by their common prefix less a seed suffix (``facts-naive-s0,
    facts-naive-s1`` -> ``facts-naive``), else the first id and how many more; at most ``limit``
    characters (``…``)."""
    if len(ids) == 1:
        text = re.sub(r"[-_.](s|seed)\d+$", "", ids[0]) or ids[0]
    else:
        prefix = re.sub(r"([-_.](s|seed))?[-_.]*$", "", _common_prefix(ids))
        text = prefix if len(prefix) >= 3 else f"{ids[0]} +{len(ids) - 1}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _common_prefix(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)
    size = next((i for i, (a, b) in enumerate(zip(first, last)) if a != b), min(len(first), len(last)))
    return first[:size]


# --- scales ----------------------------------------------------------------------------------


def domain(values: Sequence[float]) -> tuple[float, float]:
    """The range of ``values`` padded by 8 % on each side (a single value: ± 10 % of it, or ± 1)."""
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or abs(low) * 0.1 or 1.0
    return low - pad, high + pad


def ticks(low: float, high: float, count: int = 5) -> tuple[list[float], int]:
    """Round tick values inside [low, high] (steps of 1, 2, 2.5 or 5 × 10^k) and the decimals to print."""
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m for m in (1, 2, 2.5, 5, 10) if m * power >= raw) * power
    decimals = next(d for d in range(13) if abs(round(step, d) - step) <= step * 1e-6)
    first = math.ceil(low / step - 1e-9)
    values = [round((first + i) * step, 12) for i in range(int((high - low) / step + 1e-9) + 2)]
    return [v for v in values if low <= v <= high], decimals


def tick_text(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text.replace("-", "−")


# --- SVG -------------------------------------------------------------------------------------

LEFT, TOP, PLOT_W, PLOT_H, BELOW = 78, 16, 380, 300, 66
LABEL_GAP, LABEL_W, LINE = 26, 196, 15
BLUE, ORANGE, GREY = "#1f5fa8", "#d95f02", "#888"


def _f(value: float) -> str:
    """A coordinate: one decimal, no ``-0.0``."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bounds(interval: Interval | None, value: float) -> tuple[float, float]:
    return (value, value) if interval is None else (interval.low, interval.high)


class _Scale:
    def __init__(self, points: Sequence[Point]):
        xs = [v for p in points for v in (p.x, *_bounds(p.x_interval, p.x))]
        ys = [v for p in points for v in (p.y, *_bounds(p.y_interval, p.y))]
        self.x_domain, self.y_domain = domain(xs), domain(ys)

    def x(self, value: float) -> float:
        low, high = self.x_domain
        return LEFT + (value - low) / (high - low) * PLOT_W

    def y(self, value: float) -> float:
        low, high = self.y_domain
        return TOP + PLOT_H - (value - low) / (high - low) * PLOT_H


def spread_labels(heights: Sequence[float], gap: float, top: float, bottom: float) -> list[float]:
    """Positions for labels beside points at heights ``heights`` (sorted, growing downward): each
    as close to its point as ``gap`` apart allows, pushed down from ``top``, then back up where the
    last fell below ``bottom`` (below it only when ``gap`` apart cannot fit between the two)."""
    rows: list[float] = []
    for h in heights:
        rows.append(max(h, rows[-1] + gap) if rows else max(h, top))
    lowest = max(bottom, top + gap * (len(rows) - 1))
    for i in reversed(range(len(rows))):
        rows[i] = min(rows[i], lowest if i == len(rows) - 1 else rows[i + 1] - gap)
    return rows


def _label_rows(heights: Sequence[float]) -> list[float]:
    """Label baselines in the SVG's column at the right, ``LINE`` apart."""
    return spread_labels(heights, LINE, TOP + 6, TOP + PLOT_H)


def _axes(scale: _Scale, family: str) -> list[str]:
    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="#fff" stroke="#999"/>']
    xs, x_decimals = ticks(*scale.x_domain)
    for v in xs:
        x = _f(scale.x(v))
        parts.append(f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{TOP + PLOT_H}" stroke="#eee"/>'
                     f'<text x="{x}" y="{TOP + PLOT_H + 14}" text-anchor="middle">{tick_text(v, x_decimals)}</text>')
    ys, y_decimals = ticks(*scale.y_domain)
    for v in ys:
        y = _f(scale.y(v))
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + PLOT_W}" y2="{y}" stroke="#eee"/>'
                     f'<text x="{LEFT - 5}" y="{_f(scale.y(v) + 4)}" text-anchor="end">{tick_text(v, y_decimals)}</text>')
    if scale.y_domain[0] < 0 < scale.y_domain[1]:  # no forgetting
        y = _f(scale.y(0.0))
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + PLOT_W}" y2="{y}" stroke="{GREY}" stroke-dasharray="4 3"/>')
    if scale.x_domain[0] < 0 < scale.x_domain[1]:  # learned nothing
        x = _f(scale.x(0.0))
        parts.append(f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{TOP + PLOT_H}" stroke="{GREY}" stroke-dasharray="4 3"/>')
    x_title, y_title = axis_titles(family)
    middle = TOP + PLOT_H / 2
    parts += [
        f'<text x="{LEFT + PLOT_W - 6}" y="{TOP + PLOT_H - 8}" text-anchor="end" fill="{GREY}">better ↘</text>',
        f'<text x="{_f(LEFT + PLOT_W / 2)}" y="{TOP + PLOT_H + 34}" text-anchor="middle">{_e(x_title)}</text>',
        f'<text transform="translate(14 {_f(middle)}) rotate(-90)" text-anchor="middle">{_e(y_title)}</text>',
    ]
    return parts


def _marker(x: float, y: float, naive: bool) -> str:
    if naive:
        return f'<rect x="{_f(x - 5)}" y="{_f(y - 5)}" width="10" height="10" fill="{ORANGE}"/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="5" fill="{BLUE}"/>'


def _hover(p: Point, family: str) -> str:
    def shown(value: float, interval: Interval | None) -> str:
        bounds = "" if interval is None else f" [{interval.low:.4f}, {interval.high:.4f}]"
        return f"{value:.4f}{bounds}"
    return (f"{p.name}{' (naive)' if p.naive else ''}: {X_METRIC}[{family}] {shown(p.x, p.x_interval)}, "
            f"{Y_METRIC}[{family}] {shown(p.y, p.y_interval)}")


def _point(p: Point, scale: _Scale, label_y: float, family: str) -> str:
    x, y = scale.x(p.x), scale.y(p.y)
    colour = ORANGE if p.naive else BLUE
    bars = []
    if p.x_interval is not None:
        low, high = scale.x(p.x_interval.low), scale.x(p.x_interval.high)
        bars.append(f'<line x1="{_f(low)}" y1="{_f(y)}" x2="{_f(high)}" y2="{_f(y)}" stroke="{colour}"/>')
    if p.y_interval is not None:
        low, high = scale.y(p.y_interval.low), scale.y(p.y_interval.high)
        bars.append(f'<line x1="{_f(x)}" y1="{_f(low)}" x2="{_f(x)}" y2="{_f(high)}" stroke="{colour}"/>')
    label_x = LEFT + PLOT_W + LABEL_GAP
    return (f'<g class="point{" naive" if p.naive else ""}" data-name="{_e(p.name)}"><title>{_e(_hover(p, family))}</title>'
            f'<line x1="{_f(x)}" y1="{_f(y)}" x2="{label_x - 4}" y2="{_f(label_y)}" stroke="#ccc" stroke-dasharray="2 2"/>'
            f'{"".join(bars)}{_marker(x, y, p.naive)}<text x="{label_x}" y="{_f(label_y + 4)}" fill="{colour}">{_e(p.label)}</text></g>')


def tradeoff_svg(points: Sequence[Point], family: str, svg_id: str = "tradeoff") -> str:
    """The plane as one ``<svg>`` element (``points`` that are not ``drawn`` are left out): each
    point a ``<g class="point">`` (``point naive`` for naive) with its interval bars, a leader to its
    label in the column at the right, and its full name and values as a tooltip. Empty without points."""
    drawn = [p for p in points if p.drawn]
    if not drawn:
        return ""
    scale = _Scale(drawn)
    order = sorted(drawn, key=lambda p: (scale.y(p.y), p.name))
    rows = _label_rows([scale.y(p.y) for p in order])
    height = round(max(TOP + PLOT_H, rows[-1]) + BELOW)
    width = LEFT + PLOT_W + LABEL_GAP + LABEL_W
    legend_y = height - 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{svg_id}" class="tradeoff" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="system-ui,sans-serif" font-size="12" role="img" '
        f'aria-label="{_e(f"{X_METRIC} against {Y_METRIC} ({family}), one point per configuration")}">',
        *_axes(scale, family),
        *(_point(p, scale, row, family) for p, row in zip(order, rows)),
        f'<circle cx="{LEFT + 5}" cy="{legend_y - 4}" r="5" fill="{BLUE}"/>'
        f'<text x="{LEFT + 15}" y="{legend_y}">a configuration (seed mean), bars: 95 % intervals</text>'
        f'<rect x="{LEFT + 320}" y="{legend_y - 9}" width="10" height="10" fill="{ORANGE}"/>'
        f'<text x="{LEFT + 335}" y="{legend_y}">naive</text>',
        "</svg>",
    ]
    return "".join(parts)
