"""Reports from a run record alone: markdown tables, the run summary, and the report folder (the
metric consistency check lives in cptbench.core.records and is re-exported here)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from cptbench.core import metrics
from cptbench.core.io import write_text_atomic
from cptbench.core.matrix import Direction
from cptbench.core.records import RunRecord, load_record, matrix_from_record, verify_metrics  # noqa: F401 - re-exported
from cptbench.core.uncertainty import Interval, Summary, seed_spread, summarize
from cptbench.publish.figures import write_curves, write_heatmap, write_stage_curves
from cptbench.publish.format import ARROW, DASH, markdown_table, number, plus_minus, row_labels, spanned
from cptbench.run.plan import method_label

HEADLINE_METRICS = ("final", "plasticity", "bwt", "fwt", "forgetting_max", "general_retention")
"""The metrics a run summary shows per family (and a leaderboard ranks), by ``metrics.METRICS`` name."""


def _grid(record: RunRecord, cell: Callable[[int, int], str], arrow: Callable[[int], str],
          columns: Sequence[int]) -> str:
    """A (T+1) x len(columns) table of ``cell(t, j)`` (text); cells of tasks aligned to row t's stage are bold."""
    header = ["after stage"] + [f"{record.tasks[j].name} {arrow(j)}" for j in columns]
    rows = []
    for t, label in enumerate(row_labels(record.stages)):
        cells = []
        for j in columns:
            text = cell(t, j)
            cells.append(f"**{text}**" if record.tasks[j].stage == t and text != DASH else text)
        rows.append([label, *cells])
    return markdown_table(header, rows)


def matrix_markdown(record: RunRecord, summary: Summary | None = None) -> str:
    """The result matrix R[t][j] (4 decimals); bold = the task aligned to that row's stage. With a
    ``summary``, its mean matrix, each cell ± half its 95 % interval."""
    arrows = [ARROW[Direction(task.direction)] for task in record.tasks]
    if summary is None:
        return _grid(record, lambda t, j: number(record.matrix[t][j]), lambda j: arrows[j], range(len(record.tasks)))
    cell = lambda t, j: plus_minus(summary.matrix.values[t][j], summary.cells[t][j])  # noqa: E731
    return _grid(record, cell, lambda j: arrows[j], range(len(record.tasks)))


def _perplexity(record: RunRecord, t: int, j: int) -> float | None:
    row = record.details[t] if t < len(record.details) else []
    return row[j].get("perplexity") if j < len(row) else None


def perplexity_markdown(record: RunRecord) -> str | None:
    """Token perplexity per cell from ``record.details``, only the tasks that have one; None when none has."""
    rows = range(len(record.matrix))
    columns = [j for j in range(len(record.tasks)) if any(_perplexity(record, t, j) is not None for t in rows)]
    if not columns:
        return None
    return _grid(record, lambda t, j: number(_perplexity(record, t, j)), lambda j: ARROW[Direction.LOWER], columns)


def metrics_markdown(record: RunRecord, summary: Summary | None = None) -> str:
    """The record's stored metrics (with a ``summary``: its seed means), in ``metrics.compute_all``
    order, with their 95 % interval, direction and meaning."""
    rows = []
    for computed in metrics.compute_all(matrix_from_record(record)):
        value, interval = _metric(record, summary, computed.key)
        direction = "higher is better" if computed.higher_is_better else "lower is better"
        rows.append([computed.name, computed.family, number(value), _bounds(interval), direction, computed.doc])
    return markdown_table(["metric", "family", "value", "95 % interval", "direction", "meaning"], rows)


def _metric(record: RunRecord, summary: Summary | None, key: str) -> tuple[float | None, Interval | None]:
    if summary is None:
        return record.metrics.get(key), None
    return summary.estimates.get(key), summary.metrics.get(key)


def _bounds(interval: Interval | None) -> str:
    return DASH if interval is None else f"[{number(interval.low)}, {number(interval.high)}]"


def headline_markdown(record: RunRecord, summary: Summary | None = None) -> str:
    """``HEADLINE_METRICS`` as stored (with a ``summary``: with their 95 % intervals), one row per
    metric family (its arrow: the direction of its native units, hence of ``final``); a metric
    undefined for every family is left out."""
    directions = {task.metric: Direction(task.direction) for task in record.tasks}
    fixed = {m.name: m.direction for m in metrics.METRICS}  # None: the family's direction
    value = lambda name, family: record.metrics.get(f"{name}[{family}]")  # noqa: E731
    shown = lambda name, family: spanned(*_metric(record, summary, f"{name}[{family}]"))  # noqa: E731
    names = [name for name in HEADLINE_METRICS if any(value(name, family) is not None for family in directions)]
    header = ["family", *(f"{name} {ARROW[fixed[name]]}" if fixed[name] else name for name in names)]
    rows = [[f"{family} {ARROW[d]}", *(shown(name, family) for name in names)] for family, d in directions.items()]
    return markdown_table(header, rows)


def interval_note(summary: Summary, record: RunRecord) -> str:
    """How the intervals were computed, in one paragraph."""
    grid = record.cell_samples()
    counts = sorted({len(s) for row in grid for s in row if s is not None}) if grid else []
    items = f"{counts[0]}–{counts[-1]}" if len(counts) > 1 else (str(counts[0]) if counts else "no")
    seeds = f"the {len(summary.seeds)} seeds ({', '.join(map(str, summary.seeds))}) and " if len(summary.seeds) > 1 else ""
    return (f"[low, high]: 95 % intervals by a paired bootstrap over {seeds}the items every row scores "
            f"({items} per task; {summary.resamples} resamples, `cptbench.core.uncertainty`). "
            "An interval that includes 0 means the effect is not distinguishable from noise.\n")


def run_summary(record: RunRecord, run_dir: Path) -> str:
    """What ``cptbench run`` prints last: the matrix, the headline metrics with their intervals,
    where the full report is."""
    summary = summarize([record])
    return "\n".join([
        "Result matrix (**bold** = the stage's own task):\n",
        matrix_markdown(record),
        "Headline metrics per family:\n",
        headline_markdown(record, summary),
        interval_note(summary, record),
        f"Full report (every metric, token perplexity, heatmap, curves): `cptbench report {shlex.quote(str(run_dir))}`\n",
    ])


def _header_lines(record: RunRecord) -> list[str]:
    suite, model, backend, timings = record.suite, record.model, record.backend, record.timings
    caps = f"train tokens/stage {suite.train_tokens or 'all'}, eval docs/task {suite.eval_docs or 'all'}"
    prefix = backend.get("prefix_token", DASH)
    prefix_id = f" (id {backend['prefix_token_id']})" if "prefix_token_id" in backend else ""
    window = ""
    if "max_length" in backend:
        window = f", window {backend['max_length']}, stride {backend.get('stride', DASH)}"
    seconds = {key: number(timings.get(f"{key}_seconds"), 1) for key in ("total", "train", "eval")}
    rate = {key: number(timings.get(f"{key}_tokens_per_second"), 0) for key in ("train", "eval")}
    losses = ", ".join(f"{s.stage} {number(s.final_loss, 3)}" for s in record.training) or DASH
    attempts = record.attempts or []
    over = f" over {len(attempts)} attempts ({', '.join(number(a, 1) for a in attempts)} s)" if len(attempts) > 1 else ""
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
        f"- **Timings**: total {seconds['total']} s{over}, train {seconds['train']} s, eval {seconds['eval']} s; "
        f"train {rate['train']} tokens/s, eval {rate['eval']} tokens/s",
        f"- **Training**: {sum(s.tokens for s in record.training):,} tokens in {len(record.training)} "
        f"stages; final loss {losses}",
        f"- **Created**: {record.created} with cptbench {record.cptbench_version}",
        "",
    ]


def summary_markdown(record: RunRecord) -> str:
    """The whole report: run header, result matrix, metrics (with intervals), token perplexity."""
    summary = summarize([record])
    parts = [
        "\n".join(_header_lines(record)),
        "## Result matrix\n\nRow t = the model after stage t (row 0: the base model); "
        "**bold** = the task aligned to that row's stage. ↓ lower is better, ↑ higher is better; "
        "±: half the cell's 95 % interval.\n",
        matrix_markdown(record, summary),
        "## Metrics\n\nStored in the record; per metric family (`name[family]`).\n",
        metrics_markdown(record, summary),
        interval_note(summary, record),
    ]
    perplexity = perplexity_markdown(record)
    if perplexity is not None:
        parts += ["## Token perplexity\n\nTokenizer-dependent: compare within one model only.\n", perplexity]
    if record.curves:
        parts += ["## Inside the stages\n\nEarlier stages' and general tasks while a stage trains "
                  "(`stage_curves.png`): the value at the stage's start, its worst point inside the stage "
                  "(a dip that recovers is the stability gap) and its value at the end.\n", stage_curves_markdown(record)]
    return "\n".join(parts)


def stage_curves_markdown(record: RunRecord) -> str:
    """Per stage, every curve task that is not the stage's own: start, worst point (step), end."""
    columns = {t.name: t for t in record.tasks}
    rows = []
    for index, curve in enumerate(record.curves or [], start=1):
        for j, name in enumerate(curve.tasks):
            column = columns[name]
            if column.stage == index:
                continue
            values = [point[j] for point in curve.values]
            sign = 1 if column.direction == "higher" else -1
            worst = min(range(len(values)), key=lambda i: sign * values[i])
            rows.append([curve.stage, name, number(values[0]), f"{number(values[worst])} (step {curve.steps[worst]})",
                         number(values[-1]), number(sign * (values[worst] - values[0]))])
    return markdown_table(["stage", "task", "start", "worst (step)", "end", "worst − start (gain)"], rows)


def seeds_markdown(group: Sequence[RunRecord]) -> str:
    """Several seeds of one configuration: the mean matrix (± its interval), every metric's mean
    with its interval over seeds and items, and the seeds' own spread."""
    summary = summarize(group)
    first = group[0]
    spread = seed_spread(group)
    rows = []
    for computed in metrics.compute_all(summary.matrix):
        interval = summary.metrics.get(computed.key)
        per_seed = ", ".join(number(r.metrics.get(computed.key)) for r in group)
        rows.append([computed.key, number(computed.value), _bounds(interval), number(spread.get(computed.key)), per_seed])
    return "\n".join([
        f"# {first.suite.name} v{first.suite.version}, budget `{first.suite.budget}`: "
        f"{first.model.reference}, {method_label(first.method, first.recipes)}, seeds {', '.join(str(r.seed) for r in group)}\n",
        "## Mean result matrix (± half the 95 % interval)\n",
        matrix_markdown(first, summary),
        "## Metrics\n",
        markdown_table(["metric", "mean", "95 % interval", "seed sd", "per seed"], rows),
        interval_note(summary, first),
    ])


def write_report(record: RunRecord, out_dir: Path) -> dict[str, Path]:
    """Write ``report.md``, ``heatmap.png`` and ``curves.png`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    markdown = out_dir / "report.md"
    write_text_atomic(markdown, summary_markdown(record), mode=None)
    written = {"markdown": markdown, "heatmap": write_heatmap(record, out_dir / "heatmap.png")}
    if record.stages:
        written["curves"] = write_curves(record, out_dir / "curves.png")
    if record.curves:
        written["stage_curves"] = write_stage_curves(record, out_dir / "stage_curves.png")
    return written
