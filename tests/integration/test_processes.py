"""Stages trained by two processes (torchrun, gloo, DDP through the TRL trainer's Accelerate) on the
first three crossdomain smoke stages of the tiny model: the tokens, steps and matrix of one process, one record,
and a launcher killed by SIGKILL in the middle of a stage resumes.

The recipe keeps the shipped cpt recipe's settings but a global batch of 2 (one process cannot split
a batch of 1) and 128-token rows: politics then packs into 7 rows, so the last global batch is short
and only the filler rows of ``cptbench.train.distributed`` keep a row from being trained twice.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

# Several processes per test (minutes on 2 cores): in CI's `pytest -m slow`, not the default run.
pytestmark = pytest.mark.slow

# Measured on this CPU: 0.0 (gloo sums two numbers per weight, exact here); DDP may reduce in
# another order elsewhere, so a bit more than the last bits of a BPB value is allowed.
MATRIX_TOLERANCE = 1e-6


def record(out: Path) -> dict:
    return json.loads((out / "record.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir, tiny_model_path, batch2_command, processes_reading):
    """The 1-process run, and the 2-process run killed in stage science and run again."""
    folder = tmp_path_factory.mktemp("processes")
    one = subprocess.run(batch2_command(folder / "one"), capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr

    two = folder / "two"
    launcher = subprocess.Popen(batch2_command(two, "--processes", "2"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = two / "trainer" / "2-science-launch" / "progress.json"  # the workers' main process wrote a step
    deadline = time.monotonic() + 300
    while not progress.exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert launcher.poll() is None, "the run ended before stage science trained a step"
    job = progress.with_name("job.json")
    workers = processes_reading(job)
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 30
    while processes_reading(job) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_reading(job)

    again = subprocess.run(batch2_command(two, "--processes", "2"), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    return {"one": folder / "one", "two": two, "workers": workers, "left": left, "resumed": again}


def test_two_processes_train_the_tokens_of_one(runs):
    one, two = record(runs["one"]), record(runs["two"])
    assert two["environment"]["training_processes"] == 2 and "training_processes" not in one["environment"]
    for single, double in zip(one["training"], two["training"], strict=True):
        assert (double["stage"], double["tokens"], double["steps"]) == (single["stage"], single["tokens"], single["steps"])
        assert double["data_order_hash"] == single["data_order_hash"]
    assert len(one["matrix"]) == len(two["matrix"]) == 4
    worst = max(abs(a - b) for r1, r2 in zip(one["matrix"], two["matrix"]) for a, b in zip(r1, r2))
    assert worst <= MATRIX_TOLERANCE, worst
    # one record, written by the process that owns the directory; the launch files are gone
    assert sorted(p.name for p in runs["two"].glob("**/record.json")) == ["record.json"]
    assert not list(runs["two"].glob("trainer/*-launch"))
    assert sorted(p.name for p in (runs["two"] / "logs").glob("train-*.log"))[0] == "train-1-politics.log"


def test_killed_launcher_takes_its_workers_and_resumes(runs):
    assert len(runs["workers"]) >= 3, runs["workers"]  # torchrun and two workers were training
    assert runs["left"] == [], "training processes outlived the killed launcher"
    two = record(runs["two"])
    assert len(two["attempts"]) == 2
    log = (runs["two"] / "logs" / "run.log").read_text()
    assert "resuming after stage politics" in runs["resumed"].stderr  # science was killed mid-stage
    assert log.count("train stage=politics") == 1 and log.count("train stage=science") == 1
