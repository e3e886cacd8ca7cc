"""``cptbench suites``: list shipped suites; ``cptbench suites check FILE``: validate a suite file."""

from __future__ import annotations

import typer

from cptbench.cli.errors import handled

app = typer.Typer(help="Shipped suites, and checking a suite file of your own.", invoke_without_command=True)


@app.callback()
def suites(ctx: typer.Context) -> None:
    """List the shipped suites: stages in order, tasks and budgets."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from cptbench.config.suites import available_suites, load_suite

    with handled():
        table = Table(title="cptbench suites")
        for column in ("suite", "stages (in order)", "tasks", "budgets (train tokens / eval docs per stage)"):
            table.add_column(column)
        for name in available_suites():
            suite = load_suite(name)
            budgets = ", ".join(
                f"{b.name}{'*' if b.name == suite.default_budget else ''}: "
                f"{b.train_tokens or 'all'} / {b.eval_docs or 'all'}"
                for b in suite.budgets.values()
            )
            table.add_row(f"{suite.name} v{suite.version}", " → ".join(s.name for s in suite.stages),
                          ", ".join(t.name for t in suite.tasks), budgets)
        Console().print(table)
        Console().print("* default budget")


@app.command("check")
def check(
    suite_file: str = typer.Argument(..., help="A suite YAML file (or a shipped suite's name)."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget to check the counts for (default: the suite's default)."),
) -> None:
    """Validate a suite without a model: the schema, every source loads, every split and field exists,
    and what each stage and task reads under the budget."""
    from rich.console import Console
    from rich.table import Table

    from cptbench.cli.quiet import quiet_libraries
    from cptbench.config.suites import load_suite
    from cptbench.run.suite_check import check_suite

    with handled():
        quiet_libraries()
        suite = load_suite(suite_file)
        chosen = suite.budget(budget)
        parts = check_suite(suite, chosen)
        table = Table(title=f"{suite.name} v{suite.version}, budget {chosen.name} (suite hash {suite.content_hash[:12]})")
        for column in ("stage / task", "kind", "data", "reads", "note"):
            table.add_column(column, overflow="fold")
        for part in parts:
            table.add_row(part.name, part.kind, part.data, str(part.count), part.note)
        Console().print(table)
        typer.echo(f"ok: {suite.path} ({len(suite.stages)} stages, {len(suite.tasks)} tasks)")
