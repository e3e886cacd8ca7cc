"""``cptbench verify [--reproduce]``: re-evaluate a finished run's base and final rows, or train and evaluate
every row again (exit 0 agree, 1 disagree, 2 bad input)."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled

DISAGREEMENT_EXIT_CODE = 1


def verify(
    run_dir: Path = typer.Argument(..., help="A finished run directory (verify needs its final checkpoint; --reproduce its config.json)."),
    suite: str = typer.Option(None, "--suite", "-s", help="Suite name or YAML path (default: the record's suite, by name)."),
    tolerance: float = typer.Option(None, "--tolerance", min=0.0, max=1e-4, help="Relative and absolute tolerance per cell (default 1e-5, at most 1e-4)."),
    reproduce: bool = typer.Option(False, "--reproduce", help="Train the run's whole configuration again from the base model "
                                   "(config.json: suite, budget, model, seed, method, order, recipes; as long as the run took) "
                                   "and compare every row's cells and items, every stage's training and every curve point."),
) -> None:
    """Evaluate the base model and the run's final checkpoint again, and compare every cell with the record.

    Writes RUN_DIR/verification.json; `cptbench submit` carries it to the leaderboard, which marks
    the entry as verified, with the cptbench version that re-evaluated it. With --reproduce, every
    row is trained and evaluated again (the reproduction's run directory is removed afterwards,
    its record kept as RUN_DIR/verify/reproduced-record.json), and the entry is marked reproduced.
    """
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.run.verify import DEFAULT_TOLERANCE, plan_verification, verify_run

    chosen = DEFAULT_TOLERANCE if tolerance is None else tolerance
    with handled():
        if reproduce:
            from cptbench.run.reproduce import plan_reproduction, reproduce_run

            plan = plan_reproduction(run_dir, suite)
            quiet_libraries(run_dir / "verify" / "logs" / "run.log")
            with RichReporter() as reporter:
                result = reproduce_run(plan, tolerance=chosen, reporter=reporter)
        else:
            plan = plan_verification(run_dir, suite)
            quiet_libraries(run_dir / "verify" / "logs" / "run.log")
            with RichReporter() as reporter:
                result = verify_run(plan, tolerance=chosen, reporter=reporter)
    for line in result.disagreements:
        typer.echo(line)
    typer.echo(verdict(result))
    if not result.verified:
        raise typer.Exit(DISAGREEMENT_EXIT_CODE)


def verdict(result) -> str:
    """One line: the level reached (or not), what was compared, where the outcome went."""
    rows = ", ".join(map(str, result.rows))
    if result.level == "reproduced":
        done = f"{len(result.rows) - 1} stages trained again, rows {rows}: {result.cells} cells and their items re-evaluated"
        stages = f" and {result.stages_disagreeing} stages' training or curves" if result.stages_disagreeing else ""
        failed = f"NOT reproduced: {result.cells_disagreeing} cells{stages} disagree"
    else:
        done = f"{result.cells} cells re-evaluated"
        failed = f"NOT verified: {result.cells_disagreeing} cells disagree"
    head = result.level if result.verified else failed
    return f"{head} ({done}, largest difference {result.max_difference:.3g}); wrote {result.path}"
