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
      trackers/                   --report-to: the tracker's own logs (cptbench/run/trackers.py)
      .lock                       pid of the process that owns the directory

A stage is finished when both its checkpoint directory (created by an atomic rename) and its
train file exist; a cell is finished when its file exists. Resuming trusts nothing else, and reads
each of these files through one guarded reader and its schema: a file changed by hand (malformed,
of another shape) is one line naming it and ``--force``, never a guess.

``--force`` empties only a folder that holds a run directory (its ``config.json`` beside the run's
own files) or nothing at all: pointed at any other folder, it refuses rather than delete.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field, FiniteFloat, NonNegativeFloat, PositiveInt

from cptbench.core.constants import RECORD_NAME
from cptbench.core.errors import ConfigError, CptbenchError, RecordError
from cptbench.core.io import Strict, cannot_write, read_json_object, validate
from cptbench.core.records import StageTraining
from cptbench.core.samples import SamplesModel

M = TypeVar("M", bound=BaseModel)
RUN_MARKERS = ("attempts.json", "backend.json", RECORD_NAME, "eval", "train", "logs")  # beside config.json


class EvalFile(Strict):
    """``eval/<t>-<stage>/<task>.json``: one finished cell."""

    value: FiniteFloat
    details: dict[str, FiniteFloat | int]
    samples: SamplesModel | None = None


class BackendFile(Strict):
    """``backend.json``: the settings of the run's first evaluation and the model's size."""

    settings: dict[str, object]
    parameters: PositiveInt


class Attempt(Strict):
    started: str
    seconds: NonNegativeFloat
    eval_seconds: NonNegativeFloat = 0.0


class AttemptsFile(Strict):
    """``attempts.json``: every process that worked on the run."""

    attempts: list[Attempt]


class ConfigFile(Strict):
    """``config.json``: what the run was asked for, and its hash."""

    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    fingerprint: dict[str, object]


class CurveFile(Strict):
    """``curves/<t>-<stage>.json``: the points measured inside a stage (step -> task values)."""

    tasks: list[str]
    seconds: NonNegativeFloat
    points: dict[str, dict[str, FiniteFloat]]


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
        """A finished file's content (a JSON object), or None when it does not exist; a file that
        exists but cannot be read as one is one line naming it and ``--force``."""
        if not path.exists() and not path.is_symlink():
            return None
        return read_json_object(path, _Tampered)

    def read(self, path: Path, model: type[M]) -> M | None:
        """``read_json`` validated by ``model`` (unknown fields refused): None when missing."""
        raw = self.read_json(path)
        return None if raw is None else validate(raw, model, path, _Tampered)

    def read_config(self) -> ConfigFile | None:
        return self.read(self.config, ConfigFile)

    def read_eval(self, row: int, stage: str, task: str) -> EvalFile | None:
        return self.read(self.eval_file(row, stage, task), EvalFile)

    def read_training(self, row: int, stage: str, per_step: tuple[str, ...]) -> StageTraining | None:
        """A finished stage's summary (its ``per_step`` logs left out)."""
        raw = self.read_json(self.train_file(row, stage))
        if raw is None:
            return None
        return validate({k: v for k, v in raw.items() if k not in per_step}, StageTraining, self.train_file(row, stage), _Tampered)

    def read_backend(self) -> BackendFile | None:
        return self.read(self.backend, BackendFile)

    def read_attempts(self) -> AttemptsFile | None:
        return self.read(self.attempts, AttemptsFile)

    def read_curve(self, row: int, stage: str) -> CurveFile | None:
        curve = self.read(self.curve_file(row, stage), CurveFile)
        if curve is not None and not all(step.isdigit() for step in curve.points):
            raise _Tampered(f"{self.curve_file(row, stage)}: points: steps must be whole numbers")
        return curve

    def holds_run(self) -> bool:
        """A run directory: its config.json beside one of the files only a run writes."""
        return self.config.is_file() and any((self.root / name).exists() for name in RUN_MARKERS)

    def claim(self, config_hash: str, fingerprint: dict[str, object], force: bool) -> None:
        """Write config.json, or check it: the same configuration resumes, another one (or one that
        cannot be read) is refused, naming what differs. ``force`` empties the directory first."""
        if force:
            check_force(self.root)
            for child in self.root.iterdir():
                if child != self.lock:
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        else:
            existing = self.read_config()
            if existing is not None and existing.hash != config_hash:
                differs = sorted(k for k in fingerprint if existing.fingerprint.get(k) != fingerprint[k])
                raise ConfigError(
                    f"{self.config}: the run directory holds a different configuration (differs in: "
                    f"{', '.join(differs) or 'format'}); use another --out, or --force to start over"
                )
            if existing is None and self.holds_run():
                raise ConfigError(f"{self.config}: missing beside a run's files; use another --out, or --force to start over")
        from cptbench.core.io import write_json_atomic

        write_json_atomic(self.config, {"hash": config_hash, "fingerprint": fingerprint})

    def append_log(self, line: str) -> None:
        try:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a", encoding="utf-8") as handle:
                handle.write(line.rstrip() + "\n")
        except OSError as exc:  # a full disk mid-run: one line, like every other write
            raise CptbenchError(cannot_write(self.log, exc)) from None


class _Tampered(RecordError):
    """A run-directory file that exists but is not what cptbench wrote (changed by hand, cut short)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; the run directory cannot be resumed from it: use another --out, or --force to start over")


def check_force(root: Path) -> None:
    """``--force`` empties ``root`` only when it holds a run directory or nothing (one line otherwise)."""
    root = Path(root)
    if not root.is_dir():
        return
    others = sorted(child.name for child in root.iterdir() if child.name != ".lock")
    if others and not RunDir(root).holds_run():
        raise ConfigError(f"--force {root}: not a cptbench run directory ({len(others)} entries, e.g. {others[0]!r}, "
                          f"and no run's config.json); --force empties only a run directory or an empty folder")


def check_force_checkpoint(out: Path) -> None:
    """``cptbench train --force`` replaces ``out`` only when it holds a checkpoint (its config.json
    beside weights) or nothing; any other folder is refused in one line."""
    out = Path(out)
    if not out.is_dir() or not any(out.iterdir()):
        return
    weights = any(out.glob("*.safetensors")) or any(out.glob("*.bin"))
    if not ((out / "config.json").is_file() and weights):
        raise ConfigError(f"--force {out}: not a checkpoint folder (no config.json beside weights); "
                          f"--force replaces only a checkpoint or an empty folder")


def check_out(out: Path, force: bool = False) -> None:
    """``--out`` before any work: not empty (an empty name is the current folder), and, with
    ``--force``, a folder ``check_force`` allows emptying."""
    if str(out) in ("", "."):
        raise ConfigError(f"--out {str(out)!r}: name a run directory (the current folder is never a run directory)")
    if force:
        check_force(out)


def writable_folder(out: Path, force: bool = False) -> Path:
    """The folder ``--out`` will be made in (``out`` itself, or its nearest existing parent),
    checked before any work: an empty name, a file there, a place nothing can be created in, or
    ``force`` on a folder that holds no run, is one line."""
    check_out(out, force)
    existing = next(p for p in [out, *out.absolute().parents] if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is a file, not a folder")
    try:  # permission bits say little to root or on read-only mounts (/proc): try it
        tempfile.TemporaryDirectory(dir=existing, prefix=".cptbench-probe-").cleanup()
    except OSError:
        raise ConfigError(f"--out {out}: {existing} is not writable") from None
    return existing
