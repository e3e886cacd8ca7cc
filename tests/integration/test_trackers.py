"""``cptbench run --report-to tensorboard`` on the tiny model: the event files, read back with
TensorBoard's own reader, hold every cell of the record's matrix (at its row's step), every metric,
the run's configuration as hyper-parameters, and each stage's training losses as transformers'
integration logged them, under RUN_DIR/trackers/; and the tracker is no part of the configuration."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.records import load_verified_record

RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\nper_device_train_batch_size: 1\n"


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory, data_dir, tiny_model_path, suite_of_stages):
    folder = tmp_path_factory.mktemp("trackers")
    suite = suite_of_stages(folder, "trackers-mini", ("politics", "science"), RECIPE, train_tokens=400)
    out = folder / "run"
    command = ["run", "--suite", str(suite), "--model", "tiny-llama", "--seed", "0", "--out", str(out)]
    result = CliRunner().invoke(app, [*command, "--report-to", "tensorboard"])
    assert result.exit_code == 0, result.output
    return out, command


def events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert folder.is_dir(), folder
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag) -> dict[int, float]:
    return {event.step: event.value for event in accumulator.Scalars(tag)}


def as_stored(value: float) -> float:
    return float(np.float32(value))  # TensorBoard keeps a scalar as float32


def test_every_cell_and_metric_is_in_the_event_files(tracked_run):
    out, _ = tracked_run
    record = load_verified_record(out)
    results = events(out / "trackers" / "tensorboard" / "results")
    for j, task in enumerate(record.tasks):
        logged = scalars(results, f"matrix/{task.name}")
        assert logged == {t: as_stored(row[j]) for t, row in enumerate(record.matrix)}, task.name
    final = len(record.stages)
    metrics = {name: value for name, value in record.metrics.items() if value is not None}
    assert metrics and {name: scalars(results, f"metrics/{name}") for name in metrics} == \
        {name: {final: as_stored(value)} for name, value in metrics.items()}


def test_the_configuration_is_logged_as_hyperparameters(tracked_run):
    from tensorboard.plugins.hparams import plugin_data_pb2

    out, _ = tracked_run
    content = events(out / "trackers" / "tensorboard" / "results").PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model"].string_value == "tiny-llama"
    assert start.hparams["suite"].string_value == "trackers-mini"
    assert start.hparams["method"].string_value == "naive"
    assert start.hparams["seed"].number_value == 0


def test_each_stage_has_its_training_losses_from_transformers(tracked_run):
    out, _ = tracked_run
    for train_file in sorted((out / "train").glob("*.json")):
        losses = json.loads(train_file.read_text())["losses"]
        logged = scalars(events(out / "trackers" / "tensorboard" / "train" / train_file.stem), "train/loss")
        assert losses and list(logged.values()) == [as_stored(v) for v in losses], train_file.stem
        assert sorted(logged) == list(range(1, len(losses) + 1))  # one per optimizer step (logging_steps=1)


def test_the_tracker_is_not_part_of_the_configuration(tracked_run):
    out, command = tracked_run
    assert "report" not in (out / "config.json").read_text()
    result = CliRunner().invoke(app, command)  # the same run without --report-to: finished, nothing to do
    assert result.exit_code == 0, result.output
    assert "this configuration already finished; nothing to do" in " ".join(result.output.split())
