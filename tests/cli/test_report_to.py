"""``--report-to`` on `cptbench run`, `train` and `sweep`: an unknown tracker, or one whose package is
not installed (simulated by blocking its import), is one ``error:`` line and exit 2 before anything
is written; a sweep passes the tracker to every point, and changing it is not another grid."""

import sys

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.run.sweep import SweepDir, make_grid

TRACKERS = ("tensorboard", "wandb", "mlflow", "trackio")


def commands(tmp_path):
    data = tmp_path / "texts.jsonl"
    data.write_text('{"text": "The council approved the budget."}\n')
    out = tmp_path / "out"
    return out, {
        "run": ["run", "--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)],
        "train": ["train", "--kind", "cpt", "--data", str(data), "--model", "tiny-llama", "--out", str(out)],
        "sweep": ["sweep", "--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)],
    }


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("command", ["run", "train", "sweep"])
def test_an_unknown_tracker_is_one_line_listing_the_allowed_ones(tmp_path, command):
    out, argv = commands(tmp_path)
    result = CliRunner().invoke(app, [*argv[command], "--report-to", "comet"])
    assert result.exit_code == 2, result.output
    assert errors(result.output) == ["error: --report-to comet: expected one of none, tensorboard, wandb, mlflow, trackio"]
    assert not out.exists()


@pytest.mark.parametrize("tracker", TRACKERS)
@pytest.mark.parametrize("command", ["run", "train", "sweep"])
def test_a_missing_tracker_package_names_what_to_install(tmp_path, monkeypatch, command, tracker):
    monkeypatch.setitem(sys.modules, tracker, None)  # `import tracker` fails, as when it is not installed
    out, argv = commands(tmp_path)
    result = CliRunner().invoke(app, [*argv[command], "--report-to", tracker])
    assert result.exit_code == 2, result.output
    assert errors(result.output) == [f'error: --report-to {tracker} needs the {tracker} package: '
                                     f'pip install "cptbench[{tracker}]" (or pip install {tracker})'], result.output
    assert not out.exists()  # no run directory, checkpoint or sweep directory


def test_a_sweep_passes_the_tracker_to_every_point_and_may_change_it(tmp_path):
    grid = make_grid("crossdomain", "smoke", "tiny-llama", (0, 1), "naive", "given", report_to="tensorboard")
    points = grid.points(tmp_path)
    assert all(p.argv[-4:] == ("--report-to", "tensorboard", "--out", str(p.run_dir)) for p in points)
    plain = make_grid("crossdomain", "smoke", "tiny-llama", (0, 1), "naive", "given")
    assert "--report-to" not in plain.points(tmp_path)[0].argv
    where = SweepDir(tmp_path / "sweep")
    where.claim(plain, {"kind": "local"})
    again = where.claim(grid, {"kind": "local"})  # the same grid: a tracker changes no number
    assert again.grid.report_to == "tensorboard" and "--report-to" in again.points[0].argv
