"""Reports from a run record alone: markdown tables and a heatmap (the metric consistency check
lives in cptbench.core.records and is re-exported here)."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cptbench.core import metrics
from cptbench.core.matrix import Direction, ResultMatrix
from cptbench.run.plan import method_label
from cptbench.core.records import load_record, matrix_from_record, verify_metrics  # noqa: F401 - re-exported
from cptbench.core.records import RunRecord

HEATMAP_DPI = 120
DASH = "—"
_ARROW = {Direction.HIGHER: "↑", Direction.LOWER: "↓"}


def _num(value: float | int | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0000"


def _table(header: list[str], rows: list[list[str]]) -> str:
    line = lambda cells: "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)]) + "\n"


def row_labels(record: RunRecord) -> list[str]:
    """``base`` then ``after <stage>`` for every stage: the matrix's row labels."""
    return ["base"] + [f"after {stage}" for stage in record.stages]


def _grid(record: RunRecord, cell: Callable[[int, int], float | None], arrow: Callable[[int], str]) -> str:
    """A (T+1) x N table of ``cell(t, j)``; cells of tasks aligned to row t's stage are bold."""
    header = ["after stage"] + [f"{task.name} {arrow(j)}" for j, task in enumerate(record.tasks)]
    rows = []
    for t, label in enumerate(row_labels(record)):
        cells = []
        for j, task in enumerate(record.tasks):
            text = _num(cell(t, j))
            cells.append(f"**{text}**" if task.stage == t and text != DASH else text)
        rows.append([label, *cells])
    return _table(header, rows)


def matrix_markdown(record: RunRecord) -> str:
    """The result matrix R[t][j] (4 decimals); bold = the task aligned to that row's stage."""
    arrows = [_ARROW[Direction(task.direction)] for task in record.tasks]
    return _grid(record, lambda t, j: record.matrix[t][j], lambda j: arrows[j])


def _perplexity(record: RunRecord, t: int, j: int) -> float | None:
    row = record.details[t] if t < len(record.details) else []
    return row[j].get("perplexity") if j < len(row) else None


def perplexity_markdown(record: RunRecord) -> str | None:
    """Token perplexity per cell from ``record.details``; None when no cell has one."""
    cells = range(len(record.matrix)), range(len(record.tasks))
    if all(_perplexity(record, t, j) is None for t in cells[0] for j in cells[1]):
        return None
    return _grid(record, lambda t, j: _perplexity(record, t, j), lambda j: "↓")


def metrics_markdown(record: RunRecord) -> str:
    """The record's stored metrics, in ``metrics.compute_all`` order, with direction and meaning."""
    rows = []
    for computed in metrics.compute_all(matrix_from_record(record)):
        stored = record.metrics.get(computed.key)
        direction = "higher is better" if computed.higher_is_better else "lower is better"
        rows.append([computed.name, computed.family, _num(stored), direction, computed.doc])
    return _table(["metric", "family", "value", "direction", "meaning"], rows)


def _header_lines(record: RunRecord) -> list[str]:
    suite, model, backend, timings = record.suite, record.model, record.backend, record.timings
    caps = f"train tokens/stage {suite.train_tokens or 'all'}, eval docs/task {suite.eval_docs or 'all'}"
    prefix = backend.get("prefix_token", DASH)
    prefix_id = f" (id {backend['prefix_token_id']})" if "prefix_token_id" in backend else ""
    window = ""
    if "max_length" in backend:
        window = f", window {backend['max_length']}, stride {backend.get('stride', DASH)}"
    seconds = {key: _num(timings.get(f"{key}_seconds"), 1) for key in ("total", "train", "eval")}
    rate = {key: _num(timings.get(f"{key}_tokens_per_second"), 0) for key in ("train", "eval")}
    losses = ", ".join(f"{s.stage} {_num(s.final_loss, 3)}" for s in record.training) or DASH
    return [
        f"# cptbench report: {suite.name} v{suite.version}",
        "",
        f"- **Suite**: {suite.name} v{suite.version} (hash `{suite.hash[:12]}`), "
        f"budget `{suite.budget}` ({caps})",
        f"- **Model**: `{model.reference}` ({model.source}, {model.parameters:,} parameters)",
        f"- **Seed**: {record.seed}",
        f"- **Method**: {method_label(record.method, record.recipes)}; stages run: {' → '.join(record.stages)}",
        f"- **Backend**: {backend.get('backend', DASH)}, prefix token `{prefix}`{prefix_id} before every "
        f"document, dtype {backend.get('dtype', DASH)}, device {backend.get('device', DASH)}{window}",
        f"- **Timings**: total {seconds['total']} s, train {seconds['train']} s, eval {seconds['eval']} s; "
        f"train {rate['train']} tokens/s, eval {rate['eval']} tokens/s",
        f"- **Training**: {sum(s.tokens for s in record.training):,} tokens in {len(record.training)} "
        f"stages; final loss {losses}",
        f"- **Created**: {record.created} with cptbench {record.cptbench_version}",
        "",
    ]


def summary_markdown(record: RunRecord) -> str:
    """The whole report: run header, result matrix, metrics, token perplexity (when recorded)."""
    parts = [
        "\n".join(_header_lines(record)),
        "## Result matrix\n\nRow t = the model after stage t (row 0: the base model); "
        "**bold** = the task aligned to that row's stage. ↓ lower is better, ↑ higher is better.\n",
        matrix_markdown(record),
        "## Metrics\n\nStored in the record; per metric family (`name[family]`).\n",
        metrics_markdown(record),
    ]
    perplexity = perplexity_markdown(record)
    if perplexity is not None:
        parts += ["## Token perplexity\n\nTokenizer-dependent: compare within one model only.\n", perplexity]
    return "\n".join(parts)


def gain_deltas(matrix: ResultMatrix) -> list[list[float]]:
    """s[t][j] - s[0][j]: each cell's change vs the base model, positive = better."""
    columns = range(len(matrix.tasks))
    return [[matrix.score(t, j) - matrix.score(0, j) for j in columns] for t in range(matrix.num_stages + 1)]


def heatmap_figsize(rows: int, columns: int) -> tuple[float, float]:
    """Figure size (inches) of the heatmap for ``rows`` x ``columns`` cells."""
    return (2.8 + 1.25 * columns, 1.9 + 0.55 * rows)


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
            ax.text(j, t, f"{value:.3f}", ha="center", va="center", color=colour,
                    fontsize=9, fontweight="bold" if aligned else "normal")
            if aligned:
                ax.add_patch(Rectangle((j - 0.5, t - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.5))
    ax.set_xticks(range(len(matrix.tasks)), [f"{c.name} {_ARROW[c.direction]}" for c in matrix.tasks],
                  rotation=30, ha="right")
    ax.set_yticks(range(len(deltas)), row_labels(record))
    ax.set_xlabel("task (text: value in native units; boxed: the stage's own task)")
    ax.set_ylabel("model")
    suite = record.suite
    ax.set_title(f"{suite.name} v{suite.version}: {record.model.reference}, seed {record.seed}")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("gain vs base (+ = better)")


def _write_atomic(path: Path, write: Callable[[str], object]) -> None:
    """``write(tmp)`` into a temp file beside ``path``, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_heatmap(record: RunRecord, path: Path) -> Path:
    """A PNG heatmap of the matrix coloured by each cell's gain vs the base row; written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    matrix = matrix_from_record(record)
    fig = Figure(figsize=heatmap_figsize(matrix.num_stages + 1, len(matrix.tasks)), dpi=HEATMAP_DPI)
    FigureCanvasAgg(fig)
    _draw_heatmap(fig, record, matrix)
    fig.tight_layout()
    _write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=HEATMAP_DPI))
    return path


def write_report(record: RunRecord, out_dir: Path) -> dict[str, Path]:
    """Write ``report.md``, ``heatmap.png`` and ``curves.png`` into ``out_dir``; returns their paths."""
    from cptbench.publish.compare import write_curves

    out_dir = Path(out_dir)
    markdown = out_dir / "report.md"
    text = summary_markdown(record)
    _write_atomic(markdown, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    written = {"markdown": markdown, "heatmap": write_heatmap(record, out_dir / "heatmap.png")}
    if record.stages:
        written["curves"] = write_curves(record, out_dir / "curves.png")
    return written
