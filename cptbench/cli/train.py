"""``cptbench train``: one training stage outside a suite (local JSONL in, checkpoint out)."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled
from cptbench.cli.options import report_to_option
from cptbench.core.constants import DEFAULT_MODEL


def train(
    kind: str = typer.Option(..., "--kind", "-k", help="cpt (rows {text}), sft (rows {prompt, completion}) or grpo (rows {prompt, reference, decision})."),
    data: Path = typer.Option(..., "--data", "-d", help="A JSONL file, one training row per line."),
    out: Path = typer.Option(..., "--out", "-o", help="Where the trained checkpoint is saved."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Alias, local directory or hub id."),
    recipe: str = typer.Option(None, "--recipe", "-r", help="Recipe name (trainers/<name>.yaml) or YAML path (default: the kind's)."),
    seed: int = typer.Option(0, "--seed"),
    force: bool = typer.Option(False, "--force", help="Replace an existing, non-empty --out."),
    report_to: str = report_to_option(),
) -> None:
    """Train one stage with a reference trainer and save the checkpoint (with --report-to, the
    training logs go to OUT-trackers/)."""
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.run.single import train_one

    with handled():
        quiet_libraries()
        with RichReporter() as reporter:
            reporter.start("train", f"train ({kind})", 0)
            result = train_one(kind, model, data, out, recipe=recipe, seed=seed, force=force, report_to=report_to,
                               progress=lambda step, total: reporter.update("train", completed=step, total=total))
            reporter.finish("train")
        typer.echo(f"{result.steps} steps, {result.tokens:,} tokens, {result.seconds:.1f} s, final loss {result.final_loss:.4f}")
        for name, values in (result.rewards or {}).items():
            if values:
                typer.echo(f"reward {name}: mean {sum(values) / len(values):.4f} over {len(values)} steps")
        typer.echo(f"checkpoint: {out}")
