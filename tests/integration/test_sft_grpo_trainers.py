"""The SFT and GRPO reference trainers (real TRL) on the tiny seeded model: a few steps each."""

import math
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from cptbench.core.errors import ConfigError, NumericsError
from cptbench.models.resolve import load_model
from cptbench.train import rewards
from cptbench.train.grpo import train_grpo
from cptbench.train.recipes import GRPORecipe, LoraSpec, SFTRecipe
from cptbench.train.sft import train_sft


def _chat(question: str, answer: str) -> dict:
    return {"prompt": [{"role": "user", "content": question}], "completion": [{"role": "assistant", "content": answer}]}


SFT_EXAMPLES = [_chat(f"Question {i}: why is the sky blue?", "Air scatters short wavelengths most.") for i in range(4)]
SFT_RECIPE = SFTRecipe(max_length=128, learning_rate=1e-3)
PROMPTS = [
    {"prompt": [{"role": "user", "content": f"Does drug {i} lower blood pressure?"}],
     "reference": "It lowered systolic pressure in the trial.", "decision": "yes"}
    for i in range(2)
]
GRPO_RECIPE = GRPORecipe(max_completion_length=12, learning_rate=1e-2, rewards={"rouge": 1.0, "correctness": 1.0})


def variety(completions, **_) -> list[float]:
    """Distinct characters: unlike rouge/correctness it varies between the tiny model's completions,
    so group advantages (and gradients) are non-zero."""
    return [len(set(c[0]["content"])) / 12 for c in completions]


def _weights(path):
    return load_file(path / "model.safetensors")


def _changed(before, after) -> int:
    assert before.keys() == after.keys()
    return sum(not torch.equal(before[k], after[k]) for k in before)


def _nan_model(source, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(source, broken)
    weights = _weights(broken)
    name = next(k for k in weights if "layers.0" in k and k.endswith("weight"))
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    return broken


# --- SFT -------------------------------------------------------------------------------------


def test_sft_loss_is_on_the_completion_only(tiny_model_path, tiny, tmp_path):
    """The first logged loss (initial weights) equals the cross-entropy of the completion tokens
    alone, not of the whole chat (which differs by ~0.015 on the tiny model)."""
    model, tokenizer = tiny
    example = _chat("What colour is the sky on a clear day? Explain briefly.", "Blue: air scatters short light.")
    prompt = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([tokenizer(full, add_special_tokens=False)["input_ids"]])
    labels = ids.clone()
    labels[0, : len(prompt_ids)] = -100
    with torch.no_grad():
        completion_loss = model(ids, labels=labels).loss.item()
        whole_loss = model(ids, labels=ids).loss.item()
    assert abs(completion_loss - whole_loss) > 1e-3

    result = train_sft(tiny_model_path, [example], SFT_RECIPE, tmp_path / "ckpt", seed=0)
    assert result.steps == 1 and result.tokens == ids.shape[1]
    assert result.losses[0] == pytest.approx(completion_loss, abs=1e-4)


def test_sft_long_prompt_loses_its_start_not_the_answer(tiny_model_path, tiny, tmp_path):
    """A pair longer than max_length trains on its last max_length tokens: the end of the prompt and
    the whole completion (a PubMedQA prompt is longer than tiny-llama's 256-token context)."""
    model, tokenizer = tiny
    example = _chat("Background sentence. " * 20 + "Is the sky blue?", "Yes: air scatters short light.")
    prompt = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    completion_tokens = len(ids) - len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    limit = SFT_RECIPE.max_length
    assert len(ids) > limit > completion_tokens
    kept = torch.tensor([ids[-limit:]])
    labels = kept.clone()
    labels[0, : limit - completion_tokens] = -100
    with torch.no_grad():
        expected = model(kept, labels=labels).loss.item()

    result = train_sft(tiny_model_path, [example], SFT_RECIPE, tmp_path / "ckpt", seed=0)
    assert result.steps == 1 and result.tokens == limit
    assert result.losses[0] == pytest.approx(expected, abs=1e-4)


def test_sft_trains_and_checkpoint_loads(tiny_model_path, tmp_path):
    steps = []
    result = train_sft(tiny_model_path, SFT_EXAMPLES, SFT_RECIPE, tmp_path / "ckpt", seed=0,
                       progress=lambda step, total: steps.append((step, total)))
    assert result.steps == len(SFT_EXAMPLES) and steps[-1] == (4, 4)
    assert len(result.losses) == result.steps and all(math.isfinite(loss) for loss in result.losses)
    assert result.losses[-1] < result.losses[0]
    assert _changed(_weights(tiny_model_path), _weights(result.checkpoint)) > 10
    model, _ = load_model(result.checkpoint)
    assert model.config.num_hidden_layers == 2


def test_sft_lora_is_merged_into_a_plain_checkpoint(tiny_model_path, tmp_path):
    recipe = SFT_RECIPE.model_copy(update={"lora": LoraSpec(r=4, target_modules=["q_proj", "v_proj"])})
    result = train_sft(tiny_model_path, SFT_EXAMPLES[:2], recipe, tmp_path / "ckpt", seed=0)
    before, after = _weights(tiny_model_path), _weights(result.checkpoint)  # same keys: no adapters left
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("q_proj" in k or "v_proj" in k for k in changed)


def test_sft_nan_loss_stops_the_stage(tiny_model_path, tmp_path):
    with pytest.raises(NumericsError, match="training loss is nan"):
        train_sft(_nan_model(tiny_model_path, tmp_path), SFT_EXAMPLES[:1], SFT_RECIPE, tmp_path / "ckpt", seed=0)
    assert not (tmp_path / "ckpt").exists()


# --- GRPO ------------------------------------------------------------------------------------


def test_grpo_logs_each_reward_and_changes_parameters(tiny_model_path, tmp_path):
    recipe = GRPO_RECIPE.model_copy(update={"gradient_accumulation_steps": 2})  # 2 micro-batches of 2
    result = train_grpo(tiny_model_path, PROMPTS, recipe, tmp_path / "ckpt", seed=0,
                        reward_funcs=[rewards.rouge, rewards.correctness, variety], reward_weights=[1.0, 1.0, 0.5])
    assert result.steps == len(PROMPTS)  # one prompt group per optimizer step
    assert len(result.losses) == result.steps and all(math.isfinite(loss) for loss in result.losses)
    assert set(result.rewards) == {"rouge", "correctness", "variety", "reward"}
    assert all(len(values) == result.steps for values in result.rewards.values())
    assert all(0 <= value <= 1 for value in result.rewards["rouge"] + result.rewards["correctness"])
    for step in range(result.steps):  # the total is the weighted sum of the components' means
        parts = result.rewards["rouge"][step] + result.rewards["correctness"][step] + 0.5 * result.rewards["variety"][step]
        assert result.rewards["reward"][step] == pytest.approx(parts, abs=1e-5)
    assert result.tokens > 0
    assert _changed(_weights(tiny_model_path), _weights(result.checkpoint)) > 10
    load_model(result.checkpoint)


def test_grpo_same_seed_same_weights(tiny_model_path, tmp_path):
    runs = [train_grpo(tiny_model_path, PROMPTS, GRPO_RECIPE, tmp_path / name, seed=7, reward_funcs=[variety])
            for name in ("a", "b")]
    a, b = (_weights(run.checkpoint) for run in runs)
    assert _changed(_weights(tiny_model_path), a) > 10
    assert _changed(a, b) == 0
    assert runs[0].rewards == runs[1].rewards and runs[0].losses == runs[1].losses


def test_grpo_builds_rewards_from_the_recipe(tiny_model_path, tmp_path):
    result = train_grpo(tiny_model_path, PROMPTS[:1], GRPO_RECIPE, tmp_path / "ckpt", seed=0)
    assert set(result.rewards) == {"rouge", "correctness", "reward"} and result.steps == 1


def test_grpo_semantic_reward(tiny_model_path, tmp_path):
    recipe = GRPO_RECIPE.model_copy(update={"rewards": {"semantic": 1.0, "correctness": 1.0}})
    result = train_grpo(tiny_model_path, PROMPTS[:1], recipe, tmp_path / "ckpt", seed=0)
    assert set(result.rewards) == {"semantic", "correctness", "reward"}
    assert -1 <= result.rewards["semantic"][0] <= 1


def test_grpo_nan_stops_the_stage(tiny_model_path, tmp_path):
    with pytest.raises(NumericsError, match="nan"):
        train_grpo(_nan_model(tiny_model_path, tmp_path), PROMPTS[:1], GRPO_RECIPE, tmp_path / "ckpt", seed=0,
                   reward_funcs=[variety])
    assert not (tmp_path / "ckpt").exists()


def test_grpo_accumulation_must_divide_the_generation_batch(tiny_model_path, tmp_path):
    recipe = GRPO_RECIPE.model_copy(update={"gradient_accumulation_steps": 3})
    with pytest.raises(ConfigError, match="gradient_accumulation_steps"):
        train_grpo(tiny_model_path, PROMPTS, recipe, tmp_path / "ckpt", seed=0, reward_funcs=[variety])
