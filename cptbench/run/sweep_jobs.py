"""A sweep's jobs through submitit: the job (an ordinary ``cptbench run``), the executors (local,
Slurm), and what a point's files and job say about it (``cptbench sweep status``).

Why a job survives the sweep command: a Slurm job never depended on it; a local job's controller
is started by submitit in the sweep command's process group, so a terminal's Ctrl-C would reach it
and its ``finally`` would kill the run. The controller is started from a shell that first runs the
executor's ``setup`` commands, and ``trap '' INT HUP`` there makes it, and the processes it starts,
ignore Ctrl-C and a closed terminal (an ignored signal stays ignored across fork and exec, and
Python leaves an ignored SIGINT ignored). The run itself starts in a session of its own, so a
trainer that installs its own SIGINT handler (torchrun does) is out of the terminal's reach too.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import submitit
from filelock import FileLock, Timeout
from submitit.core.utils import JobPaths

from cptbench.core.constants import RECORD_NAME
from cptbench.core.errors import ConfigError, CptbenchError
from cptbench.run.store import RunDir
from cptbench.run.sweep import Point, PointEntry

EXECUTORS = ("local", "slurm")
DETACH = "trap '' INT HUP"  # the local controller's setup command (see the module docstring)
LOCAL_TIMEOUT_MIN = 30 * 24 * 60  # local jobs: no time limit worth the name unless --timeout-min
SLURM_TIMEOUT_MIN = 240
# sacct states of a job that has not ended (it will run, or is running)
SLURM_ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "COMPLETING",
                "RESIZING", "SUSPENDED", "READY"}


class RunPoint(submitit.helpers.Checkpointable):
    """One point's job: its ``cptbench run`` command line. ``checkpoint`` (Checkpointable's) resubmits
    the same call when the job is preempted or times out, and the same command resumes the run
    directory; stdout and stderr go to submitit's log files."""

    def __init__(self, argv: tuple[str, ...], record: Path, env: dict[str, str | None] | None = None, nodes: int = 1) -> None:
        self.argv = list(argv)
        self.record = str(record)
        self.env = dict(env or {})  # variables to set in the run's environment (None: unset it)
        self.nodes = nodes  # > 1: one task per node (srun), each the same run with its --node-rank

    def __call__(self) -> str:
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        # The preemption signal is submitit's to handle here (checkpoint, requeue, exit, which kills the
        # run); Slurm sends it to every process of the job, and the run must not die of it first.
        signal_name = os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")
        argv = list(self.argv)
        if getattr(self, "nodes", 1) > 1:  # (a job pickled before nodes existed has no such attribute)
            task = submitit.JobEnvironment()
            argv += node_arguments(self.nodes, task.global_rank, task.hostnames, task.raw_job_id)
        command = ["/bin/sh", "-c", f"trap '' {signal_name}; exec \"$@\"", "cptbench-run", *argv]
        subprocess.run(command, check=True, env=env, start_new_session=True)
        return self.record


def node_arguments(nodes: int, rank: int, hostnames, job_id: str) -> list[str]:
    """A point's ``cptbench run`` options on the task of rank ``rank`` (one task per node): node 0,
    the job's first host, runs it and the others join its stages (cptbench/run/nodes.py). The
    rendezvous port comes from the job id, so that two jobs sharing a host do not collide."""
    digits = "".join(c for c in str(job_id) if c.isdigit()) or "0"
    return ["--nodes", str(nodes), "--node-rank", str(rank), "--main-address", hostnames[0],
            "--main-port", str(29500 + int(digits) % 1000)]


@dataclass(frozen=True)
class ExecutorOptions:
    kind: str = "local"
    max_parallel: int | None = None  # local: 1 unless given; Slurm: the array's parallelism
    timeout_min: int | None = None
    partition: str | None = None
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    nodes: int | None = None  # Slurm: nodes per job, one task (one cptbench run) on each

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ConfigError(f"--executor {self.kind}: expected one of {', '.join(EXECUTORS)}")
        slurm_only = {"--slurm-partition": self.partition, "--gpus-per-node": self.gpus_per_node,
                      "--cpus-per-task": self.cpus_per_task, "--nodes": self.nodes if (self.nodes or 1) > 1 else None}
        given = [flag for flag, value in slurm_only.items() if value is not None]
        if self.kind == "local" and given:
            raise ConfigError(f"{given[0]}: applies to --executor slurm only")

    def check_tools(self) -> None:
        """Slurm's commands are on PATH (checked before the sweep directory is written)."""
        missing = [tool for tool in ("sbatch", "srun") if shutil.which(tool) is None]
        if self.kind == "slurm" and missing:  # submitit's own refusal is a traceback
            raise ConfigError(f"--executor slurm: {missing[0]} is not on PATH (start the sweep on a Slurm login node)")

    @property
    def local_slots(self) -> int:
        return self.max_parallel or 1  # two model jobs at once on a small machine help nobody

    def as_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def make_executor(options: ExecutorOptions, folder: Path) -> submitit.Executor:
    if options.kind == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=options.timeout_min or LOCAL_TIMEOUT_MIN, setup=[DETACH])
        return executor
    options.check_tools()
    executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    wanted = {"slurm_partition": options.partition, "gpus_per_node": options.gpus_per_node,
              "cpus_per_task": options.cpus_per_task, "slurm_array_parallelism": options.max_parallel}
    if (options.nodes or 1) > 1:  # srun starts one task per node; one that fails ends the others
        wanted |= {"nodes": options.nodes, "tasks_per_node": 1, "slurm_srun_args": ["--kill-on-bad-exit=1"]}
    executor.update_parameters(name="cptbench-sweep", timeout_min=options.timeout_min or SLURM_TIMEOUT_MIN,
                               **{k: v for k, v in wanted.items() if v is not None})
    return executor


def run_in_progress(run_dir: Path) -> bool:
    """The run directory's lock (cptbench/run/lock.py) is held. The probe takes the lock for an
    instant when it is free: call it only when no job of ours may be starting that run."""
    path = RunDir(run_dir).lock
    if not path.exists():
        return False
    probe = FileLock(path, blocking=False, fallback_to_soft=False, preserve_lock_file=True)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def job_active(entry: PointEntry | None, folder: Path) -> str | None:
    """The last job's state while it has not ended ('running', 'queued'), else None."""
    if entry is None or entry.job_id is None:
        return None
    if entry.executor == "local":  # the job id is its controller's pid: alive, and ours?
        try:
            cmdline = Path(f"/proc/{entry.job_id}/cmdline").read_bytes()
        except OSError:
            return None
        return "running" if b"submitit.local._local" in cmdline and str(folder).encode() in cmdline else None
    try:
        state = submitit.SlurmJob(folder=folder, job_id=entry.job_id).state.split()[0]
    except Exception:  # noqa: BLE001 - sacct missing or failing: say nothing rather than guess
        return None
    return None if state not in SLURM_ACTIVE else ("queued" if state == "PENDING" else "running")


def job_error(entry: PointEntry | None, folder: Path) -> str | None:
    """Why the last job ended without a record: the run's one-line ``error:``, else the last line of
    the job's stderr; None when the job has not ended (no result file)."""
    if entry is None or entry.job_id is None:
        return None
    paths = JobPaths(folder, entry.job_id)
    if not paths.result_pickle.exists():
        return None
    try:
        lines = [line.strip() for line in paths.stderr.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    errors = [line for line in lines if line.startswith("error: ")]
    return (errors or lines or ["the job ended without a record"])[-1] + f" (job log: {paths.stderr})"


class State(str, enum.Enum):
    FINISHED = "finished"  # record.json
    RUNNING = "running"  # the job is alive or the run directory's lock is held
    QUEUED = "queued"  # Slurm: submitted, not started
    FAILED = "failed"  # the last job ended without a record
    STOPPED = "stopped"  # started once, no record, no job: it resumes when resubmitted
    PENDING = "pending"  # nothing yet


@dataclass(frozen=True)
class PointStatus:
    point: Point
    state: State
    job: str  # "local 1234", "slurm 567_3" or ""
    progress: str  # stages trained
    detail: str


def point_status(point: Point, entry: PointEntry | None, folder: Path) -> PointStatus:
    run = RunDir(point.run_dir)
    job = f"{entry.executor} {entry.job_id}" if entry and entry.job_id else ""
    active = job_active(entry, folder)
    error = None
    if run.record.exists():
        state, detail = State.FINISHED, str(run.record)
    elif active is not None:
        state, detail = State(active), _holder(run)
    elif run_in_progress(point.run_dir):  # a run not started by this sweep's last job
        state, detail = State.RUNNING, _holder(run)
    elif (error := job_error(entry, folder)) is not None:
        state, detail = State.FAILED, error
    elif run.config.exists():
        state, detail = State.STOPPED, f"resumes when resubmitted; {run.log}"
    else:
        state, detail = State.PENDING, ""
    return PointStatus(point, state, job, _progress(run, state), detail)


def _holder(run: RunDir) -> str:
    try:
        pid = run.lock.read_text().strip()
    except OSError:
        pid = ""
    return f"cptbench run pid {pid}" if pid.isdigit() else "starting"


def _progress(run: RunDir, state: State) -> str:
    """Stages trained so far, out of the run's (joint trains one); the run's config.json knows them."""
    if state is State.FINISHED:
        return "done"
    try:
        config = run.read_json(run.config)
    except CptbenchError:
        return f"{run.config.name} unreadable"
    if config is None:
        return ""
    fingerprint = config.get("fingerprint") if isinstance(config.get("fingerprint"), dict) else {}
    total = 1 if fingerprint.get("method", {}).get("name") == "joint" else len(fingerprint.get("stages", []))
    trained = len(list((run.root / "train").glob("*.json")))
    return f"{trained}/{total} stages"


def record_path(point: Point) -> Path:
    return point.run_dir / RECORD_NAME
