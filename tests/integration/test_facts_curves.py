"""The facts suite's smoke budget on the tiny model with curves inside the stages: the points land in
the record (from the row before each stage to its own row), the report draws them, and measuring
them changes nothing in the matrix."""

import json

from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.config.suites import load_suite
from cptbench.run.curves import curve_tasks


def _run(out, *extra):
    result = CliRunner().invoke(app, ["run", "--suite", "facts", "--budget", "smoke", "--model", "tiny-llama",
                                      "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "record.json").read_text())


def test_curves_land_in_the_record_and_the_report(tmp_path, data_dir, tiny_model_path):
    plain = _run(tmp_path / "plain")
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
