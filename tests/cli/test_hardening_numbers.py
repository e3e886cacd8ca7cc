"""No silent wrong numbers, no traceback on a wrong one: a NaN or an infinity anywhere in a record
(timings, a stage's final loss), samples that cannot determine their cell, a baseline whose items
weigh nothing or that holds nothing to compare, and a submission too deep or too large to read
are each one ``error:`` line with exit code 2, and nothing is written.

The record is a committed facts submission without its header: a real run's record, checked by
``submit`` against the shipped suite in seconds, with no model."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.resources import tasks_dir

SUBMISSION = tasks_dir().parent / "leaderboards" / "facts" / "submissions" / "facts-naive-s0.json"


@pytest.fixture
def run_dir(tmp_path):
    record = json.loads(SUBMISSION.read_text())
    record.pop("submission")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "record.json").write_text(json.dumps(record, indent=1))
    return folder


def rewrite(run_dir, change):
    path = run_dir / "record.json"
    text = path.read_text()
    path.write_text(change(text) if callable(change) else change)


def edit_record(run_dir, change):
    path = run_dir / "record.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, indent=1))  # NaN and Infinity are written as JSON's non-standard tokens


def one_error(result, *fragments):
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def test_the_unchanged_record_is_accepted(run_dir, tmp_path):
    result = CliRunner().invoke(app, ["submit", str(run_dir), "--name", "honest", "--leaderboards", str(tmp_path / "lb")])
    assert result.exit_code == 0, result.output


RECORD_CASES = {
    "NaN in timings": (lambda r: r["timings"].__setitem__("train_seconds", float("nan")), ["timings.train_seconds: NaN", "not finite"]),
    "infinite timing": (lambda r: r["timings"].__setitem__("total_seconds", float("inf")), ["timings.total_seconds: Infinity", "not finite"]),
    "NaN final loss": (lambda r: r["training"][0].__setitem__("final_loss", float("nan")), ["training[0].final_loss: NaN", "not finite"]),
    "samples of another length": (lambda r: r["samples"][0][0]["values"].pop(), ["samples"]),
    "samples without items": (lambda r: r["samples"][0][0].update(values=[], weights=None), ["samples"]),
    "weights all zero": (lambda r: [c.update(weights=[0.0] * len(c["values"])) for row in r["samples"] for c in row if c],
                         ["samples", "weights: all zero"]),
}


@pytest.mark.parametrize("name", sorted(RECORD_CASES))
def test_bad_numbers_in_a_record_at_submit_and_report(run_dir, tmp_path, name):
    change, fragments = RECORD_CASES[name]
    edit_record(run_dir, change)
    boards = tmp_path / "lb"
    one_error(CliRunner().invoke(app, ["submit", str(run_dir), "--name", "x", "--leaderboards", str(boards)]),
              "record.json", *fragments)
    assert not boards.exists()
    one_error(CliRunner().invoke(app, ["report", str(run_dir)]), "record.json", *fragments)
    assert sorted(p.name for p in run_dir.iterdir()) == ["record.json"]


def test_overflowing_float_is_not_finite(run_dir):
    rewrite(run_dir, lambda text: text.replace('"train_seconds": ', '"train_seconds": 1e999, "x": ', 1))
    one_error(CliRunner().invoke(app, ["report", str(run_dir)]), "record.json", "not finite")


@pytest.fixture
def baseline(run_dir, tmp_path):
    path = tmp_path / "baseline.json"
    result = CliRunner().invoke(app, ["baseline", "create", str(run_dir), "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def edit_baseline(path, change):
    baseline = json.loads(path.read_text())
    change(baseline)
    path.write_text(json.dumps(baseline))


def zero_weights(baseline):
    for run in baseline["runs"]:
        for row in run["samples"]:
            for cell in row:
                if cell and cell.get("weights") is None:
                    cell["weights"] = [0.0] * len(cell["values"])


@pytest.mark.parametrize(
    "change,fragment",
    [
        (zero_weights, "weights: all zero"),
        (lambda b: b.update(metrics={}, tolerances={}), "nothing to compare"),
    ],
)
def test_bad_baseline_is_one_line(run_dir, baseline, change, fragment):
    edit_baseline(baseline, change)
    result = CliRunner().invoke(app, ["regress", str(run_dir), "--baseline", str(baseline), "--tol", "auto"])
    one_error(result, "baseline.json", fragment)


@pytest.fixture
def boards(tmp_path):
    root = tmp_path / "leaderboards"
    shutil.copytree(SUBMISSION.parent.parent, root / "facts", ignore=shutil.ignore_patterns(".lock"))
    return root


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than"),
        ('{"seed": 1' + "0" * 5000 + "}", "digits"),
        ('{"seed": NaN}', "not finite"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_one_hostile_submission_is_one_line_for_the_whole_board(boards, content, fragment):
    path = boards / "facts" / "submissions" / "hostile.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    files = lambda: {p: p.read_bytes() for p in (boards / "facts").rglob("*") if p.is_file() and p.name != ".lock"}  # noqa: E731
    before = files()
    for extra in (["--check"], []):  # regenerating takes the board's lock (an ignored file) to read and write
        result = CliRunner().invoke(app, ["leaderboard", "facts", "--leaderboards", str(boards), *extra])
        one_error(result, "hostile.json", fragment)
    assert files() == before


def test_bad_sort_writes_nothing(boards):
    before = sorted(p.name for p in (boards / "facts").iterdir())
    result = CliRunner().invoke(app, ["leaderboard", "facts", "--leaderboards", str(boards), "--sort", "bogus"])
    one_error(result, "--sort bogus")
    assert sorted(p.name for p in (boards / "facts").iterdir()) == before
