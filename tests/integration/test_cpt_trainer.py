"""The CPT reference trainer (TRL SFTTrainer, wrapped packing) on the tiny seeded model."""

import math
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from cptbench.core.errors import NumericsError
from cptbench.train.cpt import train_cpt
from cptbench.train.recipes import CPTRecipe

TEXTS = [f"Document {i}: the committee met in Brussels and voted on the budget. " * (1 + i % 3) for i in range(12)]
RECIPE = CPTRecipe(max_length=64, per_device_train_batch_size=2, learning_rate=1e-3)


def test_trains_on_exactly_the_corpus_tokens(tiny_model_path, tiny, tmp_path):
    _, tokenizer = tiny
    corpus_tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in TEXTS)  # + EOS
    result = train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path / "ckpt", seed=0)
    assert result.tokens == corpus_tokens
    chunks = math.ceil(corpus_tokens / 64)  # wrapped packing keeps the short last chunk
    assert result.steps == math.ceil(chunks / 2)
    assert len(result.losses) == result.steps and all(loss > 0 for loss in result.losses)


def test_parameters_change_and_checkpoint_loads(tiny_model_path, tmp_path):
    result = train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path / "ckpt", seed=0)
    before = load_file(tiny_model_path / "model.safetensors")
    after = load_file(result.checkpoint / "model.safetensors")
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2
    assert result.losses[-1] < result.losses[0]


def test_same_seed_same_weights(tiny_model_path, tmp_path):
    a = train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path / "a", seed=3)
    b = train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path / "b", seed=3)
    wa, wb = load_file(a.checkpoint / "model.safetensors"), load_file(b.checkpoint / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_nan_loss_stops_the_stage(tiny_model_path, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_path, broken)
    weights = load_file(broken / "model.safetensors")
    name = next(k for k in weights if "layers.0" in k and k.endswith("weight"))
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(NumericsError, match="training loss is nan"):
        train_cpt(broken, TEXTS, RECIPE, tmp_path / "ckpt", seed=0)
    assert not (tmp_path / "ckpt").exists()
