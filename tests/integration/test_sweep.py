"""`cptbench sweep` on submitit's local executor with real tiny-model runs: Ctrl-C on the sweep
command leaves the running job running, the same command again skips what finished and runs the
rest, and the report holds both configurations' seed views and their comparison.

The sweep command is started the way a terminal starts it: in a process group of its own, with
SIGINT at its default, and "Ctrl-C" is SIGINT to that whole group (what the terminal sends).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

SMOKE = ["--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama"]
GRID = ["--seeds", "0,1", "--methods", "naive,merge:0.7"]
POINTS = ["crossdomain-smoke-tiny-llama-s0", "crossdomain-smoke-tiny-llama-merge-alpha0.7-s0",
          "crossdomain-smoke-tiny-llama-s1", "crossdomain-smoke-tiny-llama-merge-alpha0.7-s1"]  # seed-major


def sweep(*args):
    return [sys.executable, "-m", "cptbench", "sweep", *args]


def terminal_default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # pytest may run with SIGINT ignored (nohup, CI)


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.5)


def job_id(out, index):
    try:
        return json.loads((out / "sweep.json").read_text())["points"][index]["job_id"]
    except (OSError, ValueError, KeyError):
        return None  # not written yet, or being replaced


def test_interrupted_sweep_keeps_its_job_resumes_and_reports(tmp_path, data_dir, tiny_model_path):
    out = tmp_path / "sweep"
    record = lambda i: out / "points" / POINTS[i] / "record.json"
    started = time.monotonic()
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(sweep(*SMOKE, *GRID, "--out", str(out)), stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, preexec_fn=terminal_default_sigint)
    try:
        # Ctrl-C once the first point has finished and the second is submitted (local: one at a time)
        wait_for(lambda: record(0).exists() and job_id(out, 1) is not None, 240, "the first point and the second's job")
        os.killpg(first.pid, signal.SIGINT)
        assert first.wait(30) == 130
    finally:
        if first.poll() is None:
            first.kill()
    first_log = (tmp_path / "first.log").read_text()
    assert "[1/4] finished crossdomain-smoke-tiny-llama-s0" in first_log
    assert "interrupted: submitted jobs keep running" in first_log
    assert not record(1).exists()  # it was running when the sweep command stopped

    # The job was not cancelled: it finishes on its own, in one attempt (not killed and resumed) ...
    wait_for(lambda: record(1).exists(), 240, "the interrupted sweep's running point to finish")
    attempts = json.loads((out / "points" / POINTS[1] / "attempts.json").read_text())["attempts"]
    assert len(attempts) == 1
    # ... and nothing was submitted after the interrupt
    assert not (out / "points" / POINTS[2]).exists() and not (out / "points" / POINTS[3]).exists()
    status = _status(out)
    assert status.count("| finished |") == 2 and status.count("| pending |") == 2

    # A different grid on the same directory is refused before anything is submitted
    other = subprocess.run(sweep(*SMOKE, "--seeds", "0,1,2", "--methods", "naive,merge:0.7", "--out", str(out)),
                           capture_output=True, text=True, timeout=120)
    assert other.returncode == 2
    assert other.stderr.strip().splitlines()[-1] == (f"error: {out / 'sweep.json'}: the sweep directory holds another grid "
                                                     "(differs in: seeds); use another --out, or the same options as before")

    # The same command again: skips the two finished points, runs the two others, writes the report
    again = subprocess.run(sweep(*SMOKE, *GRID, "--out", str(out)), capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("finished before: ") == 2 and again.stderr.count("submitted ") == 2
    assert f"[4/4] finished {POINTS[3]}" in again.stderr and f"wrote {out / 'report.md'}" in again.stderr
    report = (out / "report.md").read_text()
    assert report.strip() == again.stdout.strip()
    assert "crossdomain v3, budget `smoke`: tiny-llama, naive, seeds 0, 1" in report
    assert "crossdomain v3, budget `smoke`: tiny-llama, merge (alpha=0.7), seeds 0, 1" in report
    assert "- **A**: tiny-llama s0,s1 (crossdomain smoke, naive)" in report
    assert "- **B**: tiny-llama s0,s1 (crossdomain smoke, merge (alpha=0.7))" in report
    assert "B − A [95 % interval]" in report
    assert _status(out).count("| finished |") == 4 and "4 points: 4 finished" in _status(out)
    print(f"2 x 2 sweep with an interruption: {time.monotonic() - started:.0f} s")


def _status(out):
    done = subprocess.run(sweep("status", str(out)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_failed_point_is_named_with_its_runs_error(tmp_path, data_dir):
    out = tmp_path / "sweep"
    done = subprocess.run(sweep("--suite", "crossdomain", "--budget", "smoke", "--model", "no-such-model", "--out", str(out)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "failed: crossdomain-smoke-no-such-model-s0: error: --model no-such-model: not an alias" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: 1 of 1 points failed (cptbench sweep status {out}); the same command again resubmits them and their runs resume")
    status = _status(out)
    assert "| failed |" in status and "error: --model no-such-model" in status
    assert not (out / "report.md").exists()


@pytest.mark.parametrize("args", [["report"], ["status"]])
def test_report_and_status_need_a_sweep_directory(tmp_path, args):
    done = subprocess.run(sweep(*args, str(tmp_path)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path}: not a sweep directory (no sweep.json)"
