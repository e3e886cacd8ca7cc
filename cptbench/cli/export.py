"""``cptbench export``: a suite's stage data for training with a stack of one's own."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled
from cptbench.cli.options import method_option, method_spec, order_option, replay_extra_option, replay_option, seed_option
from cptbench.core.constants import DEFAULT_MODEL


def export(
    suite: str = typer.Option("crossdomain", "--suite", "-s", help="Suite name (see `cptbench suites`) or a suite YAML path."),
    out: Path = typer.Option(..., "--out", "-o", help="A new (or empty) folder for <t>-<stage>.jsonl and manifest.json."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget name (default: the suite's default)."),
    seed: int = seed_option(),
    method: str = method_option(),
    order: str = order_option(),
    replay: float = replay_option(),
    replay_extra: bool = replay_extra_option(),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="The model whose tokenizer counts the token caps."),
) -> None:
    """Write every stage's training data exactly as `cptbench run` would train on it (same documents,
    order, replay and token caps), one JSONL per stage, plus manifest.json with counts and sha256."""
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.config.suites import load_suite
    from cptbench.run.export import export_stages
    from cptbench.run.runner import RunConfig

    with handled():
        quiet_libraries()
        loaded = load_suite(suite)
        config = RunConfig(suite=loaded, budget=loaded.budget(budget), model=model, seed=seed, out_dir=out,
                           method=method_spec(method, replay, replay_extra), order=order)
        with RichReporter() as reporter:
            manifest = export_stages(config, reporter)
        for stage in manifest["stages"]:
            tokens = f", {stage['corpus_tokens']} tokens" if stage["corpus_tokens"] is not None else ""
            typer.echo(f"{out / stage['file']}: {stage['kind']}, {stage['documents']} rows{tokens}")
        typer.echo(f"manifest: {out / 'manifest.json'}")
