"""Wall time of every process that worked on a run, so a resumed run's record reports all of it.

``attempts.json`` in the run directory holds one entry per process: when it started, and its wall
and evaluation seconds up to its last finished cell or stage, or its last training step (saved at
most every 10 s): a killed process's time is counted up to then. Each process rewrites only its
own entry.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from cptbench.core.io import write_json_atomic
from cptbench.run.store import RunDir


class Attempts:
    def __init__(self, run: RunDir, started: float) -> None:
        """A new attempt that began at ``started`` (``time.perf_counter()``, before its pre-checks)."""
        self.path: Path = run.attempts
        saved = run.read_attempts()  # a file changed by hand is one line naming it and --force
        self.entries: list[dict] = [e.model_dump() for e in saved.attempts] if saved else []
        self.started = started
        self.entries.append({
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": 0.0,
            "eval_seconds": 0.0,
        })
        self.save()

    def save_now_and_then(self, eval_seconds: float, every: float = 10.0) -> None:
        """``save``, at most every ``every`` seconds (called on every training step)."""
        if time.perf_counter() - self.started - self.entries[-1]["seconds"] >= every:
            self.save(eval_seconds)

    def save(self, eval_seconds: float | None = None) -> None:
        """Record this process's time so far (called after every finished cell and stage)."""
        current = self.entries[-1]
        current["seconds"] = time.perf_counter() - self.started
        if eval_seconds is not None:
            current["eval_seconds"] = eval_seconds
        write_json_atomic(self.path, {"attempts": self.entries})

    def total(self, key: str) -> float:
        return sum(float(e.get(key, 0.0)) for e in self.entries)

    def seconds(self) -> list[float]:
        return [float(e["seconds"]) for e in self.entries]
