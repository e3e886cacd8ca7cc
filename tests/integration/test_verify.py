"""``cptbench verify``: re-evaluating a run catches a record rewritten to agree with itself."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core import metrics
from cptbench.core.records import load_record, matrix_from_record

SUITE = """
name: verify-mini
version: 1
stages:
  - {{name: politics, recipe: {recipe}, data: {{source: crossner, domain: politics, splits: [train]}}}}
  - {{name: science,  recipe: {recipe}, data: {{source: crossner, domain: science,  splits: [train]}}}}
tasks:
  - {{name: politics_bpb, kind: bpb, stage: politics, data: {{source: crossner, domain: politics, split: test}}}}
  - {{name: science_cloze, kind: cloze, stage: science, data: {{source: crossner, domain: science, split: test}}}}
  - {{name: news_bpb, kind: bpb, stage: general, data: {{source: crossner, domain: conll2003, split: test}}}}
budgets:
  smoke: {{train_tokens: 400, eval_docs: 2, probe_items: 4}}
default_budget: smoke
"""
RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\nper_device_train_batch_size: 1\n"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data_dir, tiny_model_path):
    folder = tmp_path_factory.mktemp("verify")
    (folder / "recipe.yaml").write_text(RECIPE)
    suite = folder / "verify-mini.yaml"
    suite.write_text(SUITE.format(recipe=folder / "recipe.yaml"))
    out = folder / "run"
    result = CliRunner().invoke(app, ["run", "--suite", str(suite), "--model", "tiny-llama", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return suite, out


def copy_of(finished_run, tmp_path):
    suite, out = finished_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("verify", "verification.json"))
    return suite, copy


def verify(suite, run_dir):
    return CliRunner().invoke(app, ["verify", str(run_dir), "--suite", str(suite)])


def test_an_honest_run_is_verified(finished_run, tmp_path):
    suite, run_dir = copy_of(finished_run, tmp_path)
    result = verify(suite, run_dir)
    assert result.exit_code == 0, result.output
    assert "verified (6 cells re-evaluated" in result.output
    written = json.loads((run_dir / "verification.json").read_text())
    assert written["verified"] is True and written["rows"] == [0, 2] and written["max_difference"] <= 1e-5


def test_a_consistent_rewrite_of_the_final_row_is_caught(finished_run, tmp_path):
    suite, run_dir = copy_of(finished_run, tmp_path)
    path = run_dir / "record.json"
    raw = json.loads(path.read_text())
    raw["matrix"][-1][0] *= 0.9  # a better final BPB, with its details, samples and metrics made to agree
    for key in ("nll", "bits"):
        if key in raw["details"][-1][0]:
            raw["details"][-1][0][key] *= 0.9
    samples = raw["samples"][-1][0]
    samples["values"] = [v * 0.9 for v in samples["values"]]
    path.write_text(json.dumps(raw))
    record = load_record(path)
    raw["metrics"] = metrics.as_dict(metrics.compute_all(matrix_from_record(record)))
    path.write_text(json.dumps(raw))
    result = verify(suite, run_dir)
    assert result.exit_code == 1, result.output
    assert "matrix[2] (science) politics_bpb: recorded" in result.output
    assert "NOT verified: 1 cells disagree" in result.output
    assert json.loads((run_dir / "verification.json").read_text())["verified"] is False


def test_a_run_without_its_final_checkpoint_cannot_be_verified(finished_run, tmp_path):
    suite, run_dir = copy_of(finished_run, tmp_path)
    shutil.rmtree(run_dir / "checkpoints")
    result = verify(suite, run_dir)
    assert result.exit_code == 2
    assert "the final checkpoint is gone" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (run_dir / "verification.json").exists() and not (run_dir / "verify").exists()


def test_a_tolerance_too_loose_to_mean_verified_is_refused(finished_run, tmp_path):
    suite, run_dir = copy_of(finished_run, tmp_path)
    result = CliRunner().invoke(app, ["verify", str(run_dir), "--suite", str(suite), "--tolerance", "0.5"])
    assert result.exit_code == 2 and "--tolerance" in result.output
    result = CliRunner().invoke(app, ["verify", str(run_dir / "record.json"), "--suite", str(suite)])
    assert result.exit_code == 2 and "not a run directory" in result.output
    assert not (run_dir / "verify").exists()


def test_another_suite_is_refused(finished_run, tmp_path):
    suite, run_dir = copy_of(finished_run, tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(suite.read_text().replace("version: 1", "version: 2"))
    result = verify(other, run_dir)
    assert result.exit_code == 2 and "pass --suite with the file it ran" in result.output


def test_submit_carries_only_a_verification_of_this_very_record(finished_run, tmp_path):
    from cptbench.publish.submissions import SubmissionError, verification_of

    suite, run_dir = copy_of(finished_run, tmp_path)
    record_file = run_dir / "record.json"
    assert verification_of(record_file) is None  # never verified: the entry shows a dash
    assert verify(suite, run_dir).exit_code == 0
    verified = verification_of(record_file)
    assert verified.rows == [0, 2] and verified.cells == 6 and verified.tolerance == 1e-5
    original = record_file.read_text()
    record_file.write_text(original.replace('"seed": 0', '"seed": 0 '))  # any byte changed
    with pytest.raises(SubmissionError, match="record_sha256 is not that of record.json"):
        verification_of(record_file)
    record_file.write_text(original)
    written = json.loads((run_dir / "verification.json").read_text())
    (run_dir / "verification.json").write_text(json.dumps({**written, "verified": False, "disagreements": ["matrix[2] x"]}))
    with pytest.raises(SubmissionError, match="verified is not true"):
        verification_of(record_file)


def test_items_rewritten_with_the_same_sums_are_caught(finished_run, tmp_path):
    """A rewrite that keeps every cell, detail and metric (the items of a bpb cell shuffled between
    documents of the same size is invisible to the board) differs from the re-evaluated items."""
    suite, run_dir = copy_of(finished_run, tmp_path)
    path = run_dir / "record.json"
    raw = json.loads(path.read_text())
    values = raw["samples"][-1][0]["values"]
    raw["samples"][-1][0]["values"] = [values[0] + values[1] - v for v in values[:2]] + values[2:]  # same sum
    path.write_text(json.dumps(raw))
    result = verify(suite, run_dir)
    assert result.exit_code == 1, result.output
    assert "samples[2] (science) politics_bpb: item 0: recorded value" in result.output
    assert "NOT verified: 1 cells disagree" in result.output


# --- verify --reproduce: every row trained and evaluated again ----------------------------------


def reproduce(suite, run_dir, *extra):
    return CliRunner().invoke(app, ["verify", str(run_dir), "--suite", str(suite), "--reproduce", *extra])


def rewrite_consistently(path, row, column, factor):
    """A forger's edit of one cell: its details, per-item values and the metrics made to agree."""
    raw = json.loads(path.read_text())
    raw["matrix"][row][column] *= factor
    for key in ("nll", "bits"):
        if key in raw["details"][row][column]:
            raw["details"][row][column][key] *= factor
    raw["samples"][row][column]["values"] = [v * factor for v in raw["samples"][row][column]["values"]]
    path.write_text(json.dumps(raw))
    raw["metrics"] = metrics.as_dict(metrics.compute_all(matrix_from_record(load_record(path))))
    path.write_text(json.dumps(raw))


def test_an_honest_run_is_reproduced_and_the_board_says_so(finished_run, tmp_path):
    suite, run_dir = copy_of(finished_run, tmp_path)
    result = reproduce(suite, run_dir)
    assert result.exit_code == 0, result.output
    assert "reproduced (2 stages trained again, rows 0, 1, 2: 9 cells and their items re-evaluated, largest difference 0)" \
        in result.output
    written = json.loads((run_dir / "verification.json").read_text())
    assert written["level"] == "reproduced" and written["verified"] is True and written["rows"] == [0, 1, 2]
    assert written["cells"] == 9 and written["max_difference"] == 0.0
    # the reproduction's run directory (checkpoints) is gone; its record is kept as the summary
    assert not (run_dir / "verify" / "reproduce").exists()
    kept = load_record(run_dir / "verify" / "reproduced-record.json")
    assert kept.matrix == load_record(run_dir / "record.json").matrix
    boards = tmp_path / "boards"
    result = CliRunner().invoke(app, ["submit", str(run_dir), "--name", "mini-naive", "--suite", str(suite),
                                      "--leaderboards", str(boards)])
    assert result.exit_code == 0, result.output
    [readme] = boards.glob("*/README.md")
    assert "| reproduced (cptbench " in readme.read_text()
    [page] = boards.glob("*/index.html")
    assert "reproduced: every row (0, 1, 2) trained and evaluated again" in page.read_text()


def test_a_middle_row_rewritten_is_seen_only_by_reproduce(finished_run, tmp_path):
    """Row 1 (after politics) made better with its details, items and metrics: the board's checks and
    a plain verify (rows 0 and 2) pass it; training again does not."""
    from cptbench.publish.submissions import SubmissionError, verification_of

    suite, run_dir = copy_of(finished_run, tmp_path)
    rewrite_consistently(run_dir / "record.json", row=1, column=0, factor=0.9)
    raw = json.loads((run_dir / "record.json").read_text())
    raw["training"][0]["final_loss"] *= 0.5  # a claim about training no static check can recompute
    (run_dir / "record.json").write_text(json.dumps(raw))
    assert verify(suite, run_dir).exit_code == 0
    result = reproduce(suite, run_dir)
    assert result.exit_code == 1, result.output
    assert "matrix[1] (politics) politics_bpb: recorded" in result.output
    assert "samples[1] (politics) politics_bpb: item 0: recorded value" in result.output
    assert "training[politics].final_loss: recorded" in result.output
    assert "NOT reproduced: 1 cells and 1 stages' training or curves disagree" in result.output
    written = json.loads((run_dir / "verification.json").read_text())
    assert written["level"] == "reproduced" and written["verified"] is False
    with pytest.raises(SubmissionError, match="verified is not true"):
        verification_of(run_dir / "record.json")


def test_what_cannot_be_reproduced_is_one_line(finished_run, tmp_path):
    """Checked before any training: exit 2, one line, nothing trained."""
    suite, run_dir = copy_of(finished_run, tmp_path)
    config = json.loads((run_dir / "config.json").read_text())

    def refused(*fragments, suite=suite):
        result = reproduce(suite, run_dir)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1, result.output
        assert all(f in lines[0] for f in fragments), lines[0]
        assert not (run_dir / "verify" / "reproduce").exists() and not (run_dir / "verification.json").exists()

    refused("no-such-suite.yaml", suite=tmp_path / "no-such-suite.yaml")  # the suite file is gone
    (run_dir / "config.json").write_text(json.dumps({**config, "fingerprint": {**config["fingerprint"], "seed": 1}}))
    refused("record.json: its seed is not the one", "config.json ran")
    (run_dir / "config.json").write_text(json.dumps({**config, "fingerprint": {**config["fingerprint"], "dtype": "bf16"}}))
    refused("cannot run that configuration again (differs in: dtype)")
    (run_dir / "config.json").unlink()
    refused("config.json: missing")


def test_a_forged_reproduced_mark_is_refused(finished_run, tmp_path):
    """A verification.json claiming the reproduced level for the rows plain verify re-evaluated."""
    from cptbench.publish.submissions import SubmissionError, verification_of

    suite, run_dir = copy_of(finished_run, tmp_path)
    assert verify(suite, run_dir).exit_code == 0
    path = run_dir / "verification.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "level": "reproduced"}))
    record = load_record(run_dir / "record.json")
    with pytest.raises(SubmissionError, match=r"verification: rows \[0, 2\] and 6 cells are not what verify --reproduce"):
        verification_of(run_dir / "record.json", record)
    path.write_text(json.dumps({**json.loads(path.read_text()), "level": "retrained"}))
    with pytest.raises(SubmissionError, match="level"):
        verification_of(run_dir / "record.json")
