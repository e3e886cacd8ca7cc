"""A sweep's job on submitit's real local executor, with a shell command standing in for `cptbench
run` (cheap; tests/integration/test_sweep.py runs real ones): it runs the command, sees the
environment it is given, reports a failure with its error line, and outlives a submitting process
that is stopped by Ctrl-C or by its terminal closing."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cptbench.run.sweep import PointEntry
from cptbench.run.sweep_jobs import ExecutorOptions, RunPoint, job_active, job_error, make_executor

SUBMITTER = """
import signal, sys, time
from pathlib import Path
from cptbench.run.sweep_jobs import ExecutorOptions, RunPoint, make_executor
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
job = make_executor(ExecutorOptions(), folder).submit(RunPoint(("/bin/sh", "-c", f"sleep 6; echo ok > {out}"), out))
print(job.job_id, flush=True)
time.sleep(60)
"""


def shell(command: str, out: Path) -> RunPoint:
    return RunPoint(("/bin/sh", "-c", command), out, {"CUDA_VISIBLE_DEVICES": "3", "CPTBENCH_SWEEP_TEST_UNSET": None})


def test_a_job_runs_its_command_with_the_environment_it_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("CPTBENCH_SWEEP_TEST_UNSET", "visible")
    out = tmp_path / "out.txt"
    folder = tmp_path / "submitit" / "%j"
    job = make_executor(ExecutorOptions(), folder).submit(
        shell(f'echo "gpus=$CUDA_VISIBLE_DEVICES unset=${{CPTBENCH_SWEEP_TEST_UNSET:-}}" > {out}', out))
    assert job.result() == str(out)  # submitit's local controller would have set CUDA_VISIBLE_DEVICES=""
    assert out.read_text() == "gpus=3 unset=\n"


def test_a_failed_job_is_named_by_its_error_line(tmp_path):
    folder = tmp_path / "submitit" / "%j"
    job = make_executor(ExecutorOptions(), folder).submit(shell("echo 'error: --thing x: broken' >&2; exit 2", tmp_path / "o"))
    with pytest.raises(Exception, match="returned non-zero exit status 2"):
        job.result()
    entry = PointEntry(name="p", run_dir="r", argv=(), executor="local", job_id=job.job_id)
    assert job_error(entry, folder) == f"error: --thing x: broken (job log: {folder.parent / job.job_id / (job.job_id + '_0_log.err')})"
    assert job_active(entry, folder) is None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "hangup"])
def test_a_local_job_outlives_ctrl_c_and_a_closed_terminal(tmp_path, signum):
    """The submitter is started as a terminal starts a command (its own process group, SIGINT and
    SIGHUP at their defaults); the signal goes to the whole group, as the terminal sends it."""
    out = tmp_path / "out.txt"
    reset = lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGHUP)]
    submitter = subprocess.Popen([sys.executable, "-c", SUBMITTER, str(tmp_path / "submitit" / "%j"), str(out)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                 start_new_session=True, preexec_fn=reset)
    job_id = submitter.stdout.readline().strip()
    entry = PointEntry(name="p", run_dir="r", argv=(), executor="local", job_id=job_id)
    cmdline = Path(f"/proc/{job_id}/cmdline").read_bytes() if Path(f"/proc/{job_id}").exists() else b"(gone)"
    assert job_active(entry, tmp_path / "submitit" / "%j") == "running", cmdline
    subprocess.run(["kill", f"-{signum.name.removeprefix('SIG')}", "--", f"-{submitter.pid}"], check=True)
    assert submitter.wait(10) == -signum  # the submitter died of it ...
    deadline = time.monotonic() + 40
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert out.read_text() == "ok\n"  # ... its job did not
