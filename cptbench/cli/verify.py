"""``cptbench verify``: re-evaluate a finished run's base and final rows (exit 0 agree, 1 disagree, 2 bad input)."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled

DISAGREEMENT_EXIT_CODE = 1


def verify(
    run_dir: Path = typer.Argument(..., help="A finished run directory (it keeps its final checkpoint)."),
    suite: str = typer.Option(None, "--suite", "-s", help="Suite name or YAML path (default: the record's suite, by name)."),
    tolerance: float = typer.Option(None, "--tolerance", min=0.0, max=1e-4, help="Relative and absolute tolerance per cell (default 1e-5, at most 1e-4)."),
) -> None:
    """Evaluate the base model and the run's final checkpoint again, and compare every cell with the record.

    Writes RUN_DIR/verification.json; `cptbench submit` carries it to the leaderboard, which marks
    the entry as verified, with the cptbench version that re-evaluated it.
    """
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.run.verify import DEFAULT_TOLERANCE, plan_verification, verify_run

    with handled():
        plan = plan_verification(run_dir, suite)
        quiet_libraries(run_dir / "verify" / "logs" / "run.log")
        with RichReporter() as reporter:
            result = verify_run(plan, tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance, reporter=reporter)
    for line in result.disagreements:
        typer.echo(line)
    verdict = "verified" if result.verified else f"NOT verified: {result.cells_disagreeing} cells disagree"
    typer.echo(f"{verdict} ({result.cells} cells re-evaluated, largest difference {result.max_difference:.3g}); wrote {result.path}")
    if not result.verified:
        raise typer.Exit(DISAGREEMENT_EXIT_CODE)
