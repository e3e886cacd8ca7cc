"""The run directory: layout, atomic writes, per-stage and per-evaluation files.

    RUN_DIR/
      record.json                 the run record (written last)
      config.json                 what was asked for (suite hash, model, budget, seed, recipes)
      eval/<t>-<stage>/<task>.json one finished evaluation (row t of the matrix, one cell)
      train/<t>-<stage>.json      one finished training stage (tokens, steps, losses)
      checkpoint/                 the last finished stage's model (earlier ones are removed)
      logs/run.log                what happened, one line per event
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON via a temp file + rename: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False, allow_nan=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def record(self) -> Path:
        return self.root / "record.json"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint"

    @property
    def log(self) -> Path:
        return self.root / "logs" / "run.log"

    def eval_file(self, row: int, stage: str, task: str) -> Path:
        return self.root / "eval" / f"{row}-{stage}" / f"{task}.json"

    def train_file(self, row: int, stage: str) -> Path:
        return self.root / "train" / f"{row}-{stage}.json"

    def append_log(self, line: str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(line.rstrip() + "\n")
