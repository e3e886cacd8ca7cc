"""NaN or inf never reaches a record: the stage stops with exit code 1 and the run stays resumable."""

import shutil

import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from cptbench.cli.main import app

SUITE = """\
name: nan-mini
version: 1
stages:
  - {{name: politics, recipe: {recipe}, data: {{source: crossner, domain: politics, splits: [train]}}}}
tasks:
  - {{name: politics_bpb, kind: bpb, stage: politics, data: {{source: crossner, domain: politics, split: test}}}}
budgets:
  smoke: {{train_tokens: 600, eval_docs: 1}}
default_budget: smoke
"""


def write_suite(tmp_path, learning_rate):
    (tmp_path / "recipe.yaml").write_text(f"kind: cpt\nlearning_rate: {learning_rate}\nmax_length: 64\n")
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.format(recipe=tmp_path / "recipe.yaml"))
    return path


def test_diverging_training_stops_the_stage_and_stays_resumable(tmp_path, data_dir, tiny_model_path):
    suite = write_suite(tmp_path, "1.0e+30")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--suite", str(suite), "--model", "tiny-llama", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "training loss is" in result.output and "stage stopped" in result.output
    assert not (out / "record.json").exists()
    assert (out / "eval" / "0-base" / "politics_bpb.json").exists()  # finished work is kept
    assert not list(out.glob("checkpoints/*"))  # no checkpoint of a diverged stage


def test_nan_in_evaluation_stops_before_any_record(tmp_path, data_dir, tiny_model_path):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_path, broken)
    weights = load_file(broken / "model.safetensors")
    weights["model.norm.weight"] = torch.full_like(weights["model.norm.weight"], float("nan"))
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--suite", str(write_suite(tmp_path, "1.0e-3")), "--model", str(broken), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "non-finite" in result.output
    assert not (out / "record.json").exists() and not list(out.glob("eval/*/*.json"))
