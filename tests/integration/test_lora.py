"""LoRA stages on the tiny model: adapters trained, merged, saved as a plain checkpoint."""

import json

import pytest
import torch
from safetensors.torch import load_file

from cptbench.eval.backends.hf import HFBackend
from cptbench.models.resolve import load_model
from cptbench.train.cpt import train_cpt
from cptbench.train.lora import apply_lora, merge_lora, trainable_fraction
from cptbench.train.recipes import CPTRecipe, LoraSpec

TEXTS = [f"Document {i}: the committee met in Brussels and voted on the budget. " * (1 + i % 3) for i in range(12)]
SPEC = LoraSpec(r=4, alpha=8.0, target_modules=["q_proj", "v_proj", "down_proj"])
RECIPE = CPTRecipe(max_length=64, per_device_train_batch_size=2, learning_rate=1e-2, lora=SPEC, save_steps=2)
EVAL_TEXTS = ["Parliament voted on the budget in Brussels.", "The orchestra played a symphony by Mahler."]


def _targeted(name: str) -> bool:
    return any(f".{module}." in name for module in SPEC.target_modules)


@pytest.fixture(scope="module")
def lora_stage(tiny_model_path, tmp_path_factory):
    return train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path_factory.mktemp("lora") / "ckpt", seed=0)


def test_only_targeted_weights_change(tiny_model_path, lora_stage):
    before = load_file(tiny_model_path / "model.safetensors")
    after = load_file(lora_stage.checkpoint / "model.safetensors")
    assert before.keys() == after.keys()  # the original architecture: no lora_A / lora_B tensors
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    targeted = {k for k in before if _targeted(k)}
    assert changed == targeted  # every targeted weight moved (merged), nothing else did
    assert "model.embed_tokens.weight" not in changed
    assert lora_stage.losses[-1] < lora_stage.losses[0]


def test_checkpoint_is_plain_and_loads(tiny_model_path, lora_stage):
    folder = lora_stage.checkpoint
    assert not list(folder.glob("adapter_*"))
    base_config = json.loads((tiny_model_path / "config.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == base_config["architectures"]
    model, tokenizer = load_model(folder)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert not any("lora" in name for name, _ in model.named_parameters())
    bpb = HFBackend(model, tokenizer).loglikelihood_rolling(EVAL_TEXTS)
    assert all(r.nll > 0 for r in bpb)


class Killed(Exception):
    pass


def test_killed_stage_resumes_to_the_same_weights(tiny_model_path, lora_stage, tmp_path):
    """Same seed, same adapters (their random init is seeded), and a stage resumed from its
    step-2 adapter checkpoint ends where the uninterrupted stage did."""

    def kill_at_step_3(step, _):
        if step == 3:
            raise Killed

    work = tmp_path / "work"
    with pytest.raises(Killed):
        train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path / "ckpt", seed=0, work_dir=work, progress=kill_at_step_3)
    assert (work / "checkpoint-2" / "adapter_model.safetensors").is_file()
    resumed = train_cpt(tiny_model_path, TEXTS, RECIPE, tmp_path / "ckpt", seed=0, work_dir=work)
    assert resumed.steps == lora_stage.steps
    expected = load_file(lora_stage.checkpoint / "model.safetensors")
    got = load_file(resumed.checkpoint / "model.safetensors")
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_merged_weights_score_like_the_adapters(tiny_model_path):
    model, tokenizer = load_model(tiny_model_path)
    plain = [r.nll for r in HFBackend(model, tokenizer).loglikelihood_rolling(EVAL_TEXTS)]
    torch.manual_seed(0)
    wrapped = apply_lora(model, SPEC, init_lora_weights=False)  # B != 0: the adapters change the output
    wrapped.eval()
    adapted = [r.nll for r in HFBackend(wrapped, tokenizer).loglikelihood_rolling(EVAL_TEXTS)]
    merged_model = merge_lora(wrapped)
    assert type(merged_model).__name__ == "LlamaForCausalLM"
    merged = [r.nll for r in HFBackend(merged_model, tokenizer).loglikelihood_rolling(EVAL_TEXTS)]
    assert merged == pytest.approx(adapted, rel=1e-4)
    assert adapted != pytest.approx(plain, rel=1e-3)  # the comparison is not vacuous


def test_few_parameters_are_trainable(tiny_model_path):
    model, _ = load_model(tiny_model_path)
    wrapped = apply_lora(model, SPEC)
    fraction = trainable_fraction(wrapped)
    assert 0 < fraction < 0.1
    trainable = {name for name, p in wrapped.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
