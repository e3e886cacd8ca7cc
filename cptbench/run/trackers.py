"""The run's results in an experiment tracker (``--report-to``): each row of the matrix once it is
scored (``matrix/<task>`` at step t), the metrics once they exist (``metrics/<name>`` at the last
row's step, T: they are computed on the whole matrix), and the run's configuration (suite, model,
budget, seed, method, order, backend) as hyper-parameters. Training losses reach the same tracker
through transformers' integration (cptbench/train/trackers.py).

One thin adapter per tracker over its library's own API, writing under ``RUN_DIR/trackers/``:

    trackers/tensorboard/results/        the matrix and the metrics (SummaryWriter)
    trackers/tensorboard/train/<t>-<s>/  each stage's training logs (transformers' TensorBoardCallback)
    trackers/wandb/                      W&B, offline unless WANDB_MODE says otherwise
    trackers/mlflow.db, mlartifacts/     MLflow's SQLite store, unless MLFLOW_TRACKING_URI names another
    trackers/trackio/                    Trackio's local database, unless TRACKIO_DIR names another
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

from cptbench.train.trackers import PROJECT, Tracking, environment, environment_set

FOLDER = "trackers"  # in the run directory


class ResultsTracker:
    """What a run logs besides its files; this one (``--report-to none``) logs nothing."""

    def row(self, step: int, values: dict[str, float]) -> None:
        """Row ``step`` of the matrix: task name -> value."""

    def metrics(self, step: int, values: dict[str, float]) -> None:
        """The derived metrics (finite values only), after the last row ``step``."""

    def close(self) -> None:
        pass

    def stage_environment(self) -> dict[str, str]:
        """What the stages' trainers (this process's and launched ones) read besides the defaults."""
        return {}


class TensorBoard(ResultsTracker):
    def __init__(self, folder: Path, name: str, config: dict[str, object]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.config = config
        self.writer = SummaryWriter(log_dir=str(folder / "tensorboard" / "results"))
        self.writer.add_text("config", "\n".join(f"- {key}: `{value}`" for key, value in config.items()))

    def row(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"matrix/{name}", value, step)
        self.writer.flush()

    def metrics(self, step: int, values: dict[str, float]) -> None:
        from torch.utils.tensorboard.summary import hparams

        for name, value in values.items():
            self.writer.add_scalar(f"metrics/{name}", value, step)
        # the configuration as a session of the HParams dashboard, its metrics the scalars above
        for summary in hparams(self.config, {f"metrics/{name}": value for name, value in values.items()}):
            self.writer.file_writer.add_summary(summary)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class Wandb(ResultsTracker):
    """One W&B run per cptbench run; a stage trained in this process logs into it too (transformers'
    WandbCallback joins the active run), one trained by other processes into a run of its own."""

    def __init__(self, folder: Path, name: str, config: dict[str, object]) -> None:
        import wandb

        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=name, dir=str(folder), config=config)
        self.run.define_metric("row")  # rows and metrics against the matrix row, not the training step
        for prefix in ("matrix", "metrics"):
            self.run.define_metric(f"{prefix}/*", step_metric="row")

    def row(self, step: int, values: dict[str, float]) -> None:
        self.run.log({**{f"matrix/{name}": value for name, value in values.items()}, "row": step})

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.run.log({**{f"metrics/{name}": value for name, value in values.items()}, "row": step})

    def close(self) -> None:
        self.run.finish()


class MLflow(ResultsTracker):
    """One MLflow run per cptbench run, the configuration as its parameters; each stage's training is
    a run of its own (transformers' MLflowCallback) marked as its child through ``MLFLOW_TAGS``.
    Logged by run id (``MlflowClient``), not as the fluent API's active run: the callback ends the
    active run when it is discarded."""

    def __init__(self, folder: Path, name: str, config: dict[str, object]) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
        name_of_experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME", PROJECT)
        experiment = self.client.get_experiment_by_name(name_of_experiment)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(
            name_of_experiment, artifact_location=(folder / "mlartifacts").as_uri())  # not ./mlruns in the working folder
        self.run_id = self.client.create_run(experiment_id, run_name=name).info.run_id
        for key, value in config.items():
            self.client.log_param(self.run_id, key, value)

    def row(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.client.log_metric(self.run_id, _mlflow_name(f"matrix/{name}"), value, step=step)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.client.log_metric(self.run_id, _mlflow_name(f"metrics/{name}"), value, step=step)

    def close(self) -> None:
        self.client.set_terminated(self.run_id)

    def stage_environment(self) -> dict[str, str]:
        tags = json.loads(os.environ.get("MLFLOW_TAGS") or "{}")
        return {"MLFLOW_TAGS": json.dumps({**tags, "mlflow.parentRunId": self.run_id})}


def _mlflow_name(name: str) -> str:
    """MLflow takes letters, digits, ``_ - . / :`` and spaces in a metric's name: ``bwt[bpb]`` -> ``bwt_bpb``."""
    return re.sub(r"[^\w\-./: ]", "_", name).rstrip("_")


class Trackio(ResultsTracker):
    def __init__(self, folder: Path, name: str, config: dict[str, object]) -> None:
        import trackio

        self.run = trackio.init(project=PROJECT, name=name, config=config, resume="allow")

    def row(self, step: int, values: dict[str, float]) -> None:
        self.run.log({f"matrix/{name}": value for name, value in values.items()}, step=step)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.run.log({f"metrics/{name}": value for name, value in values.items()}, step=step)

    def close(self) -> None:
        self.run.finish()


TRACKERS: dict[str, type[ResultsTracker]] = {"tensorboard": TensorBoard, "wandb": Wandb, "mlflow": MLflow, "trackio": Trackio}


@contextlib.contextmanager
def results_tracker(report_to: str, root: Path, config: dict[str, object]) -> Iterator[ResultsTracker]:
    """The run's tracker (``root``: its directory), open for the block, inside the tracker's
    environment (which the stages trained in this process share)."""
    if report_to == "none":
        yield ResultsTracker()
        return
    folder = root / FOLDER
    with environment_set(environment(report_to, folder)):
        tracker = TRACKERS[report_to](folder.absolute(), root.absolute().name, config)
        try:
            with environment_set(tracker.stage_environment()):
                yield tracker
        finally:
            tracker.close()


def stage_tracking(report_to: str, root: Path, row: int, stage: str) -> Tracking | None:
    """Where stage ``row`` (named ``stage``) of the run in ``root`` reports its training (None: nowhere)."""
    if report_to == "none":
        return None
    return Tracking(report_to, (root / FOLDER).absolute(), root.absolute().name, f"{row}-{stage}")


def tracked_config(config) -> dict[str, object]:
    """A ``RunConfig``'s settings as flat values (what a tracker shows as hyper-parameters)."""
    from cptbench.methods.grammar import canonical_spec, method_from_spec

    return {"suite": config.suite.name, "suite_version": config.suite.version, "suite_hash": config.suite.content_hash,
            "budget": config.budget.name, "model": config.model, "seed": config.seed,
            "method": canonical_spec(method_from_spec(config.method)), "order": config.order, "backend": config.backend}


def finite(values: dict[str, float | None]) -> dict[str, float]:
    """The metrics a tracker can plot: those with a finite value (a metric without terms is None)."""
    return {name: float(value) for name, value in values.items() if value is not None and math.isfinite(value)}
