"""The plug-in methods on the tiny model: invariances that must hold bit for bit (a method at zero
strength is naive), what a very strong penalty does to the weights, and kill -9 resume of the
stateful methods (ewc's Fisher, merge's rewritten checkpoint)."""

import json
import os
import subprocess
import sys

import pytest

from cptbench.config.suites import load_suite
from cptbench.core.records import load_verified_record
from cptbench.run.runner import RunConfig, run_suite

LR = 1e-3
RECIPE = f"kind: cpt\nlearning_rate: {LR}\nmax_length: 64\nper_device_train_batch_size: 1\nsave_steps: 2\n"


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory, data_dir, tiny_model_path, suite_of_stages):
    return suite_of_stages(tmp_path_factory.mktemp("suite"), "methods-mini", ("politics", "science"), RECIPE, train_tokens=700)


@pytest.fixture(scope="module")
def run_method(suite_file, tmp_path_factory):
    suite = load_suite(str(suite_file))
    folder = tmp_path_factory.mktemp("runs")
    made = {}

    def run(spec):
        if spec not in made:
            out = folder / spec.replace(":", "-").replace("=", "").replace(",", "-")
            run_suite(RunConfig(suite=suite, budget=suite.budget(None), model="tiny-llama", seed=0, out_dir=out, method=spec))
            made[spec] = (load_verified_record(out), out)
        return made[spec]

    return run


@pytest.mark.parametrize("spec", ["l2:lambda=0", "ewc:lambda=0", "distill:weight=0", "merge:alpha=1"])
def test_a_method_at_zero_strength_is_naive_bit_for_bit(run_method, spec):
    naive, _ = run_method("naive")
    record, _ = run_method(spec)
    assert record.matrix == naive.matrix
    assert record.method.name == spec.split(":")[0]
    assert [t.tokens for t in record.training] == [t.tokens for t in naive.training]


def test_methods_at_their_defaults_change_the_matrix(run_method):
    naive, _ = run_method("naive")
    for spec in ("l2:lambda=100", "ewc", "distill", "merge"):
        record, _ = run_method(spec)
        assert record.matrix[0] == naive.matrix[0]  # the base row
        assert record.matrix[2] != naive.matrix[2], spec


def test_merge_at_alpha_zero_keeps_the_base_model_in_every_row(run_method):
    record, _ = run_method("merge:alpha=0")
    assert record.matrix[1] == record.matrix[0] and record.matrix[2] == record.matrix[0]


def _largest_move(checkpoint, base):
    from cptbench.models.resolve import load_model

    trained, _ = load_model(checkpoint)
    start = dict(load_model(base)[0].named_parameters())
    return max((p - start[name]).abs().max().item() for name, p in trained.named_parameters())


def test_a_very_large_l2_keeps_the_weights_at_the_base(run_method, tiny_model_path):
    """AdamW moves each weight by about the learning rate per step whatever the gradient's scale;
    the penalty pulls it back every step, so it stays within a few steps of the start, while naive
    drifts for the whole run."""
    _, naive_dir = run_method("naive")
    _, strong_dir = run_method("l2:lambda=1e9")
    naive_move = _largest_move(naive_dir / "checkpoints" / "2-science", tiny_model_path)
    strong_move = _largest_move(strong_dir / "checkpoints" / "2-science", tiny_model_path)
    assert strong_move <= 5 * LR < naive_move / 2, (strong_move, naive_move)


def test_a_very_large_ewc_keeps_the_second_stage_near_the_first(run_method):
    naive, _ = run_method("naive")
    strong, _ = run_method("ewc:lambda=1e12")
    assert strong.matrix[1] == naive.matrix[1]  # the first stage has nothing to protect
    moved = max(abs(a - b) for a, b in zip(strong.matrix[2], strong.matrix[1]))
    naive_moved = max(abs(a - b) for a, b in zip(naive.matrix[2], naive.matrix[1]))
    assert moved < naive_moved / 5


def _cli(suite_file, out, spec, fault=None):
    env = {k: v for k, v in os.environ.items() if k != "CPTBENCH_FAULT"}
    if fault:
        env["CPTBENCH_FAULT"] = fault
    command = [sys.executable, "-m", "cptbench", "run", "--suite", str(suite_file), "--model", "tiny-llama",
               "--method", spec, "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("spec, fault", [("ewc", "train:science:step:2"), ("merge", "after-stage:politics")])
def test_a_stateful_method_killed_mid_run_resumes_to_the_uninterrupted_matrix(run_method, suite_file, tmp_path, spec, fault):
    reference, _ = run_method(spec)
    out = tmp_path / "run"
    killed = _cli(suite_file, out, spec, fault=fault)
    assert killed.returncode == -9, killed.stderr
    assert not (out / "record.json").exists()
    if spec == "ewc":
        assert (out / "method" / "fisher-1.safetensors").is_file()  # stage 1's Fisher, kept for the resume
    resumed = _cli(suite_file, out, spec)
    assert resumed.returncode == 0, resumed.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["matrix"] == reference.matrix
    assert len(record["attempts"]) == 2
