"""``cptbench submit``: validate a run record and add it to its suite's leaderboard."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled


def submit(
    run_dir: Path = typer.Argument(..., help="A run directory (or its record.json)."),
    name: str = typer.Option(..., "--name", help="Entry name and file id: letters, digits, '.', '_', '-' (at most 64)."),
    submitter: str = typer.Option(None, "--submitter", help="Who submits (shown on the leaderboard)."),
    method: str = typer.Option(None, "--method", help="The method's short description (default: the record's method with its parameters and recipe, e.g. 'naive + replay 25% (budget-neutral)')."),
    leaderboards: Path = typer.Option(None, "--leaderboards", help="Leaderboards folder (default: the checkout's leaderboards/, else ./leaderboards)."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite an existing submission with the same id."),
    suite: Path = typer.Option(None, "--suite", help="The suite YAML of a run on a suite of your own (its board: <leaderboards>/<name>-<hash12>)."),
) -> None:
    """Validate a run record and add it to its suite's leaderboard.

    Checks the schema, the suite's content hash, a complete finite matrix, provenance, and every
    metric recomputed from the matrix; writes leaderboards/<suite>/submissions/<name>.json and
    regenerates README.md and index.html.
    """
    from cptbench.publish.leaderboard import default_root
    from cptbench.publish.leaderboard import submit as submit_record

    with handled():
        result = submit_record(
            run_dir, name, root=leaderboards or default_root(), submitter=submitter, method=method, replace=replace,
            suite_file=suite,
        )
        typer.echo(f"{'replaced' if result.replaced else 'added'} {result.path}")
        typer.echo("regenerated " + ", ".join(str(page) for page in result.pages))
