"""Supervised fine-tuning: TRL's SFTTrainer on conversational prompt/completion pairs, the loss on
the completion only, rendered with the model's chat template."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cptbench.core.errors import ConfigError
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
from cptbench.train.recipes import SFTRecipe


def train_sft(
    model_path: Path,
    examples: Sequence[dict],
    recipe: SFTRecipe,
    out_dir: Path,
    *,
    seed: int,
    work_dir: Path | None = None,
    progress: StepProgress | None = None,
    first_stage: bool = True,
    callbacks: Sequence = (),
    tracking=None,
) -> TrainResult:
    """Train on ``examples`` and save to ``out_dir``.

    Each example is ``{"prompt": [{"role": "user", ...}], "completion": [{"role": "assistant", ...}]}``
    (further keys are ignored). TRL renders prompt + completion with the tokenizer's chat template
    and masks every prompt token out of the loss (``completion_only_loss``). Examples are padded,
    not packed, and cut to ``max_length`` (the recipe's, capped at the model's context) from the
    start: a long prompt loses its beginning, the completion is kept. ``tokens`` counts the
    non-padding tokens the model saw (prompt + completion).

    Resuming works as in ``train_cpt`` (``recipe.save_steps`` and a kept ``work_dir``), and so does
    ``recipe.lora`` (adapters merged before saving: ``out_dir`` holds a plain model).
    """
    if not examples:
        raise ConfigError("sft: no training examples")
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from cptbench.models.resolve import default_device, load_model

    model, tokenizer = load_model(model_path, device=default_device())
    model, finalize = with_lora(model, recipe, seed)
    work_dir, temporary = make_work_dir(work_dir, out_dir)
    config = SFTConfig(
        **common_arguments(recipe, work_dir, seed=seed, first_stage=first_stage, tracking=tracking),
        max_length=min(recipe.max_length, model.config.max_position_embeddings),
        # An example longer than max_length loses the start of its prompt, not the end of its answer:
        # the loss is on the completion (whose last line is the answer), and evaluation cuts long
        # contexts from the left too. TRL's default (keep_start) would drop every example whose
        # prompt alone fills the context. (TRL marks keep_end deprecated for v2; it is pinned at 1.x.)
        truncation_mode="keep_end",
        packing=False,
        completion_only_loss=True,
        include_num_input_tokens_seen="non_padding",
        dataset_num_proc=None,
    )
    dataset = Dataset.from_dict({  # strings (plain text) or chat message lists (the chat template)
        "prompt": [_field(example["prompt"]) for example in examples],
        "completion": [_field(example["completion"]) for example in examples],
    })
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[loss_monitor(progress), *callbacks],
    )
    seconds, _ = train_and_save(trainer, tokenizer, recipe, work_dir, temporary, out_dir, finalize=finalize)
    return stage_result(trainer, out_dir, seconds)


def _field(value):
    return value if isinstance(value, str) else list(value)
