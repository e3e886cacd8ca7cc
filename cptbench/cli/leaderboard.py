"""``cptbench leaderboard``: rank a suite's submissions; regenerate its README.md and index.html."""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import typer

from cptbench.cli.errors import handled


class Format(str, enum.Enum):
    md = "md"
    html = "html"
    json = "json"


def leaderboard(
    suite: str = typer.Argument(..., help="A shipped suite name (see `cptbench suites`), or a suite YAML of your own."),
    fmt: Format = typer.Option(Format.md, "--format", "-f", help="What to print: md, html or json."),
    sort: str = typer.Option(None, "--sort", help="Metric to rank by, e.g. forgetting_max or bwt[bpb] (default: final)."),
    leaderboards: Path = typer.Option(None, "--leaderboards", help="Leaderboards folder (default: the checkout's leaderboards/, else ./leaderboards)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 when README.md / index.html are stale."),
) -> None:
    """Validate every submission of SUITE, print the ranking, and regenerate the suite's pages.

    The pages always use the default ranking (final, best first); --sort and --format change
    only what is printed.
    """
    from cptbench.publish.leaderboard import default_root, regenerate, render_html, render_json, render_markdown

    with handled():
        board, stale = regenerate(leaderboards or default_root(), suite, sort, write=not check)
        render = {Format.md: render_markdown, Format.html: render_html, Format.json: render_json}[fmt]
        typer.echo(render(board), nl=False)
    if check and stale:
        for path in stale:
            print(f"stale: {path} (regenerate with `cptbench leaderboard {suite}`)", file=sys.stderr)
        raise typer.Exit(1)
