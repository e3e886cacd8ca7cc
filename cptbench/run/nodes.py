"""A stage trained on several nodes: ``cptbench run … --processes N --nodes M --node-rank R
--main-address HOST --main-port PORT``, the same command on every node, each with its own rank.

Node 0 is the run: it owns the run directory (lock, evaluations, records, logs) and launches each
stage as ``--processes`` does, with a launcher that is one of M (torchrun with a c10d rendezvous at
HOST:PORT; on GPUs ``accelerate launch`` with ``--machine_rank``). The other nodes *follow*: they
wait for the job file node 0 writes for each stage (the run directory must be on a file system
every node sees, as on a cluster) and start their own launcher on it, which joins the same
rendezvous (its id is the job's token). A follower writes nothing but its launcher's log,
``logs/train-<stage>-node<R>.log``, and stops when the run's record appears.

A job file left by a run that died is not joined: while its launcher runs, node 0 writes the job's
token and a moving counter to the launch folder's ``alive`` file, and a follower joins only a job
whose own token is there with a counter that moves.

A node that dies in the middle of a stage takes its launcher and workers with it (the kernel's
parent-death signal); the other nodes' collectives then fail, their launchers exit, and every
node's ``cptbench run`` stops with an error. The same commands resume the run.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from cptbench.core.errors import ConfigError, TrainingError
from cptbench.run.launcher import Nodes, killed_with_us, launch_command

POLL_SECONDS = 0.5
ALIVE_WINDOW = 3.0  # seconds a follower watches a job's ``alive`` counter before joining it


def follow(run_dir: Path, nodes: Nodes, processes: int, accelerate_config: Path | None, *,
           poll: float = POLL_SECONDS, progress=None) -> int:
    """Node ``nodes.rank`` > 0: join every stage node 0 launches in ``run_dir`` until the run's
    record appears; returns the number of stages joined. Raises ``TrainingError`` when this node's
    launcher fails (the stage failed on some node) or when node 0's run ended without a record."""
    from cptbench.core.constants import RECORD_NAME

    joined: set[str] = set()
    seen_main = False
    while True:
        if (run_dir / RECORD_NAME).exists():
            return len(joined)
        holder = _lock_holder(run_dir)
        seen_main = seen_main or holder is not None
        if seen_main and holder is None:
            raise TrainingError(f"{run_dir}: node 0's cptbench run ended without a record; see {run_dir / 'logs' / 'run.log'}")
        found = _live_job(run_dir, joined)
        if found is None:
            time.sleep(poll)
            continue
        job_file, job = found
        joined.add(job["token"])
        _check_same_launch(job, nodes, processes)
        stage = job_file.parent.name.removesuffix("-launch")
        if progress:
            progress(stage)
        log = run_dir / "logs" / f"train-{stage}-node{nodes.rank}.log"
        command = launch_command(processes, job_file, accelerate_config, nodes=nodes, token=job["token"])
        with log.open("ab") as output:
            code = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=killed_with_us()).returncode
        if code != 0:
            raise TrainingError(f"{log}: node {nodes.rank}: stage {stage}: the training processes exited with code {code}; "
                                "the log says why (a stage fails on every node when one node's processes fail)")


def follow_run(run_dir: Path, nodes: Nodes, processes: int, accelerate_config: Path | None, echo) -> int:
    """``cptbench run`` on a node of rank > 0: ``follow`` with a line per stage joined."""
    echo(f"node {nodes.rank} of {nodes.count}: joining the stages node 0 ({nodes.main_address}:{nodes.main_port}) "
         f"launches in {run_dir}")
    count = follow(run_dir, nodes, processes, accelerate_config, progress=lambda stage: echo(f"node {nodes.rank}: training {stage}"))
    echo(f"node {nodes.rank}: the run has its record; this node trained {count} stage(s) with it")
    return count


def _check_same_launch(job: dict, nodes: Nodes, processes: int) -> None:
    theirs = (job.get("nodes"), job.get("processes_per_node"))
    if theirs != (nodes.count, processes):
        raise ConfigError(f"node 0 launches --nodes {theirs[0]} --processes {theirs[1]}; this node was started with "
                          f"--nodes {nodes.count} --processes {processes}: start every node with the same command")


def _lock_holder(run_dir: Path) -> int | None:
    """The pid node 0's run wrote into the run directory's lock (empty once it has ended)."""
    try:
        text = (run_dir / ".lock").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _live_job(run_dir: Path, joined: set[str]) -> tuple[Path, dict] | None:
    """A stage's job file not joined yet whose launch is alive: its ``alive`` file names the job's
    token with a counter that moves (a job left by a run that died, or replaced meanwhile, is not)."""
    for job_file in sorted((run_dir / "trainer").glob("*-launch/job.json")):
        job = _read(job_file)
        if job is None or "token" not in job or job["token"] in joined:
            continue
        first = _beat(job_file.with_name("alive"), job["token"])
        deadline = time.monotonic() + ALIVE_WINDOW
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            now = _beat(job_file.with_name("alive"), job["token"])
            if now is not None and first is not None and now != first:
                return job_file, job
            first = first if first is not None else now
    return None


def _beat(alive: Path, token: str) -> str | None:
    """The counter in ``alive`` when it belongs to the launch of ``token``."""
    try:
        owner, _, count = alive.read_text().partition(" ")
    except OSError:
        return None
    return count if owner == token and count else None
