"""``cptbench baseline``: make regression-gate baselines explicitly (they are committed and reviewed)."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled

app = typer.Typer(help="Regression-gate baselines: made explicitly, committed, reviewed; never updated silently.",
                  no_args_is_help=True)


@app.command("create")
def create(
    runs: list[Path] = typer.Argument(..., help="A run directory (or its record.json); several seeds of one configuration for a mean baseline whose `regress --tol auto` knows the seed-to-seed spread."),
    out: Path = typer.Option(..., "--out", "-o", help="The baseline JSON to write."),
    no_matrix: bool = typer.Option(False, "--no-matrix", help="Leave the matrix out (then `regress --cells` is refused)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing baseline (review the diff before committing)."),
) -> None:
    """Write a baseline from a run (or the mean of several seeds): suite + hash, budget, model, seeds,
    metrics, matrix, default tolerances per metric, each seed's per-item values (for `regress --tol
    auto`) and the record it came from. Edit tolerances by hand, then commit it."""
    import json

    from cptbench.core.io import write_text_atomic
    from cptbench.core.records import load_verified_record
    from cptbench.publish.regress import create_baseline
    from cptbench.publish.submissions import BaselineError

    with handled():
        if out.exists() and not force:
            raise BaselineError(f"--out {out}: exists; baselines are never replaced silently (pass --force, then review the diff)")
        baseline = create_baseline([load_verified_record(path) for path in runs], include_matrix=not no_matrix)
        write_text_atomic(out, json.dumps(baseline.model_dump(mode="json"), indent=2, allow_nan=False) + "\n")
        typer.echo(f"wrote {out}: {len(baseline.metrics)} metrics"
                   f"{', the matrix' if baseline.matrix is not None else ''}, suite {baseline.suite.name} "
                   f"budget {baseline.suite.budget}, model {baseline.model}, "
                   f"seed{'s' if len(runs) > 1 else ''} {', '.join(str(r.seed) for r in baseline.runs)}")
