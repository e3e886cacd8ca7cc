"""Runs that survive: kill -9 at chosen points, resume, and get the uninterrupted matrix.

Each run is a real subprocess on the tiny model; ``CPTBENCH_FAULT`` makes it SIGKILL itself at an
exact point (cptbench/core/faults.py), which is what ``kill -9`` at that moment would do.
"""

import json
import os
import subprocess
import sys

import pytest

from cptbench.run.lock import run_lock

SUITE = """
name: resume-mini
version: 1
stages:
  - {{name: politics, recipe: {recipe}, data: {{source: crossner, domain: politics, splits: [train]}}}}
  - {{name: science,  recipe: {recipe}, data: {{source: crossner, domain: science,  splits: [train]}}}}
tasks:
  - {{name: politics_bpb, kind: bpb, stage: politics, data: {{source: crossner, domain: politics, split: test}}}}
  - {{name: science_bpb,  kind: bpb, stage: science,  data: {{source: crossner, domain: science,  split: test}}}}
  - {{name: reuters_bpb,  kind: bpb, stage: general,  data: {{source: crossner, domain: conll2003, split: test}}}}
budgets:
  smoke: {{train_tokens: 700, eval_docs: 2}}
default_budget: smoke
"""
RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\nper_device_train_batch_size: 1\nsave_steps: 2\n"


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory, data_dir, tiny_model_path):
    folder = tmp_path_factory.mktemp("suite")
    (folder / "recipe.yaml").write_text(RECIPE)
    path = folder / "resume-mini.yaml"
    path.write_text(SUITE.format(recipe=folder / "recipe.yaml"))
    return path


def cptbench(suite_file, out, *extra, fault=None):
    env = dict(os.environ)
    env.pop("CPTBENCH_FAULT", None)
    if fault:
        env["CPTBENCH_FAULT"] = fault
    command = [sys.executable, "-m", "cptbench", "run", "--suite", str(suite_file), "--model", "tiny-llama", "--out", str(out), *extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def matrix(out):
    return json.loads((out / "record.json").read_text())["matrix"]


@pytest.fixture(scope="module")
def reference(suite_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    done = cptbench(suite_file, out)
    assert done.returncode == 0, done.stderr
    assert len(json.loads((out / "record.json").read_text())["attempts"]) == 1
    return matrix(out)


def test_kill_during_training_resumes_from_the_trainer_checkpoint(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    killed = cptbench(suite_file, out, fault="train:science:step:5")
    assert killed.returncode == -9
    assert (out / "trainer" / "2-science" / "checkpoint-4").is_dir()  # saved every 2 steps
    assert not (out / "record.json").exists()
    resumed = cptbench(suite_file, out)
    assert resumed.returncode == 0, resumed.stderr
    assert matrix(out) == reference
    assert not (out / "trainer" / "2-science").exists()
    record = json.loads((out / "record.json").read_text())
    assert len(record["attempts"]) == 2 and record["attempts"][0] > 0  # the killed process's time counts
    assert record["timings"]["total_seconds"] == pytest.approx(sum(record["attempts"]))
    assert record["timings"]["total_seconds"] > record["timings"]["train_seconds"]


def test_kill_during_evaluation_keeps_finished_cells(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    killed = cptbench(suite_file, out, fault="eval:1:science_bpb")
    assert killed.returncode == -9
    killed_attempt = json.loads((out / "attempts.json").read_text())["attempts"]
    assert len(killed_attempt) == 1 and killed_attempt[0]["eval_seconds"] > 0
    finished = out / "eval" / "1-politics" / "politics_bpb.json"
    before = finished.stat().st_mtime_ns
    assert not (out / "eval" / "1-politics" / "reuters_bpb.json").exists()
    resumed = cptbench(suite_file, out)
    assert resumed.returncode == 0, resumed.stderr
    assert finished.stat().st_mtime_ns == before  # read back, not recomputed
    assert matrix(out) == reference
    record = json.loads((out / "record.json").read_text())
    assert record["timings"]["eval_seconds"] > killed_attempt[0]["eval_seconds"]  # both attempts' evaluations


def test_kill_between_stages_resumes_after_the_finished_stage(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    killed = cptbench(suite_file, out, fault="before-train:science")
    assert killed.returncode == -9
    assert (out / "checkpoints" / "1-politics").is_dir()
    resumed = cptbench(suite_file, out)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after stage politics" in resumed.stderr
    assert json.loads((out / "record.json").read_text())["backend"]["prefix_token"] == "<|endoftext|>"
    assert matrix(out) == reference
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["2-science"]


def test_finished_run_is_not_redone(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    assert cptbench(suite_file, out).returncode == 0
    record = (out / "record.json").read_text()
    again = cptbench(suite_file, out)
    assert again.returncode == 0 and "already finished" in again.stderr
    assert (out / "record.json").read_text() == record


def test_second_process_is_refused_and_stale_lock_taken_over(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    with run_lock(out / ".lock"):  # a live owner: this test process holds the flock
        busy = cptbench(suite_file, out)
    assert busy.returncode == 3 and f"in use by process {os.getpid()}" in busy.stderr
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".lock").write_text(str(dead.pid))  # a leftover lock file naming a dead owner blocks nothing
    taken = cptbench(suite_file, out)
    assert taken.returncode == 0, taken.stderr
    assert matrix(out) == reference
    with run_lock(out / ".lock"):  # the lock file stays (flock never deletes it), and nobody holds it
        pass


def test_other_configuration_is_refused_unless_forced(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    assert cptbench(suite_file, out).returncode == 0
    refused = cptbench(suite_file, out, "--seed", "1")
    assert refused.returncode == 2 and "differs in: seed" in refused.stderr
    assert [line for line in refused.stderr.splitlines() if line.startswith("error:")] and "Traceback" not in refused.stderr
    forced = cptbench(suite_file, out, "--seed", "1", "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((out / "record.json").read_text())["seed"] == 1


def test_lock_is_never_seen_empty(tmp_path):
    """Many processes race for one lock: exactly one wins each round, none sees a half-written file."""
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom cptbench.run.lock import run_lock, RunLockedError\n"
        "try:\n    with run_lock(Path(sys.argv[1])):\n        time.sleep(4.0)\n    print('won')\n"
        "except RunLockedError:\n    print('refused')\n"
    )
    racers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / ".lock")], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    outcomes = sorted(p.communicate()[0].strip() for p in racers)
    assert outcomes.count("won") == 1 and outcomes.count("refused") == 5


def test_resumed_stage_keeps_every_loss(suite_file, reference, tmp_path):
    out = tmp_path / "run"
    assert cptbench(suite_file, out, fault="train:politics:step:5").returncode == -9
    assert cptbench(suite_file, out).returncode == 0
    train = json.loads((out / "train" / "1-politics.json").read_text())
    assert len(train["losses"]) == train["steps"] > 5  # losses logged before the kill are kept
