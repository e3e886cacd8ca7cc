"""``cptbench models``: list aliases, prepare a model offline."""

from __future__ import annotations

import typer

from cptbench.cli.errors import handled
from cptbench.core.constants import DEFAULT_MODEL

app = typer.Typer(help="Model aliases and the local model cache.", no_args_is_help=True)


@app.command("list")
def list_models() -> None:
    """Show the aliases --model accepts and where they are cached."""
    from cptbench.models.resolve import ALIASES, models_dir

    for alias, description in ALIASES.items():
        cached = (models_dir() / alias / "config.json").exists()
        typer.echo(f"{alias:24s} {description}{'  [cached]' if cached else ''}")
    typer.echo(f"cache: {models_dir()}")


@app.command("pull")
def pull(model: str = typer.Argument(DEFAULT_MODEL, help="Alias, hub id or local directory.")) -> None:
    """Resolve a model now (fetch + convert once), so that later runs start offline."""
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.models.resolve import resolve_model

    with handled():
        quiet_libraries()
        resolved = resolve_model(model)
        typer.echo(f"{model} -> {resolved.path}")
