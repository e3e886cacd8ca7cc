"""``cptbench regress``: gate a run against a committed baseline (exit 0 pass, 1 regression, 2 bad input)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cptbench.cli.errors import handled


def regress(
    run_dir: Path = typer.Argument(..., help="A run directory (or its record.json)."),
    baseline: Path = typer.Option(..., "--baseline", help="A baseline JSON made by `cptbench baseline create`."),
    tol: list[str] = typer.Option([], "--tol", help="METRIC=ABS: absolute tolerance of a metric (bwt[bpb], or bwt for every family), a cell (TASK@STAGE) or every cell (cells); "
                                                "or `auto`: every tolerance from the intervals (what item and seed noise explain). Repeatable."),
    cells: bool = typer.Option(False, "--cells", help="Also compare every matrix cell with the baseline's."),
    cell: list[str] = typer.Option([], "--cell", help="Also compare one matrix cell, TASK@STAGE (STAGE 'base' = row 0). Repeatable."),
) -> None:
    """Compare a run's derived metrics (and optionally matrix cells) with a baseline, direction-aware.

    Prints a markdown table (also appended to $GITHUB_STEP_SUMMARY when set). Only a change for the
    worse beyond the tolerance fails. With --tol auto, the tolerance is 1.96 standard errors of the
    difference (items resampled in pairs, the baseline's seeds resampled, plus its seed-to-seed spread).
    """
    from cptbench.core.records import load_verified_record
    from cptbench.publish.regress import AUTO, REGRESSION_EXIT_CODE, compare, parse_tolerances
    from cptbench.publish.submissions import load_baseline

    with handled():
        tolerances = parse_tolerances(tol)
        record = load_verified_record(run_dir)
        reference = load_baseline(baseline)
        report = compare(record, reference, tolerances=tolerances, cells=cells, chosen_cells=tuple(cell),
                         auto=AUTO in tol, run=str(run_dir), baseline_name=str(baseline))
    text = report.markdown()
    typer.echo(text)
    _append_step_summary(text)
    if not report.passed:
        raise typer.Exit(REGRESSION_EXIT_CODE)


def _append_step_summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        print(f"warning: cannot append to GITHUB_STEP_SUMMARY ({target}): {exc.strerror or exc}", file=sys.stderr)
