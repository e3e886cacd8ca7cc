"""``cptbench methods``: the registered methods, their parameters (type, default, range) and hooks."""

from __future__ import annotations

import typer

from cptbench.cli.errors import handled


def methods(name: str = typer.Argument(None, help="One method to describe (default: all).")) -> None:
    """List the methods --method and sweep --methods take: one line each with its hooks, then its
    parameters with defaults and ranges. Other packages add methods through the
    `cptbench.methods` entry-point group."""
    from cptbench.methods.registry import describe_parameters, method_class, method_names

    with handled():
        names = [name] if name else method_names()
        for each in names:
            cls = method_class(each)
            typer.echo(f"{each:9s} {cls.summary}  [hooks: {', '.join(cls.hooks()) or 'none'}]")
            if cls.reference:
                typer.echo(f"{'':9s} reference: {cls.reference}")
            for key, kind, default, bounds in describe_parameters(cls):
                primary = "  (NAME:VALUE sets it)" if key == cls.primary else ""
                typer.echo(f"{'':9s} {key}: {kind} = {default}{f'  [{bounds}]' if bounds else ''}{primary}")
        if not name:
            typer.echo("\nuse: --method NAME[:key=value,...], e.g. --method ewc:lambda=100,gamma=0.9")
