"""Run a sweep: skip finished points, wait for running ones, submit the rest, wait for all.

Locally at most ``max_parallel`` points run at once (a point started by an earlier, interrupted
sweep command counts): the next is submitted when one ends. On Slurm every point is submitted at
once as one job array (Slurm queues them). An interrupted sweep command leaves its jobs running; the
same command again finds them by the job ids in sweep.json and waits for them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cptbench.run.sweep import Point, SweepDir, SweepError, SweepFile
from cptbench.run.sweep_jobs import (
    ExecutorOptions,
    RunPoint,
    State,
    job_active,
    job_error,
    make_executor,
    point_status,
    record_path,
    run_in_progress,
)

POLL_S = {"local": 2.0, "slurm": 30.0}  # sacct is a shared service: ask it rarely


@dataclass(frozen=True)
class Event:
    kind: str  # done-before | waiting | submitted | finished | failed
    point: Point
    detail: str = ""
    finished: int = 0  # points finished so far, of
    total: int = 0


@dataclass
class Outcome:
    finished: list[Point] = field(default_factory=list)
    failed: list[tuple[Point, str]] = field(default_factory=list)


@dataclass
class _Waiting:
    point: Point
    done: Callable[[], bool]
    since: float = field(default_factory=time.monotonic)


def run_sweep(where: SweepDir, state: SweepFile, options: ExecutorOptions, on_event: Callable[[Event], None],
              poll_s: float | None = None) -> Outcome:
    """Bring every point of ``state``'s grid to a record, or report why not."""
    points = state.grid.points(where.root)
    entries = {entry.name: entry for entry in state.points}
    outcome, todo, waiting = Outcome(), [], {}

    def event(kind: str, point: Point, detail: str = "") -> None:
        on_event(Event(kind, point, detail, len(outcome.finished), len(points)))

    for point in points:
        status = point_status(point, entries.get(point.name), where.jobs)
        if status.state is State.FINISHED:
            outcome.finished.append(point)
            event("done-before", point)
        elif status.state in (State.RUNNING, State.QUEUED):
            waiting[point.name] = _Waiting(point, _ended(point, entries.get(point.name), where.jobs))
            event("waiting", point, f"{status.state.value}: {status.job or status.detail}")
        else:
            todo.append(point)
    executor = make_executor(options, where.jobs) if todo else None
    if todo and options.kind == "slurm":  # one array; Slurm queues it, --max-parallel at a time
        for point, job in zip(todo, _submit_array(executor, todo, options.nodes or 1)):
            state = where.with_job(state, point.name, "slurm", job.job_id)
            waiting[point.name] = _Waiting(point, job.done)
            event("submitted", point, f"slurm job {job.job_id}")
        todo = []
    while todo or waiting:
        for name, wait in list(waiting.items()):
            if wait.done():
                del waiting[name]
                _settle(wait, where, outcome, event)
        while todo and len(waiting) < options.local_slots:
            point = todo.pop(0)
            # submitit's local controller sets CUDA_VISIBLE_DEVICES to the GPUs it allocates (none unless
            # asked, and the same ones to every job): a local point sees the GPUs the sweep command sees
            gpus = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}
            job = executor.submit(RunPoint(point.argv, record_path(point), gpus))
            state = where.with_job(state, point.name, "local", job.job_id)
            waiting[point.name] = _Waiting(point, job.done)
            event("submitted", point, f"local job {job.job_id}")
        if waiting:
            time.sleep(poll_s or POLL_S[options.kind])
    return outcome


def _submit_array(executor, points: list[Point], nodes: int = 1) -> list:
    try:
        with executor.batch():
            jobs = [executor.submit(RunPoint(p.argv, record_path(p), nodes=nodes)) for p in points]
    except Exception as exc:  # noqa: BLE001 - sbatch's refusal, whatever submitit wraps it in: one line
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        raise SweepError(f"--executor slurm: the job array was not submitted: {lines[-1]}") from None
    return jobs


def _ended(point: Point, entry, folder: Path) -> Callable[[], bool]:
    """``done`` of a point started before this command: its job has ended and its run is not locked
    (the lock is probed only once the job is gone, so never while that job may be starting the run)."""
    return lambda: job_active(entry, folder) is None and not run_in_progress(point.run_dir)


def _settle(wait: _Waiting, where: SweepDir, outcome: Outcome, event) -> None:
    point = wait.point
    minutes, seconds = divmod(round(time.monotonic() - wait.since), 60)
    if record_path(point).exists():
        outcome.finished.append(point)
        event("finished", point, f"{minutes}:{seconds:02d}")
        return
    entry = next((e for e in where.load().points if e.name == point.name), None)
    reason = job_error(entry, where.jobs) or f"the run stopped without a record (see {point.run_dir / 'logs' / 'run.log'})"
    outcome.failed.append((point, reason))
    event("failed", point, reason)
