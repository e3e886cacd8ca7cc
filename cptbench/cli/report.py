"""``cptbench report``: the matrix and metrics of a finished run as markdown, plus a heatmap PNG."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled


def report(
    run_dir: Path = typer.Argument(..., help="A run directory (or its record.json)."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write report.md and heatmap.png (default: the run directory)."),
) -> None:
    """Print a run's matrix and derived metrics (markdown) and write a heatmap of the matrix."""
    from cptbench.errors import RecordError
    from cptbench.records import RECORD_NAME
    from cptbench.report import load_record, summary_markdown, verify_metrics, write_report

    with handled():
        record_file = run_dir / RECORD_NAME if run_dir.is_dir() else run_dir
        record = load_record(record_file)
        problems = verify_metrics(record)
        if problems:
            raise RecordError(f"{record_file}: stored metrics disagree with the matrix: {problems[0]}")
        target = out or (run_dir if run_dir.is_dir() else run_dir.parent)
        written = write_report(record, target)
        typer.echo(summary_markdown(record))
        typer.echo("\n" + "\n".join(f"wrote {path}" for path in written.values()))
