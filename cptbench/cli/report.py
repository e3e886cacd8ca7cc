"""``cptbench report``: a run's matrix and metrics as markdown, a heatmap and per-task curves;
with two runs, their metrics side by side."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled


def report(
    runs: list[Path] = typer.Argument(..., help="One run directory (or record.json); two or more to compare them."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write report.md, heatmap.png, curves.png (default: the run directory)."),
) -> None:
    """Print a run's matrix and derived metrics and write its plots; or compare runs (deltas against the first)."""
    from cptbench.core.errors import ConfigError
    from cptbench.core.records import load_verified_record
    from cptbench.publish.compare import compare_markdown
    from cptbench.publish.report import summary_markdown, write_report

    with handled():
        if len(runs) > 8:
            raise ConfigError(f"report: at most 8 runs to compare; got {len(runs)}")
        records = [load_verified_record(path) for path in runs]
        if len(records) > 1:
            typer.echo(compare_markdown(*records))
            return
        target = out or (runs[0] if runs[0].is_dir() else runs[0].parent)
        written = write_report(records[0], target)
        typer.echo(summary_markdown(records[0]))
        typer.echo("\n" + "\n".join(f"wrote {path}" for path in written.values()))
