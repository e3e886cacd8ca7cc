"""Group-relative policy optimization: TRL's GRPOTrainer with weighted reward functions
(cptbench/train/rewards.py) on chat prompts."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from cptbench.core.errors import ConfigError, NumericsError
from cptbench.train.common import (
    StepProgress,
    TrainResult,
    common_arguments,
    loss_monitor,
    make_work_dir,
    stage_result,
    train_and_save,
    with_lora,
)
from cptbench.train.recipes import GRPORecipe


def train_grpo(
    model_path: Path,
    examples: Sequence[dict],
    recipe: GRPORecipe,
    out_dir: Path,
    *,
    seed: int,
    work_dir: Path | None = None,
    progress: StepProgress | None = None,
    first_stage: bool = True,
    reward_funcs: Sequence[Callable] | None = None,
    reward_weights: Sequence[float] | None = None,
    callbacks: Sequence = (),
    tracking=None,
) -> TrainResult:
    """Train on ``examples`` (``{"prompt": [chat messages], "reference": str, "decision": str}``;
    every column but ``prompt`` reaches the reward functions as a keyword argument) and save to
    ``out_dir``.

    One optimizer step = ``prompts_per_step`` prompts x ``num_generations`` sampled completions,
    split into ``gradient_accumulation_steps`` micro-batches (which must divide it; the recipe's
    ``per_device_train_batch_size`` is derived, not read). Prompts are shuffled by ``seed``.
    ``reward_funcs`` (TRL's ``f(completions, **kwargs) -> list[float | None]``) default to
    ``build_rewards(recipe.rewards, recipe.encoder)``. ``rewards`` in the result: one mean per step
    for each reward function (by its name) and ``reward``, the weighted total. ``recipe.lora`` works
    as in ``train_cpt`` (adapters merged before saving).
    """
    if not examples:
        raise ConfigError("grpo: no training examples")
    generation_batch = recipe.prompts_per_step * recipe.num_generations
    accumulation = recipe.gradient_accumulation_steps
    if generation_batch % accumulation:
        raise ConfigError(
            f"gradient_accumulation_steps: {accumulation} does not divide prompts_per_step x num_generations "
            f"({generation_batch})"
        )
    if reward_funcs is None:
        from cptbench.train.rewards import build_rewards

        reward_funcs, built_weights = build_rewards(recipe.rewards, recipe.encoder)
        reward_weights = built_weights if reward_weights is None else reward_weights
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from cptbench.models.resolve import default_device, load_model

    model, tokenizer = load_model(model_path, device=default_device())
    tokenizer.padding_side = "left"  # prompts are left-padded for generation
    model, finalize = with_lora(model, recipe, seed)
    work_dir, temporary = make_work_dir(work_dir, out_dir)
    arguments = common_arguments(recipe, work_dir, seed=seed, first_stage=first_stage, tracking=tracking)
    arguments.update(per_device_train_batch_size=generation_batch // accumulation)
    config = GRPOConfig(
        **arguments,
        num_generations=recipe.num_generations,
        generation_batch_size=generation_batch,  # one generation round per optimizer step
        max_completion_length=recipe.max_completion_length,
        temperature=recipe.temperature,
        beta=recipe.beta,
        reward_weights=list(reward_weights) if reward_weights is not None else None,
        use_vllm=recipe.use_vllm,
        shuffle_dataset=True,
    )
    columns = sorted({key for example in examples for key in example})
    dataset = Dataset.from_dict({key: [example.get(key) for example in examples] for key in columns})
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=list(reward_funcs),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[loss_monitor(progress), *callbacks],
    )
    try:
        seconds, _ = train_and_save(trainer, tokenizer, recipe, work_dir, temporary, out_dir, finalize=finalize)
    except RuntimeError as exc:  # sampling from NaN/inf logits fails before a loss is logged
        if "probability tensor contains" in str(exc):
            step = trainer.state.global_step + 1
            raise NumericsError(f"generation hit nan/inf probabilities at step {step}; stage stopped") from exc
        raise
    rewards = {name: _per_step(trainer, f"rewards/{name}/mean") for name in trainer.reward_func_names}
    rewards["reward"] = _per_step(trainer, "reward")
    return stage_result(trainer, out_dir, seconds, rewards=rewards)


def _per_step(trainer, key: str) -> tuple[float, ...]:
    """A logged reward per step; NaN where every completion's reward was None."""
    history = trainer.state.log_history
    return tuple(math.nan if entry[key] is None else float(entry[key]) for entry in history if key in entry)
