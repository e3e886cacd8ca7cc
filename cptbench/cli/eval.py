"""``cptbench eval``: evaluate one checkpoint on a suite's tasks, without training."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled
from cptbench.cli.options import BACKEND_HELP, BACKEND_OPTION_HELP, VLLM_URL_HELP, backend_options
from cptbench.core.constants import DEFAULT_BACKEND, DEFAULT_MODEL


def evaluate(
    suite: str = typer.Option("crossdomain", "--suite", "-s", help="Suite name or suite YAML path."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Alias, local directory (e.g. a run's checkpoint) or hub id."),
    tasks: list[str] = typer.Option(None, "--tasks", "-t", help="Task names to evaluate (repeatable; default: all)."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget name (caps evaluated documents and probe items)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory (default: runs/eval-<suite>-<budget>-<model>)."),
    backend: str = typer.Option(DEFAULT_BACKEND, "--backend", help=BACKEND_HELP),
    vllm_url: str = typer.Option(None, "--vllm-url", help=VLLM_URL_HELP),
    backend_option: list[str] = typer.Option([], "--backend-option", help=BACKEND_OPTION_HELP),
    force: bool = typer.Option(False, "--force", help="Empty the run directory and start over."),
) -> None:
    """Evaluate one checkpoint: a record of the usual schema with one row and no stages."""
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.config.suites import evaluation_view, load_suite
    from cptbench.core.constants import RECORD_NAME
    from cptbench.publish.report import run_summary
    from cptbench.run.runner import RunConfig, run_suite

    with handled():
        loaded = evaluation_view(load_suite(suite), tasks or None)
        chosen = loaded.budget(budget)
        out = out or Path("runs") / f"eval-{loaded.name}-{chosen.name}-{Path(model).name}"
        quiet_libraries(out / "logs" / "run.log")
        config = RunConfig(suite=loaded, budget=chosen, model=model, seed=0, out_dir=out, force=force, backend=backend,
                           backend_options=backend_options(backend_option, vllm_url))
        with RichReporter() as reporter:
            record = run_suite(config, reporter)
        typer.echo(run_summary(record, out))
        typer.echo(f"run record: {out / RECORD_NAME}; library messages: {out / 'logs' / 'run.log'}")
