"""``cptbench``: the Typer app. Commands import heavy libraries only when they run."""

from __future__ import annotations

import typer

from cptbench.cli import baseline as baseline_cmd
from cptbench.cli import eval as eval_cmd
from cptbench.cli import evaluate_sequence as evaluate_sequence_cmd
from cptbench.cli import export as export_cmd
from cptbench.cli import leaderboard as leaderboard_cmd
from cptbench.cli import methods as methods_cmd
from cptbench.cli import models as models_cmd
from cptbench.cli import regress as regress_cmd
from cptbench.cli import report as report_cmd
from cptbench.cli import run as run_cmd
from cptbench.cli import submit as submit_cmd
from cptbench.cli import suites as suites_cmd
from cptbench.cli import sweep as sweep_cmd
from cptbench.cli import train as train_cmd
from cptbench.cli import verify as verify_cmd
from cptbench.cli.errors import OneLineErrors, debug_option

app = typer.Typer(
    name="cptbench",
    help="Benchmark continual pre-training: train stage after stage, evaluate every task after each, "
    "and derive plasticity, transfer and forgetting from the matrix.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=OneLineErrors,  # a command-line mistake is one error line (cli/errors.py)
)


@app.callback()
def main(debug: bool = debug_option()) -> None:
    """Global options."""


# Help panels: `cptbench --help` groups the commands by what a newcomer wants to do.
RUNNING = "Running"
RESULTS = "Results"
BOARDS = "Leaderboards and CI"
DATA = "Data and models"
SCALE = "Scale"

# Every command's help ends with real example command lines (`cptbench COMMAND --help`). A new
# command: one entry here and one `command(NAME, PANEL)(module.function)` line below (a plain
# `app.command(NAME)(...)` works too, in a panel of its own named "Commands", without examples).
EXAMPLES = {
    "run": "cptbench run --suite crossdomain --budget smoke --model tiny-llama --out runs/smoke\n"
           "cptbench run --suite facts --seeds 0,1,2 --replay 0.25 --out runs/facts-replay",
    "train": "cptbench train --kind cpt --data export/1-politics.jsonl --model tiny-llama --out ckpt/politics",
    "eval": "cptbench eval --suite crossdomain --budget smoke --model tiny-llama --out runs/eval-tiny",
    "export": "cptbench export --suite crossdomain --budget small --out export/",
    "evaluate-sequence": "cptbench evaluate-sequence smollm2-135m-instruct ckpt/1-politics ckpt/2-science ckpt/3-music "
                         "ckpt/4-literature ckpt/5-ai --suite crossdomain --manifest export/manifest.json "
                         "--trainer \"transformers.Trainer, train_stage.py\" --out runs/external",
    "report": "cptbench report runs/smoke\n"
              "cptbench report runs/naive-s0,runs/naive-s1 runs/replay-s0,runs/replay-s1\n"
              "cptbench report leaderboards/facts/submissions/facts-naive-s0.json --format csv",
    "submit": "cptbench submit runs/smoke --name my-model-naive --submitter \"Ada\"",
    "leaderboard": "cptbench leaderboard facts\n"
                   "cptbench leaderboard crossdomain --check",
    "regress": "cptbench regress runs/smoke --baseline leaderboards/crossdomain/baselines/tiny-llama-smoke.json\n"
               "cptbench regress runs/facts --baseline leaderboards/facts/baselines/tiny-llama-smoke.json --tol auto",
    "verify": "cptbench verify runs/smoke",
    "suites": "cptbench suites\n"
              "cptbench suites check examples/own_suite/suite.yaml",
    "suites check": "cptbench suites check examples/own_suite/suite.yaml --budget small",
    "methods": "cptbench methods\n"
               "cptbench methods ewc",
    "models": "cptbench models list\n"
              "cptbench models pull smollm2-135m-instruct",
    "models list": "cptbench models list",
    "models pull": "cptbench models pull smollm2-135m-instruct",
    "baseline": "cptbench baseline create runs/smoke --out leaderboards/crossdomain/baselines/mine.json",
    "baseline create": "cptbench baseline create runs/smoke --out leaderboards/crossdomain/baselines/mine.json\n"
                       "cptbench baseline create runs/f-s0 runs/f-s1 runs/f-s2 --out leaderboards/facts/baselines/mine.json",
    "sweep": "cptbench sweep --suite crossdomain --budget smoke --model tiny-llama --seeds 0,1 --methods naive,replay:0.25 "
             "--out runs/sw\n"
             "cptbench sweep status runs/sw",
    "sweep status": "cptbench sweep status runs/sw",
    "sweep report": "cptbench sweep report runs/sw",
}


def examples(name: str) -> str:
    """The epilog of command ``name`` (``"models pull"`` for a sub-command)."""
    return "Examples:\n\n" + "\n".join(f"  {line}" for line in EXAMPLES[name].split("\n"))


def command(name: str, panel: str):
    """``app.command`` with the command's help panel and examples."""
    return app.command(name, rich_help_panel=panel, epilog=examples(name))


def group(sub_app: typer.Typer, name: str, panel: str) -> None:
    """A sub-app (``cptbench models …``) in its panel, with examples on it and on each of its commands."""
    for info in sub_app.registered_commands:
        info.epilog = info.epilog or examples(f"{name} {info.name}")
    app.add_typer(sub_app, name=name, rich_help_panel=panel, epilog=examples(name))


command("run", RUNNING)(run_cmd.run)
command("train", RUNNING)(train_cmd.train)
command("eval", RUNNING)(eval_cmd.evaluate)
command("export", RUNNING)(export_cmd.export)
command("evaluate-sequence", RUNNING)(evaluate_sequence_cmd.evaluate_sequence)
command("report", RESULTS)(report_cmd.report)
command("submit", BOARDS)(submit_cmd.submit)
command("leaderboard", BOARDS)(leaderboard_cmd.leaderboard)
command("verify", BOARDS)(verify_cmd.verify)
command("regress", BOARDS)(regress_cmd.regress)
group(baseline_cmd.app, "baseline", BOARDS)
group(suites_cmd.app, "suites", DATA)
group(models_cmd.app, "models", DATA)
command("methods", DATA)(methods_cmd.methods)
group(sweep_cmd.app, "sweep", SCALE)
