"""Bring your own trainer: ``export`` hands out exactly what ``run`` trains on; checkpoints trained
outside ``run`` and evaluated by ``evaluate-sequence`` give ``run``'s matrix; the record is marked
external and a leaderboard accepts it."""

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.config.suites import load_recipe

REPO = Path(__file__).resolve().parents[2]
SMOKE = ["--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def exported_and_run(tmp_path_factory, data_dir, tiny_model_path):
    root = tmp_path_factory.mktemp("external")
    invoke("export", *SMOKE, "--out", root / "export")
    invoke("run", *SMOKE, "--out", root / "run")
    return root, json.loads((root / "export" / "manifest.json").read_text()), json.loads((root / "run" / "record.json").read_text())


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_is_exactly_what_run_trains_on(exported_and_run):
    root, manifest, record = exported_and_run
    assert [s["stage"] for s in manifest["stages"]] == record["stages"]
    for stage, trained in zip(manifest["stages"], record["training"]):
        texts = [row["text"] for row in rows(root / "export" / stage["file"])]
        # the run's data_order_hash is the sha256 of the texts it trained on, in order
        assert hashlib.sha256("\x1e".join(texts).encode()).hexdigest() == trained["data_order_hash"]
        assert (stage["documents"], stage["corpus_tokens"]) == (trained["documents"], trained["corpus_tokens"])
        assert stage["sha256"] == hashlib.sha256((root / "export" / stage["file"]).read_bytes()).hexdigest()
    assert manifest["suite"]["hash"] == record["suite"]["hash"] and manifest["seed"] == record["seed"]


def test_checkpoints_trained_outside_run_give_runs_matrix(exported_and_run, tiny_model_path):
    from cptbench.train.cpt import train_cpt

    root, manifest, record = exported_and_run
    recipe = load_recipe("cpt", "cpt")
    checkpoints = [tiny_model_path]
    for k, stage in enumerate(manifest["stages"]):  # the reference trainer, called outside run
        texts = [row["text"] for row in rows(root / "export" / stage["file"])]
        out = root / "ckpt" / stage["stage"]
        train_cpt(checkpoints[-1], texts, recipe, out, seed=0, work_dir=root / "work" / stage["stage"], first_stage=k == 0)
        checkpoints.append(out)
    invoke("evaluate-sequence", *checkpoints, "--suite", "crossdomain", "--budget", "smoke", "--out", root / "seq",
           "--manifest", root / "export" / "manifest.json", "--trainer", "cptbench train_cpt, called by a test")
    external = json.loads((root / "seq" / "record.json").read_text())
    assert external["matrix"] == record["matrix"]  # the same training, the same numbers, to the bit
    assert external["metrics"] == record["metrics"]
    assert external["trainer"]["declared"] == "cptbench train_cpt, called by a test"
    assert external["trainer"]["manifest_sha256"] == hashlib.sha256((root / "export" / "manifest.json").read_bytes()).hexdigest()
    assert [t["steps"] for t in external["training"]] == [None] * len(manifest["stages"])

    boards = root / "boards"
    invoke("submit", root / "seq", "--name", "external-test", "--leaderboards", boards)
    page = (boards / "crossdomain" / "README.md").read_text()
    assert "cptbench train_cpt, called by a test" in page


def test_wrong_inputs_are_refused(exported_and_run, tiny_model_path):
    root, manifest, _ = exported_and_run
    few = CliRunner().invoke(app, ["evaluate-sequence", str(tiny_model_path), str(tiny_model_path), "--suite", "crossdomain",
                                   "--budget", "smoke", "--out", str(root / "few"), "--trainer", "x"])
    assert few.exit_code == 2 and "--checkpoints: 2 given, the suite needs 6" in few.output
    assert not (root / "few").exists()
    six = [str(tiny_model_path)] * 6
    other_seed = CliRunner().invoke(app, ["evaluate-sequence", *six, "--suite", "crossdomain", "--budget", "smoke", "--seed", "1",
                                          "--manifest", str(root / "export" / "manifest.json"), "--out", str(root / "bad"), "--trainer", "x"])
    assert other_seed.exit_code == 2 and "manifest.json: seed: 0 differs from this run's 1" in other_seed.output
    not_a_model = CliRunner().invoke(app, ["evaluate-sequence", *six[:5], str(root / "export"), "--suite", "crossdomain",
                                           "--budget", "smoke", "--out", str(root / "bad2"), "--trainer", "x"])
    assert not_a_model.exit_code == 2 and "export" in not_a_model.output
    assert not (root / "bad").exists() and not (root / "bad2").exists()
    broken = root / "broken-manifest.json"
    broken.write_text(json.dumps({**manifest, "stages": "five"}))
    corrupted = CliRunner().invoke(app, ["evaluate-sequence", *six, "--suite", "crossdomain", "--budget", "smoke",
                                         "--manifest", str(broken), "--out", str(root / "bad3"), "--trainer", "x"])
    assert corrupted.exit_code == 2 and "broken-manifest.json: suite and stages: not a cptbench export manifest" in corrupted.output
    assert not (root / "bad3").exists()


def test_the_shipped_example_script_trains_stages_that_submit_accepts(exported_and_run, tiny_model_path):
    import subprocess
    import sys

    root, manifest, _ = exported_and_run
    checkpoints = [tiny_model_path]
    for stage in manifest["stages"]:
        out = root / "example" / stage["stage"]
        subprocess.run([sys.executable, str(REPO / "examples" / "external_trainer" / "train_stage.py"), "--model",
                        str(checkpoints[-1]), "--data", str(root / "export" / stage["file"]), "--out", str(out),
                        "--learning-rate", "1e-3", "--block", "128"], check=True, capture_output=True)
        checkpoints.append(out)
    invoke("evaluate-sequence", *checkpoints, "--suite", "crossdomain", "--budget", "smoke", "--out", root / "example-seq",
           "--manifest", root / "export" / "manifest.json", "--trainer", "examples/external_trainer/train_stage.py")
    record = json.loads((root / "example-seq" / "record.json").read_text())
    assert record["matrix"][1] != record["matrix"][0]  # the script trained something
    invoke("submit", root / "example-seq", "--name", "example-script", "--leaderboards", root / "boards2")
