"""``cptbench run``: train through a suite's stages and print the matrix and the metrics."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled


def run(
    suite: str = typer.Option("crossdomain", "--suite", "-s", help="Suite name (see `cptbench suites`) or a suite YAML path."),
    model: str = typer.Option("smollm2-135m-instruct", "--model", "-m", help="Alias, local directory or hub id."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget name (default: the suite's default)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory (default: runs/<suite>-<budget>-<model>-s<seed>)."),
    seed: int = typer.Option(0, "--seed", help="Seed for data order, initialisation and training."),
    force: bool = typer.Option(False, "--force", help="Empty the run directory and start over (needed when it holds another configuration)."),
) -> None:
    """Run a suite: evaluate the base model, then train and evaluate after every stage.

    Re-running the same command on an existing run directory resumes it where it stopped.
    """
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.report import summary_markdown
    from cptbench.runner import RunConfig, run_suite
    from cptbench.suites import load_suite

    with handled():
        loaded = load_suite(suite)
        chosen = loaded.budget(budget)
        out = out or Path("runs") / f"{loaded.name}-{chosen.name}-{Path(model).name}-s{seed}"
        quiet_libraries()
        config = RunConfig(suite=loaded, budget=chosen, model=model, seed=seed, out_dir=out, force=force)
        with RichReporter() as reporter:
            record = run_suite(config, reporter)
        typer.echo(summary_markdown(record))
        typer.echo(f"\nrun record: {out / 'record.json'}")
