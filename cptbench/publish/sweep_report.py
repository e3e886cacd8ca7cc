"""A finished sweep's report: per configuration (method, order) the multi-seed view, then every
configuration against the first (the first method of ``--methods`` is the reference), and the
status table of ``cptbench sweep status``."""

from __future__ import annotations

from pathlib import Path

from cptbench.core.io import write_text_atomic
from cptbench.core.records import load_verified_record
from cptbench.publish.compare import check_seed_group, compare_markdown
from cptbench.publish.format import DASH, markdown_table
from cptbench.publish.report import seeds_markdown, summary_markdown
from cptbench.run.sweep import SweepDir, SweepError
from cptbench.run.sweep_jobs import PointStatus, State


def sweep_markdown(where: SweepDir) -> str:
    """The report of a sweep whose points have all finished (else one SweepError naming them)."""
    grid = where.load().grid
    groups = grid.configurations(where.root)
    missing = [p.name for group in groups for p in group if not (p.run_dir / "record.json").exists()]
    if missing:
        raise SweepError(f"{where.root}: {len(missing)} point(s) not finished, e.g. {missing[0]} "
                         f"(cptbench sweep status {where.root})")
    records = []
    for group in groups:
        loaded = [load_verified_record(p.run_dir) for p in group]
        check_seed_group(loaded, f"{where.root} {group[0].method.spec}, order {group[0].order}")
        records.append(loaded)
    parts = [f"# Sweep `{where.root}`\n",
             f"Suite {grid.suite_name}, budget `{grid.budget}`, model {grid.model}; methods {', '.join(grid.methods)}; "
             f"orders {', '.join(grid.orders)}; seeds {', '.join(str(s) for s in grid.seeds)}.\n"]
    for group in records:
        parts.append(seeds_markdown(group) if len(group) > 1 else summary_markdown(group[0]))
    if len(records) > 1:
        parts += ["# Configurations compared (each against A)\n", compare_markdown(*records)]
    return "\n".join(parts)


def write_sweep_report(where: SweepDir) -> tuple[str, Path]:
    text = sweep_markdown(where)
    write_text_atomic(where.report, text + "\n")
    return text, where.report


def status_markdown(statuses: list[PointStatus]) -> str:
    rows = [[s.point.name, s.state.value, s.job or DASH, s.progress or DASH, s.detail or DASH] for s in statuses]
    counts = {state: sum(s.state is state for s in statuses) for state in State}
    summary = ", ".join(f"{n} {state.value}" for state, n in counts.items() if n)
    return markdown_table(["point", "state", "last job", "progress", "detail"], rows) + f"\n{len(statuses)} points: {summary}\n"
