"""The facts suite's smoke budget on the tiny model: curves inside the stages land in the record (from
the row before each stage to its own row), the report draws them, and measuring them changes nothing
in the matrix; the regression gate CI runs on it passes the baseline's own configuration and fails
a recipe that forgets more (learning rate x10)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.config.suites import load_suite
from cptbench.run.curves import curve_tasks

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "leaderboards" / "facts" / "baselines" / "tiny-llama-smoke.json"


def _run(out, *extra):
    result = CliRunner().invoke(app, ["run", "--suite", "facts", "--budget", "smoke", "--model", "tiny-llama",
                                      "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "record.json").read_text())


@pytest.fixture(scope="module")
def plain(tmp_path_factory, data_dir, tiny_model_path):
    out = tmp_path_factory.mktemp("facts") / "plain"
    return out, _run(out)


def test_curves_land_in_the_record_and_the_report(tmp_path, plain):
    plain = plain[1]
    curved = _run(tmp_path / "curved", "--eval-every", "5")
    assert plain.get("curves") is None
    assert curved["matrix"] == plain["matrix"]  # evaluating inside a stage leaves training untouched
    suite = load_suite("facts")
    names = [t["name"] for t in curved["tasks"]]
    for index, (curve, training) in enumerate(zip(curved["curves"], curved["training"]), start=1):
        assert curve["stage"] == suite.stages[index - 1].name
        assert curve["tasks"] == [t.name for t in curve_tasks(suite, index)]
        assert all(suite.tasks[names.index(name)].stage in (None, *range(1, index + 1)) for name in curve["tasks"])
        steps = training["steps"]
        assert curve["steps"] == [0, *range(5, steps, 5), steps]
        columns = [names.index(name) for name in curve["tasks"]]
        assert curve["values"][0] == [curved["matrix"][index - 1][j] for j in columns]  # the row before the stage
        assert curve["values"][-1] == [curved["matrix"][index][j] for j in columns]  # the stage's own row
        assert len({tuple(v) for v in curve["values"]}) > 2  # the points inside are measured, not copied
    assert CliRunner().invoke(app, ["report", str(tmp_path / "curved")]).exit_code == 0
    assert (tmp_path / "curved" / "stage_curves.png").stat().st_size > 10_000
    assert "## Inside the stages" in (tmp_path / "curved" / "report.md").read_text()


def test_the_gate_passes_the_baseline_configuration_and_fails_ten_times_the_learning_rate(tmp_path, plain):
    """The committed baseline: `cptbench baseline create` over seeds 0, 1, 2 of this run (docs/leaderboard.md)."""
    passed = CliRunner().invoke(app, ["regress", str(plain[0]), "--baseline", str(BASELINE), "--tol", "auto"])
    assert passed.exit_code == 0, passed.output
    recipe = (REPO / "trainers" / "cpt_facts.yaml").read_text()
    assert "learning_rate: 1.0e-3" in recipe
    faster = tmp_path / "cpt_facts_lr10.yaml"
    faster.write_text(recipe.replace("learning_rate: 1.0e-3", "learning_rate: 1.0e-2"))
    _run(tmp_path / "lr10", "--recipe", f"cpt_facts={faster}")
    failed = CliRunner().invoke(app, ["regress", str(tmp_path / "lr10"), "--baseline", str(BASELINE), "--tol", "auto"])
    assert failed.exit_code == 1, failed.output
    assert "FAIL: 2 regression(s) (bwt[logprob], forgetting_first[logprob])" in failed.output
