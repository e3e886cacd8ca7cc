"""Runs side by side (metric deltas against the first), and per-task curves across stages."""

from __future__ import annotations

from pathlib import Path

from cptbench.core import metrics
from cptbench.run.plan import method_label
from cptbench.core.records import matrix_from_record
from cptbench.core.records import RunRecord


def _label(record: RunRecord) -> str:
    return (f"{record.model.reference} s{record.seed} ({record.suite.name} {record.suite.budget}, "
            f"{method_label(record.method, record.recipes)})")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def compare_markdown(*records: RunRecord) -> str:
    """Every metric any run has, one column per run, and each later run's delta against the first
    (A) with whether it is better (direction-aware)."""
    a, others = records[0], records[1:]
    names = [chr(ord("A") + i) for i in range(len(records))]
    directions = {}
    for record in records:
        for value in metrics.compute_all(matrix_from_record(record)):
            directions[value.key] = value.higher_is_better
    header = ["metric", *names, *(f"{n} − A" for n in names[1:]), *(f"{n} is" for n in names[1:])]
    lines = [
        *(f"- **{n}**: {_label(r)}" for n, r in zip(names, records)),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for key, higher in directions.items():
        values = [r.metrics.get(key) for r in records]
        deltas, verdicts = [], []
        for vb in values[1:]:
            if values[0] is None or vb is None:
                deltas.append("—")
                verdicts.append("—")
                continue
            delta = vb - values[0]
            deltas.append(f"{delta:+.4f}")
            verdicts.append("same" if delta == 0 else ("better" if (delta > 0) == higher else "worse"))
        lines.append("| " + " | ".join([key, *map(_fmt, values), *deltas, *verdicts]) + " |")
    if any(r.suite.hash != a.suite.hash or r.suite.budget != a.suite.budget for r in others):
        lines.append("\nNote: the runs differ in suite version or budget; compare with care.")
    return "\n".join(lines) + "\n"


def write_curves(record: RunRecord, path: Path) -> Path:
    """One small panel per task: its value after each stage (native units), its own stage marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from cptbench.publish.report import _write_atomic

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
