"""`cptbench sweep --executor slurm --nodes M`: one task per node (srun), each the point's
`cptbench run` with its --node-rank, node 0 on the job's first host (no Slurm needed here)."""

import shutil
import subprocess

import pytest

from cptbench.core.errors import ConfigError
from cptbench.run import sweep_jobs
from cptbench.run.sweep_jobs import ExecutorOptions, RunPoint, make_executor, node_arguments


def test_node_arguments_name_the_first_host_and_a_port_from_the_job():
    assert node_arguments(2, 1, ["gpu017", "gpu018"], "123456") == [
        "--nodes", "2", "--node-rank", "1", "--main-address", "gpu017", "--main-port", str(29500 + 456)]
    assert node_arguments(4, 0, ["a"], "77_3")[-1] == str(29500 + 773)  # an array task's id


def test_nodes_are_for_slurm_only():
    with pytest.raises(ConfigError, match="--nodes: applies to --executor slurm only"):
        ExecutorOptions("local", nodes=2)
    assert ExecutorOptions("local", nodes=1).local_slots == 1
    assert ExecutorOptions("slurm", nodes=2).as_json()["nodes"] == 2


def test_slurm_executor_asks_for_one_task_per_node(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    executor = make_executor(ExecutorOptions("slurm", nodes=3), tmp_path)
    parameters = executor._executor.parameters
    assert parameters["nodes"] == 3 and parameters["ntasks_per_node"] == 1
    assert "--kill-on-bad-exit=1" in parameters["srun_args"]


def test_each_task_runs_the_point_with_its_node_rank(monkeypatch, tmp_path):
    class Task:
        global_rank, hostnames, raw_job_id = 1, ["node-a", "node-b"], "4242"

    started = []
    monkeypatch.setattr(sweep_jobs.submitit, "JobEnvironment", Task)
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: started.append(command))
    RunPoint(("cptbench", "run", "--out", "x"), tmp_path / "record.json", nodes=2)()
    argv = started[0][started[0].index("cptbench-run") + 1:]
    assert argv == ["cptbench", "run", "--out", "x", *node_arguments(2, 1, ["node-a", "node-b"], "4242")]
    started.clear()
    RunPoint(("cptbench", "run"), tmp_path / "record.json")()  # one node: the command as it is
    assert started[0][started[0].index("cptbench-run") + 1:] == ["cptbench", "run"]
