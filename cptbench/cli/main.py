"""``cptbench``: the Typer app. Commands import heavy libraries only when they run."""

from __future__ import annotations

import typer

from cptbench.cli import baseline as baseline_cmd
from cptbench.cli import eval as eval_cmd
from cptbench.cli import evaluate_sequence as evaluate_sequence_cmd
from cptbench.cli import export as export_cmd
from cptbench.cli import leaderboard as leaderboard_cmd
from cptbench.cli import models as models_cmd
from cptbench.cli import regress as regress_cmd
from cptbench.cli import report as report_cmd
from cptbench.cli import run as run_cmd
from cptbench.cli import submit as submit_cmd
from cptbench.cli import suites as suites_cmd
from cptbench.cli import sweep as sweep_cmd
from cptbench.cli import train as train_cmd
from cptbench.cli import verify as verify_cmd
from cptbench.cli.errors import debug_option

app = typer.Typer(
    name="cptbench",
    help="Benchmark continual pre-training: train stage after stage, evaluate every task after each, "
    "and derive plasticity, transfer and forgetting from the matrix.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(debug: bool = debug_option()) -> None:
    """Global options."""


app.command("run")(run_cmd.run)
app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd.evaluate)
app.command("export")(export_cmd.export)
app.command("evaluate-sequence")(evaluate_sequence_cmd.evaluate_sequence)
app.command("report")(report_cmd.report)
app.add_typer(suites_cmd.app, name="suites")
app.add_typer(models_cmd.app, name="models")
app.command("submit")(submit_cmd.submit)
app.command("leaderboard")(leaderboard_cmd.leaderboard)
app.command("regress")(regress_cmd.regress)
app.command("verify")(verify_cmd.verify)
app.add_typer(baseline_cmd.app, name="baseline")
app.add_typer(sweep_cmd.app, name="sweep")
