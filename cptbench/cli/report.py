"""``cptbench report``: a run's matrix and metrics (with intervals) as markdown, a heatmap and
per-task curves; several seeds of one configuration as one aggregate; or runs compared side by side."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled

MAX_SIDES = 8


def report(
    runs: list[str] = typer.Argument(..., help="A run directory (or record.json). Several seeds of one configuration: "
                                     "join them with commas (runs/x-s0,runs/x-s1). Two or more arguments: compare them, "
                                     "each against the first."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write report.md, heatmap.png, curves.png (default: the run directory)."),
) -> None:
    """Print a run's matrix and metrics with 95 % intervals and write its plots; aggregate seeds; or
    compare runs (deltas against the first, and whether each is distinguishable from noise)."""
    from cptbench.core.errors import ConfigError
    from cptbench.core.records import load_verified_record
    from cptbench.publish.compare import check_seed_group, compare_markdown
    from cptbench.publish.report import seeds_markdown, summary_markdown, write_report

    with handled():
        if len(runs) > MAX_SIDES:
            raise ConfigError(f"report: at most {MAX_SIDES} runs to compare; got {len(runs)}")
        sides = [[Path(p) for p in side.split(",") if p] for side in runs]
        groups = [[load_verified_record(path) for path in side] for side in sides]
        for side, group in zip(runs, groups):
            check_seed_group(group, side)
        if len(groups) > 1:
            typer.echo(compare_markdown(*groups))
        elif len(groups[0]) > 1:
            typer.echo(seeds_markdown(groups[0]))
        else:
            path = sides[0][0]
            written = write_report(groups[0][0], out or (path if path.is_dir() else path.parent))
            typer.echo(summary_markdown(groups[0][0]))
            typer.echo("\n" + "\n".join(f"wrote {p}" for p in written.values()))
