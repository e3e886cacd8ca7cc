"""What the trackers' integrations are given (cptbench/train/trackers.py): offline and inside the run
directory by default, the user's own settings kept; a stage's tracking survives the job file of a
multi-process launch; the environment is restored after a stage."""

import os
from pathlib import Path

from cptbench.run.trackers import _mlflow_name, finite, stage_tracking
from cptbench.train.trackers import Tracking, environment, stage_environment, trainer_arguments


def test_trackers_are_offline_and_inside_the_run_directory_by_default(tmp_path, monkeypatch):
    for name in ("WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "MLFLOW_TRACKING_URI", "TRACKIO_DIR", "TENSORBOARD_LOGGING_DIR"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "run" / "trackers"
    assert environment("tensorboard", folder, "1-politics") == {"TENSORBOARD_LOGGING_DIR": str(folder / "tensorboard" / "train" / "1-politics")}
    wandb = environment("wandb", folder)
    assert wandb["WANDB_MODE"] == "offline" and wandb["WANDB_DIR"] == str(folder) and wandb["WANDB_PROJECT"] == "cptbench"
    assert environment("mlflow", folder)["MLFLOW_TRACKING_URI"] == f"sqlite:///{folder}/mlflow.db"
    assert environment("trackio", folder)["TRACKIO_DIR"] == str(folder / "trackio")
    assert environment("none", folder) == {}


def test_the_users_own_tracker_settings_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert environment("wandb", tmp_path)["WANDB_MODE"] == "online"
    assert environment("mlflow", tmp_path)["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"


def test_a_stages_tracking_survives_the_job_file_and_names_the_trainer_run(tmp_path):
    tracking = stage_tracking("tensorboard", tmp_path / "my-run", 2, "science")
    assert tracking == Tracking("tensorboard", (tmp_path / "my-run" / "trackers").absolute(), "my-run", "2-science")
    assert Tracking.from_json(tracking.to_json()) == tracking and Tracking.from_json(None) is None
    assert stage_tracking("none", tmp_path, 1, "politics") is None
    arguments = trainer_arguments(tracking)
    assert arguments["report_to"] == "tensorboard" and arguments["run_name"] == "my-run/2-science"
    assert trainer_arguments(None) == {"report_to": "none"}


def test_a_stages_environment_is_restored_after_it(tmp_path, monkeypatch):
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    tracking = Tracking("tensorboard", tmp_path, "run", "1-politics")
    with stage_environment(tracking):
        assert Path(os.environ["TENSORBOARD_LOGGING_DIR"]) == tmp_path / "tensorboard" / "train" / "1-politics"
    assert "TENSORBOARD_LOGGING_DIR" not in os.environ and os.environ["WANDB_MODE"] == "disabled"
    with stage_environment(None):
        assert "TENSORBOARD_LOGGING_DIR" not in os.environ


def test_metric_names_and_values_a_tracker_takes():
    assert _mlflow_name("metrics/bwt[bpb]") == "metrics/bwt_bpb"
    assert _mlflow_name("matrix/politics_bpb") == "matrix/politics_bpb"
    assert finite({"a": 1.0, "b": None, "c": float("nan"), "d": -2}) == {"a": 1.0, "d": -2.0}
