"""``cptbench train``: one stage outside a suite, from a local JSONL file, with the tiny model."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from cptbench.cli.main import app

TEXTS = [f"The council of district {i} approved the new budget for schools and roads." for i in range(8)]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def train(*args):
    return CliRunner().invoke(app, ["train", "--model", "tiny-llama", *args])


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "cpt-small.yaml"
    path.write_text("kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\nper_device_train_batch_size: 2\n")
    return path


def test_cpt_stage_from_jsonl(tmp_path, tiny_model_path, recipe):
    data = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    out = tmp_path / "ckpt"
    result = train("--kind", "cpt", "--data", str(data), "--out", str(out), "--recipe", str(recipe))
    assert result.exit_code == 0, result.output
    assert "checkpoint:" in result.output and "final loss" in result.output
    before, after = load_file(tiny_model_path / "model.safetensors"), load_file(out / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    again = train("--kind", "cpt", "--data", str(data), "--out", str(out), "--recipe", str(recipe))
    assert again.exit_code == 2 and "--out" in again.output and "--force" in again.output


def test_sft_stage_with_plain_text_prompts(tmp_path, tiny_model_path):
    rows = [{"prompt": f"Question {i}: is the sky blue?", "completion": " Yes, by Rayleigh scattering."} for i in range(4)]
    data = write_jsonl(tmp_path / "sft.jsonl", rows)
    recipe = tmp_path / "sft-small.yaml"
    recipe.write_text("kind: sft\nlearning_rate: 1.0e-3\nmax_length: 128\n")
    result = train("--kind", "sft", "--data", str(data), "--out", str(tmp_path / "ckpt"), "--recipe", str(recipe))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ckpt" / "model.safetensors").is_file()


@pytest.mark.parametrize(
    "kind,content,fragment",
    [
        ("cpt", '{"text": "fine"}\n{"text": \n', "line 2: malformed JSON"),
        ("cpt", '{"words": "no text field"}\n', "line 1: text: required for --kind cpt"),
        ("sft", '{"prompt": "only a prompt"}\n', "line 1: completion: required for --kind sft"),
        ("grpo", '{"prompt": "p", "reference": "r"}\n', "line 1: decision: required for --kind grpo"),
        ("cpt", '{"text": 42}\n', "line 1: text: expected a string, got int"),
        ("cpt", '{"text": "fine"}\n{"text": ["a", "b"]}\n', "line 2: text: expected a string, got list"),
        ("sft", '{"prompt": 7, "completion": "yes"}\n', "line 1: prompt: expected a string or a list of {role, content} chat messages, got int"),
        ("sft", '{"prompt": [{"role": "user"}], "completion": "yes"}\n', "line 1: prompt: expected a string or a list of {role, content} chat messages, got list"),
        ("sft", '{"prompt": "q", "completion": [{"role": "assistant", "content": "a"}]}\n', "line 1: completion: chat messages, but prompt is a string"),
        ("sft", '{"prompt": "q", "completion": "a"}\n{"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}]}\n',
         "line 2: prompt: chat messages, but the first row's is a string"),
        ("grpo", '{"prompt": "p", "reference": "r", "decision": 1}\n', "line 1: decision: expected a string, got int"),
        ("cpt", "\n\n", "no rows"),
        ("dpo", '{"text": "x"}\n', "--kind dpo"),
    ],
)
def test_bad_training_input(tmp_path, tiny_model_path, kind, content, fragment):
    data = tmp_path / "rows.jsonl"
    data.write_text(content)
    out = tmp_path / "ckpt"
    result = train("--kind", kind, "--data", str(data), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]  # no --out, no trainer-*/ scratch folder


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (["--seed", "-1"], "--seed -1: expected an integer from 0 to 4294967295"),
        (["--seed", str(2**32)], f"--seed {2**32}: expected an integer from 0 to 4294967295"),
        (["--out", "FILE"], "is a file, not a folder"),
        pytest.param(["--out", "/proc/cptbench-ckpt"], "--out /proc/cptbench-ckpt: /proc is not writable",
                     marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc here")),
    ],
)
def test_bad_train_option(tmp_path, tiny_model_path, extra, fragment):
    data = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    (tmp_path / "FILE").write_text("notes\n")
    extra = [str(tmp_path / "FILE") if item == "FILE" else item for item in extra]
    result = train("--kind", "cpt", "--data", str(data), "--out", str(tmp_path / "ckpt"), *extra)
    assert result.exit_code == 2 and fragment in result.output, result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE", "texts.jsonl"]
    assert (tmp_path / "FILE").read_text() == "notes\n"


def test_recipe_of_another_kind(tmp_path, tiny_model_path):
    data = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    result = train("--kind", "cpt", "--data", str(data), "--out", str(tmp_path / "ckpt"), "--recipe", "grpo")
    assert result.exit_code == 2 and "kind: recipe is for 'grpo' stages, the stage is 'cpt'" in result.output
