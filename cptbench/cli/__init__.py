"""The Typer CLI: one module per command; the only place that turns errors into exit codes."""
