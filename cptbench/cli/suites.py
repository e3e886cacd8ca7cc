"""``cptbench suites``: list shipped suites with their stages and budgets."""

from __future__ import annotations

from cptbench.cli.errors import handled


def suites() -> None:
    """List the shipped suites: stages in order, tasks and budgets."""
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
