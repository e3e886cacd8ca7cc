"""``cptbench report``: a run's matrix and metrics (with intervals) as markdown, a heatmap and
per-task curves; several seeds of one configuration as one aggregate; or runs compared side by side
(with the plasticity–forgetting plane, ``tradeoff.png``). For scripts, one run as CSV or JSON
(``--format``, ``cptbench.publish.frames``)."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled

MAX_SIDES = 8
FORMATS = ("markdown", "md", "csv", "json")  # md: as `cptbench leaderboard --format md`


def report(
    runs: list[str] = typer.Argument(..., help="A run directory (or record.json). Several seeds of one configuration: "
                                     "join them with commas (runs/x-s0,runs/x-s1). Two or more arguments: compare them, "
                                     "each against the first."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write report.md, heatmap.png, curves.png; comparing: compare.md and "
                             "tradeoff.png (default: the (first) run's directory)."),
    output_format: str = typer.Option("markdown", "--format", "-f",
                                      help="markdown (or md): the report (and its files). For scripts, one run only, printed and "
                                      "nothing written: csv (the matrix with each cell's 95 % interval, one line per cell) "
                                      "or json (the matrix, its interval bounds and every metric with its interval)."),
) -> None:
    """Print a run's matrix and metrics with 95 % intervals and write its plots; aggregate seeds; or
    compare runs (deltas against the first, whether each is distinguishable from noise, and every
    side on the plasticity–forgetting plane with its intervals: tradeoff.png)."""
    from cptbench.core.errors import ConfigError
    from cptbench.publish.compare import check_seed_group, write_comparison
    from cptbench.publish.report import seeds_markdown, summary_markdown, write_report

    with handled():
        if len(runs) > MAX_SIDES:
            raise ConfigError(f"report: at most {MAX_SIDES} runs to compare; got {len(runs)}")
        if output_format not in FORMATS:
            raise ConfigError(f"--format {output_format}: choose from {', '.join(FORMATS)}")
        sides = [[Path(p) for p in side.split(",") if p] for side in runs]
        if output_format not in ("markdown", "md"):
            if len(sides) > 1 or len(sides[0]) > 1:
                raise ConfigError(f"--format {output_format}: one run only (markdown compares runs and aggregates seeds)")
            if out is not None:
                raise ConfigError(f"--out: only with --format markdown ({output_format} is printed; redirect it to a file)")
            from cptbench.publish.frames import load_run, run_csv, run_json

            frames = load_run(sides[0][0])
            typer.echo(run_csv(frames) if output_format == "csv" else run_json(frames), nl=False)
            return
        from cptbench.publish.frames import read_run_record

        groups = [[read_run_record(path) for path in side] for side in sides]
        for side, group in zip(runs, groups):
            check_seed_group(group, side)
        path = sides[0][0]
        out = out or (path if path.is_dir() else path.parent)
        if len(groups) > 1:
            text, written = write_comparison(groups, out)
            typer.echo(text)
            typer.echo("\n".join(f"wrote {p}" for p in written.values()))
        elif len(groups[0]) > 1:
            typer.echo(seeds_markdown(groups[0]))
        else:
            written = write_report(groups[0][0], out)
            typer.echo(summary_markdown(groups[0][0]))
            typer.echo("\n" + "\n".join(f"wrote {p}" for p in written.values()))
