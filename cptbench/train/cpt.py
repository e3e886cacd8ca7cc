"""Continued pre-training: TRL's SFTTrainer on raw text, packed without dropping a token."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
from cptbench.train.loss_terms import LossTerm, add_loss_term
from cptbench.train.recipes import CPTRecipe


def train_cpt(
    model_path: Path,
    texts: Sequence[str],
    recipe: CPTRecipe,
    out_dir: Path,
    *,
    seed: int,
    work_dir: Path | None = None,
    progress: StepProgress | None = None,
    first_stage: bool = True,
    callbacks: Sequence = (),
    tracking=None,
    loss_term: LossTerm | None = None,
) -> TrainResult:
    """Train on ``texts`` (EOS appended to each, packed to ``max_length``) and save to ``out_dir``.

    "wrapped" packing concatenates every document and cuts it into ``max_length`` chunks, keeping
    the remainder: every token of the corpus is trained on exactly once per epoch (``bfd``, TRL's
    default, would truncate documents longer than ``max_length``).

    With ``recipe.save_steps``, the trainer checkpoints into ``work_dir`` every that many steps and
    a later call with the same ``work_dir`` resumes from the newest one (optimizer, scheduler and
    RNG states included). ``work_dir`` is removed once the stage is saved to ``out_dir``.

    With ``recipe.lora``, only LoRA adapters are trained and they are merged into the weights before
    saving: ``out_dir`` holds a plain model of the original architecture (cptbench/train/lora.py).

    ``loss_term`` (a method's *loss* hook) is added to the trainer's loss (cptbench/train/loss_terms.py).
    ``tracking`` (``--report-to``): transformers' integration logs the training there (cptbench/train/trackers.py;
    sft and grpo take it too).
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from cptbench.models.resolve import default_device, load_model

    model, tokenizer = load_model(model_path, device=default_device())
    model, finalize = with_lora(model, recipe, seed)
    work_dir, temporary = make_work_dir(work_dir, out_dir)
    config = SFTConfig(
        **common_arguments(recipe, work_dir, seed=seed, first_stage=first_stage, tracking=tracking),
        max_length=min(recipe.max_length, model.config.max_position_embeddings),
        packing=True,
        packing_strategy="wrapped",
        dataset_text_field="text",
        include_num_input_tokens_seen="non_padding",
        dataset_num_proc=None,
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_dict({"text": list(texts)}),
        processing_class=tokenizer,
        callbacks=[loss_monitor(progress), *callbacks],
    )
    if loss_term is not None:
        add_loss_term(trainer, loss_term)
    try:
        seconds, _ = train_and_save(trainer, tokenizer, recipe, work_dir, temporary, out_dir, finalize=finalize)
    finally:
        if loss_term is not None:
            loss_term.close()
    return stage_result(trainer, out_dir, seconds)


def train_cpt_rows(model_path: Path, rows: Sequence[dict], recipe: CPTRecipe, out_dir: Path, **common) -> TrainResult:
    """``train_cpt`` on ``{"text"}`` rows (the stage-kind registry's calling convention)."""
    return train_cpt(model_path, [row["text"] for row in rows], recipe, out_dir, **common)
