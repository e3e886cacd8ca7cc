"""Two runs side by side (metric deltas), and per-task curves across stages."""

from __future__ import annotations

from pathlib import Path

from cptbench import metrics
from cptbench.records import matrix_from_record
from cptbench.schemas import RunRecord


def _label(record: RunRecord) -> str:
    return f"{record.model.reference} s{record.seed} ({record.suite.name} {record.suite.budget})"


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def compare_markdown(a: RunRecord, b: RunRecord) -> str:
    """Every metric either run has: A, B, B − A, and whether B is better (direction-aware)."""
    directions = {}
    for record in (a, b):
        for value in metrics.compute_all(matrix_from_record(record)):
            directions[value.key] = value.higher_is_better
    lines = [
        f"## {_label(a)} (A) vs {_label(b)} (B)\n",
        "| metric | A | B | B − A | B is |",
        "|---|---|---|---|---|",
    ]
    for key, higher in directions.items():
        va, vb = a.metrics.get(key), b.metrics.get(key)
        if va is None or vb is None:
            lines.append(f"| {key} | {_fmt(va)} | {_fmt(vb)} | — | — |")
            continue
        delta = vb - va
        verdict = "same" if delta == 0 else ("better" if (delta > 0) == higher else "worse")
        lines.append(f"| {key} | {_fmt(va)} | {_fmt(vb)} | {delta:+.4f} | {verdict} |")
    if a.suite.hash != b.suite.hash or a.suite.budget != b.suite.budget:
        lines.append("\nNote: the runs differ in suite version or budget; compare with care.")
    return "\n".join(lines) + "\n"


def write_curves(record: RunRecord, path: Path) -> Path:
    """One small panel per task: its value after each stage (native units), its own stage marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from cptbench.report import _write_atomic

    matrix = matrix_from_record(record)
    columns = min(4, len(matrix.tasks))
    rows = -(-len(matrix.tasks) // columns)
    fig = Figure(figsize=(3.2 * columns, 2.4 * rows), dpi=110)
    FigureCanvasAgg(fig)
    labels = ["base", *matrix.stages]
    for j, task in enumerate(matrix.tasks):
        axis = fig.add_subplot(rows, columns, j + 1)
        axis.plot(range(len(labels)), [row[j] for row in matrix.values], marker="o")
        if task.stage is not None:
            axis.axvline(task.stage, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"{task.name} ({'↑' if task.direction.value == 'higher' else '↓'})", fontsize=9)
        axis.set_xticks(range(len(labels)), labels, rotation=45, fontsize=7)
        axis.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    _write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    return Path(path)
