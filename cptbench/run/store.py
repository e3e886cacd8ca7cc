"""The run directory: layout, atomic writes, per-stage and per-evaluation files.

    RUN_DIR/
      record.json                 the run record (written last)
      config.json                 what was asked for (suite hash, model, budget, seed, recipes)
      attempts.json               wall and evaluation seconds of each process that worked on the run
      backend.json                evaluation settings (prefix token, window, dtype) and model size
      eval/<t>-<stage>/<task>.json one finished evaluation (row t of the matrix, one cell)
      train/<t>-<stage>.json      one finished training stage (tokens, steps, sources; losses and learning rates per step)
      checkpoints/<t>-<stage>/    the last finished stage's model (earlier ones are removed)
      trainer/<t>-<stage>/        the trainer's own checkpoints inside an unfinished stage
      logs/run.log                what happened, one line per event
      .lock                       pid of the process that owns the directory

A stage is finished when both its checkpoint directory (created by an atomic rename) and its
train file exist; a cell is finished when its file exists. Resuming trusts nothing else.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.constants import RECORD_NAME
from cptbench.core.errors import ConfigError


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def record(self) -> Path:
        return self.root / RECORD_NAME

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def attempts(self) -> Path:
        return self.root / "attempts.json"

    @property
    def backend(self) -> Path:
        """Backend settings and parameter count of the first evaluation (for resumed runs)."""
        return self.root / "backend.json"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def checkpoint(self, row: int, stage: str) -> Path:
        return self.root / "checkpoints" / f"{row}-{stage}"

    def trainer_dir(self, row: int, stage: str) -> Path:
        return self.root / "trainer" / f"{row}-{stage}"

    @property
    def log(self) -> Path:
        return self.root / "logs" / "run.log"

    def eval_file(self, row: int, stage: str, task: str) -> Path:
        return self.root / "eval" / f"{row}-{stage}" / f"{task}.json"

    def curve_file(self, row: int, stage: str) -> Path:
        return self.root / "curves" / f"{row}-{stage}.json"

    def train_file(self, row: int, stage: str) -> Path:
        return self.root / "train" / f"{row}-{stage}.json"

    def read_json(self, path: Path) -> dict | None:
        """A finished file's content, or None when it does not exist or is unreadable."""
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def append_log(self, line: str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(line.rstrip() + "\n")


def writable_folder(out: Path) -> Path:
    """The folder ``--out`` will be made in (``out`` itself, or its nearest existing parent),
    checked before any work: a file there, or a place nothing can be created in, is one line."""
    existing = next(p for p in [out, *out.absolute().parents] if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is a file, not a folder")
    try:  # permission bits say little to root or on read-only mounts (/proc): try it
        tempfile.TemporaryDirectory(dir=existing, prefix=".cptbench-probe-").cleanup()
    except OSError:
        raise ConfigError(f"--out {out}: {existing} is not writable") from None
    return existing
