"""``cptbench evaluate-sequence``: the matrix of checkpoints trained outside cptbench."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled
from cptbench.cli.options import (
    BACKEND_HELP,
    BACKEND_OPTION_HELP,
    VLLM_URL_HELP,
    backend_options,
    method_option,
    method_spec,
    order_option,
    replay_extra_option,
    replay_option,
    seed_option,
)
from cptbench.core.constants import DEFAULT_BACKEND


def evaluate_sequence(
    checkpoints: list[Path] = typer.Argument(..., help="The base model (an alias or a directory), then the checkpoint after each stage, in order."),
    suite: str = typer.Option("crossdomain", "--suite", "-s", help="Suite name or a suite YAML path."),
    trainer: str = typer.Option(..., "--trainer", help='What trained the stages, e.g. "axolotl 0.9, https://.../recipe.yaml" (recorded).'),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory for the evaluations and record.json (resumable)."),
    manifest: Path = typer.Option(None, "--manifest", help="The `cptbench export` manifest the stages were trained on."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget name (default: the suite's default; the export's)."),
    seed: int = seed_option(),
    method: str = method_option(),
    order: str = order_option(),
    replay: float = replay_option(),
    replay_extra: bool = replay_extra_option(),
    backend: str = typer.Option(DEFAULT_BACKEND, "--backend", help=BACKEND_HELP),
    vllm_url: str = typer.Option(None, "--vllm-url", help=VLLM_URL_HELP),
    backend_option: list[str] = typer.Option([], "--backend-option", help=BACKEND_OPTION_HELP),
    force: bool = typer.Option(False, "--force", help="Empty the run directory and start over."),
) -> None:
    """Evaluate checkpoints trained elsewhere on every task of the suite: a run record of the usual
    schema (matrix, metrics, report, leaderboard), marked as externally trained."""
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.config.suites import load_suite
    from cptbench.core.constants import RECORD_NAME
    from cptbench.core.errors import ConfigError
    from cptbench.publish.report import run_summary
    from cptbench.run.runner import RunConfig, run_suite

    with handled():
        if not trainer.strip():
            raise ConfigError("--trainer: say what trained the stages (name, version, recipe)")
        loaded = load_suite(suite)
        quiet_libraries(out / "logs" / "run.log")
        config = RunConfig(suite=loaded, budget=loaded.budget(budget), model=str(checkpoints[0]), seed=seed, out_dir=out,
                           force=force, method=method_spec(method, replay, replay_extra), order=order, backend=backend,
                           backend_options=backend_options(backend_option, vllm_url), checkpoints=tuple(checkpoints),
                           trainer=trainer.strip(), manifest=manifest)
        with RichReporter() as reporter:
            record = run_suite(config, reporter)
        typer.echo(run_summary(record, out))
        typer.echo(f"run record: {out / RECORD_NAME}")
