"""Experiment trackers for training (``--report-to``): the allowed values, the package each needs,
and what transformers' own integrations are given (``TrainingArguments.report_to``, ``run_name``,
``project``, and the environment they read: a folder inside the run directory, W&B offline).

Training losses are logged by those integrations only; the matrix and the metrics of a run go to the
same tracker through cptbench/run/trackers.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import ConfigError

REPORT_TO = ("none", "tensorboard", "wandb", "mlflow", "trackio")
PROJECT = "cptbench"  # the W&B project, MLflow experiment and Trackio project unless the environment names one


def check_report_to(value: str) -> str:
    """``value`` when it is a known tracker whose package is installed; else one ConfigError line."""
    if value not in REPORT_TO:
        raise ConfigError(f"--report-to {value}: expected one of {', '.join(REPORT_TO)}")
    if value != "none" and not _installed(value):
        raise ConfigError(f'--report-to {value} needs the {value} package: pip install "cptbench[{value}]" (or pip install {value})')
    return value


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        return False


def environment(report_to: str, folder: Path, stage: str | None = None) -> dict[str, str]:
    """The variables the tracker library and transformers' integration read, each left as the user
    set it (W&B: offline unless ``WANDB_MODE`` says otherwise; MLflow: a SQLite store in ``folder``
    unless ``MLFLOW_TRACKING_URI``: MLflow 3 refuses its file store). TensorBoard's training folder is always inside ``folder``:
    ``tensorboard/train/<stage>``."""
    folder = folder.absolute()
    defaults = {
        "tensorboard": {},
        "wandb": {"WANDB_MODE": "offline", "WANDB_DIR": str(folder), "WANDB_PROJECT": PROJECT, "WANDB_SILENT": "true"},
        "mlflow": {"MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}", "MLFLOW_EXPERIMENT_NAME": PROJECT},
        "trackio": {"TRACKIO_DIR": str(folder / "trackio")},
    }.get(report_to, {})
    values = {name: os.environ.get(name, value) for name, value in defaults.items()}
    if report_to == "tensorboard" and stage is not None:
        values["TENSORBOARD_LOGGING_DIR"] = str(folder / "tensorboard" / "train" / stage)
    return values


@contextlib.contextmanager
def environment_set(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the duration of the block, the previous ones restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Tracking:
    """Where one stage's training reports: ``report_to`` through transformers' integration, into
    ``folder`` (a run's ``trackers/``), as the tracker run ``<run>/<stage>``."""

    report_to: str  # tensorboard | wandb | mlflow | trackio
    folder: Path
    run: str  # the run directory's name
    stage: str  # "<t>-<stage name>" (or the kind, for `cptbench train`)

    @property
    def name(self) -> str:
        return f"{self.run}/{self.stage}"

    def to_json(self) -> dict[str, str]:
        return {"report_to": self.report_to, "folder": str(self.folder), "run": self.run, "stage": self.stage}

    @classmethod
    def from_json(cls, saved: dict | None) -> Tracking | None:
        return None if saved is None else cls(saved["report_to"], Path(saved["folder"]), saved["run"], saved["stage"])

    def environment(self) -> dict[str, str]:
        return environment(self.report_to, self.folder, self.stage)


def trainer_arguments(tracking: Tracking | None) -> dict[str, object]:
    """``report_to`` (and the run's name and project) for the TRL config: ``none`` without tracking."""
    if tracking is None:
        return {"report_to": "none"}
    from transformers import TrainingArguments

    arguments: dict[str, object] = {"report_to": tracking.report_to, "run_name": tracking.name}
    if "project" in TrainingArguments.__dataclass_fields__:  # trackio's project (transformers >= 4.56)
        arguments["project"] = PROJECT
    return arguments


@contextlib.contextmanager
def stage_environment(tracking: Tracking | None) -> Iterator[None]:
    """The tracker's environment around a stage's trainer (its integration reads it when the trainer
    is built and when training begins)."""
    with environment_set(tracking.environment() if tracking else {}):
        yield
