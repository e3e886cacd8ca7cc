"""A run's figures: the matrix as a heatmap coloured by gain vs the base model, per-task curves
across stages, and the plasticity–forgetting plane of several configurations.
matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cptbench.core.io import atomic_path
from cptbench.core.matrix import Direction, ResultMatrix
from cptbench.core.records import RunRecord, matrix_from_record
from cptbench.core.uncertainty import Interval
from cptbench.publish.format import ARROW, number, row_labels
from cptbench.publish.tradeoff import ORANGE, Point, axis_titles, spread_labels

HEATMAP_DPI = 120
CURVES_DPI = 110


def gain_deltas(matrix: ResultMatrix) -> list[list[float]]:
    """s[t][j] - s[0][j]: each cell's change vs the base model, positive = better."""
    columns = range(len(matrix.tasks))
    return [[matrix.score(t, j) - matrix.score(0, j) for j in columns] for t in range(matrix.num_stages + 1)]


def heatmap_figsize(rows: int, columns: int) -> tuple[float, float]:
    """Figure size (inches) of the heatmap for ``rows`` x ``columns`` cells."""
    return (2.8 + 1.25 * columns, 1.9 + 0.55 * rows)


def _figure(size: tuple[float, float], dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path, dpi: int) -> Path:
    """Lay out and write ``fig`` as a PNG, atomically."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def _draw_heatmap(fig, record: RunRecord, matrix: ResultMatrix) -> None:
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle

    deltas = gain_deltas(matrix)
    limit = max((abs(d) for row in deltas for d in row), default=0.0) or 1.0
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(deltas, cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit, limit), aspect="auto")
    for t, row in enumerate(matrix.values):
        for j, value in enumerate(row):
            aligned = matrix.tasks[j].stage == t
            colour = "white" if abs(deltas[t][j]) > 0.6 * limit else "black"
            ax.text(j, t, number(value, 3, zero_sign=True), ha="center", va="center", color=colour,
                    fontsize=9, fontweight="bold" if aligned else "normal")
            if aligned:
                ax.add_patch(Rectangle((j - 0.5, t - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.5))
    ax.set_xticks(range(len(matrix.tasks)), [f"{c.name} {ARROW[c.direction]}" for c in matrix.tasks],
                  rotation=30, ha="right")
    ax.set_yticks(range(len(deltas)), row_labels(record.stages))
    ax.set_xlabel("task (text: value in native units; boxed: the stage's own task)")
    ax.set_ylabel("model")
    suite = record.suite
    ax.set_title(f"{suite.name} v{suite.version}: {record.model.reference}, seed {record.seed}")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("gain vs base (+ = better)")


def write_heatmap(record: RunRecord, path: Path) -> Path:
    """A PNG heatmap of the matrix coloured by each cell's gain vs the base row."""
    matrix = matrix_from_record(record)
    fig = _figure(heatmap_figsize(matrix.num_stages + 1, len(matrix.tasks)), HEATMAP_DPI)
    _draw_heatmap(fig, record, matrix)
    return _save(fig, Path(path), HEATMAP_DPI)


def write_curves(record: RunRecord, path: Path) -> Path:
    """One small panel per task: its value after each stage (native units), its own stage marked."""
    matrix = matrix_from_record(record)
    columns = min(4, len(matrix.tasks))
    rows = -(-len(matrix.tasks) // columns)
    fig = _figure((3.2 * columns, 2.4 * rows), CURVES_DPI)
    labels = ["base", *matrix.stages]
    for j, task in enumerate(matrix.tasks):
        axis = fig.add_subplot(rows, columns, j + 1)
        axis.plot(range(len(labels)), [row[j] for row in matrix.values], marker="o")
        if task.stage is not None:
            axis.axvline(task.stage, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"{task.name} ({ARROW[Direction(task.direction)]})", fontsize=9)
        axis.set_xticks(range(len(labels)), labels, rotation=45, fontsize=7)
        axis.tick_params(axis="y", labelsize=7)
    return _save(fig, Path(path), CURVES_DPI)


def write_stage_curves(record: RunRecord, path: Path) -> Path:
    """One panel per stage: each curve task against the optimizer step inside the stage (step 0 is the
    row before it). The first metric family is on the left axis, the others dashed on the right."""
    curves = record.curves or []
    metric_of = {t.name: t.metric for t in record.tasks}
    colour = {t.name: f"C{j % 10}" for j, t in enumerate(record.tasks)}  # a task keeps its colour in every panel
    columns = min(3, len(curves))
    rows = -(-len(curves) // columns)
    fig = _figure((4.2 * columns, 3.0 * rows), CURVES_DPI)
    for k, curve in enumerate(curves):
        axis = fig.add_subplot(rows, columns, k + 1)
        families = list(dict.fromkeys(metric_of[name] for name in curve.tasks))
        right = axis.twinx() if len(families) > 1 else None
        for j, name in enumerate(curve.tasks):
            on_left = metric_of[name] == families[0]
            (axis if on_left else right).plot(curve.steps, [point[j] for point in curve.values], marker=".", color=colour[name],
                                              linestyle="-" if on_left else "--", label=name)
        axis.set_title(f"stage {k + 1}: {curve.stage}", fontsize=9)
        axis.set_xlabel("optimizer step", fontsize=8)
        axis.set_ylabel(families[0], fontsize=8)
        axis.tick_params(labelsize=7)
        if right is not None:
            right.set_ylabel(", ".join(families[1:]), fontsize=8)
            right.tick_params(labelsize=7)
        handles = [h for a in (axis, right) if a is not None for h in a.get_legend_handles_labels()[0]]
        axis.legend(handles=handles, fontsize=6, loc="best")
    return _save(fig, Path(path), CURVES_DPI)


def tradeoff_figure(points: Sequence[Point], family: str, title: str):
    """The plasticity–forgetting plane (``cptbench.publish.tradeoff``) as a matplotlib figure: each
    drawn point with its 95 % interval bars on both axes, naive points as orange squares, and the
    labels in a column at the right of the plot, each joined to its point, so that they never
    overlap however close the points are."""
    from matplotlib.lines import Line2D

    fig = _figure((9.6, 5.0), CURVES_DPI)
    axis = fig.add_subplot(1, 1, 1)
    drawn = [p for p in points if p.drawn]
    for point in drawn:
        colour = ORANGE if point.naive else "C0"
        errors = [_error(point.x, point.x_interval), _error(point.y, point.y_interval)]
        axis.errorbar([point.x], [point.y], xerr=errors[0], yerr=errors[1], fmt="s" if point.naive else "o",
                      color=colour, ecolor=colour, elinewidth=1.2, capsize=3, markersize=7)
    axis.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
    x_title, y_title = axis_titles(family)
    axis.set_xlabel(x_title)
    axis.set_ylabel(y_title)
    axis.set_title(title, fontsize=9)
    axis.text(0.98, 0.03, "better ↘", transform=axis.transAxes, ha="right", color="grey", fontsize=9)
    handles = [Line2D([], [], marker="o", color="C0", linestyle="", label="configuration (bars: 95 % intervals)"),
               Line2D([], [], marker="s", color=ORANGE, linestyle="", label="naive")]
    axis.legend(handles=handles, fontsize=8, loc="best")
    fig.subplots_adjust(left=0.08, right=0.64, top=0.93, bottom=0.11)
    _label_column(fig, axis, drawn)
    return fig


LABEL_POINTS = 9  # the labels' font size; a label line is 1.5 of it


def _label_column(fig, axis, drawn: Sequence[Point]) -> None:
    """Each point's label beside the axes at the right, in the points' vertical order (``spread_labels``)."""
    axis.get_xlim(), axis.get_ylim()  # settle the autoscaled limits before reading positions
    to_axes = axis.transData + axis.transAxes.inverted()
    depth = [1.0 - to_axes.transform((p.x, p.y))[1] for p in drawn]  # from the top, as spread_labels counts
    order = sorted(range(len(drawn)), key=lambda i: depth[i])
    gap = 1.5 * LABEL_POINTS / (axis.get_position().height * fig.get_figheight() * 72)
    rows = spread_labels([depth[i] for i in order], gap, gap / 2, 1.0 - gap / 2)
    for i, row in zip(order, rows):
        colour = ORANGE if drawn[i].naive else "C0"
        axis.annotate(drawn[i].label, (drawn[i].x, drawn[i].y), xytext=(1.04, 1.0 - row), textcoords="axes fraction",
                      va="center", fontsize=LABEL_POINTS, color=colour, annotation_clip=False,
                      arrowprops={"arrowstyle": "-", "color": "#bbbbbb", "linestyle": ":", "linewidth": 0.8})


def write_tradeoff(points: Sequence[Point], family: str, path: Path, title: str) -> Path:
    """``tradeoff_figure`` written as a PNG, atomically."""
    fig = tradeoff_figure(points, family, title)
    with atomic_path(Path(path)) as tmp:  # laid out by hand: tight_layout would squeeze the label column
        fig.savefig(tmp, format="png", dpi=CURVES_DPI)
    return Path(path)


def _error(value: float, interval: Interval | None) -> list[list[float]] | None:
    """matplotlib's asymmetric error of ``value`` (a percentile interval need not contain the mean's estimate)."""
    return None if interval is None else [[max(0.0, value - interval.low)], [max(0.0, interval.high - value)]]
