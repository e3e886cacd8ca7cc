"""Two "nodes" on 127.0.0.1 (two `cptbench run --nodes 2` commands, one process each, torchrun's c10d
rendezvous) train the first three crossdomain smoke stages of the tiny model to the tokens, steps and matrix of
one process; a node killed in the middle of a stage brings the other down, and the same two
commands resume the run. Plus the checks that need no training: the options, the launch commands,
and a job left by a dead run that a follower must not join."""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from cptbench.core.errors import ConfigError
from cptbench.run.launcher import Nodes, launch_command
from cptbench.run.nodes import _live_job

# Several processes per test (minutes on 2 cores): in CI's `pytest -m slow`, not the default run.
pytestmark = pytest.mark.slow

MATRIX_TOLERANCE = 1e-6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_nodes(command, out: Path, port: int) -> list[subprocess.Popen]:
    nodes = ["--processes", "1", "--nodes", "2", "--main-address", "127.0.0.1", "--main-port", str(port)]
    return [subprocess.Popen(command(out, *nodes, "--node-rank", str(rank)), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for rank in (1, 0)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir, tiny_model_path, batch2_command, processes_reading):
    """The 1-process run; the 2-node run with node 1 killed in stage science, then both started again."""
    folder = tmp_path_factory.mktemp("nodes")
    one = subprocess.run(batch2_command(folder / "one"), capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr

    two, port = folder / "two", free_port()
    follower, main = start_nodes(batch2_command, two, port)
    progress = two / "trainer" / "2-science-launch" / "progress.json"
    deadline = time.monotonic() + 400
    while not progress.exists() and main.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert main.poll() is None, main.communicate()[1]
    job = progress.with_name("job.json")
    os.kill(follower.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    _, main_err = main.communicate(timeout=120)
    down_after, main_code = time.monotonic() - killed_at, main.returncode
    follower.communicate()
    deadline = time.monotonic() + 30
    while processes_reading(job) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_reading(job)

    follower, main = start_nodes(batch2_command, two, port)
    main_out, main_again = main.communicate(timeout=600)
    follower_out, follower_err = follower.communicate(timeout=60)
    return {"one": folder / "one", "two": two, "main_code": main_code, "main_err": main_err, "down_after": down_after,
            "left": left, "again": (main.returncode, main_again), "follower": (follower.returncode, follower_out, follower_err)}


def record(out: Path) -> dict:
    return json.loads((out / "record.json").read_text())


def test_a_killed_node_brings_the_other_down(runs):
    assert runs["main_code"] not in (0, None)
    assert "on each of 2 nodes exited" in runs["main_err"], runs["main_err"][-2000:]
    assert runs["down_after"] < 60, runs["down_after"]
    assert runs["left"] == [], "training processes outlived the killed node"


def test_two_nodes_resume_and_train_the_tokens_of_one_process(runs):
    code, err = runs["again"]
    assert code == 0, err[-3000:]
    assert "resuming after stage politics" in err
    follower_code, follower_out, follower_err = runs["follower"]
    assert follower_code == 0, follower_err[-3000:]
    assert "training 2-science" in follower_out and "training 3-music" in follower_out
    one, two = record(runs["one"]), record(runs["two"])
    assert two["environment"]["training_processes"] == 2 and two["environment"]["training_nodes"] == 2
    for single, double in zip(one["training"], two["training"], strict=True):
        assert (double["stage"], double["tokens"], double["steps"]) == (single["stage"], single["tokens"], single["steps"])
    worst = max(abs(a - b) for r1, r2 in zip(one["matrix"], two["matrix"]) for a, b in zip(r1, r2))
    assert worst <= MATRIX_TOLERANCE, worst
    logs = sorted(p.name for p in (runs["two"] / "logs").glob("train-*-node1.log"))
    assert logs[0] == "train-1-politics-node1.log" and len(logs) == 3


def test_node_options_are_checked():
    for kwargs, flag in (({"count": 2, "rank": 2}, "--node-rank 2"), ({"count": 0}, "--nodes 0"),
                         ({"count": 2, "main_port": 70000}, "--main-port 70000"), ({"count": 2, "main_address": " "}, "--main-address")):
        with pytest.raises(ConfigError, match=flag):
            Nodes(**kwargs)


def test_launch_commands_for_several_nodes(tmp_path):
    job = tmp_path / "job.json"
    cpu = launch_command(1, job, None, nodes=Nodes(2, 1, "10.0.0.5", 29400), token="abc")
    assert "--nnodes=2" in cpu and "--rdzv_backend=c10d" in cpu and "--rdzv_endpoint=10.0.0.5:29400" in cpu
    assert "--rdzv_id=abc" in cpu and any(a.startswith("--rdzv_conf=is_host=0") for a in cpu) and "--standalone" not in cpu
    gpu = launch_command(4, job, tmp_path / "ddp.yaml", nodes=Nodes(2, 1, "10.0.0.5", 29400), token="abc")
    assert gpu[gpu.index("--num_processes") + 1] == "8" and gpu[gpu.index("--machine_rank") + 1] == "1"
    assert gpu[gpu.index("--main_process_ip") + 1] == "10.0.0.5" and gpu[gpu.index("--num_machines") + 1] == "2"
    assert "--standalone" in launch_command(2, job, None)


def test_a_follower_does_not_join_a_dead_launch(tmp_path):
    launch = tmp_path / "trainer" / "2-science-launch"
    launch.mkdir(parents=True)
    (launch / "job.json").write_text(json.dumps({"token": "old"}))
    (launch / "alive").write_text("old 7")  # the counter of a run that died: it does not move
    assert _live_job(tmp_path, set()) is None
    (launch / "alive").write_text("new 1")  # a new launch's counter, another token: not this job's
    assert _live_job(tmp_path, set()) is None
