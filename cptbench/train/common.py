"""What every reference trainer shares: TRL arguments from a recipe, the NaN guard and progress
callback, resuming inside a stage, and the result of a stage."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import NumericsError

StepProgress = Callable[[int, int], None]
"""Called as ``progress(step, max_steps)`` after every optimizer step."""


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    steps: int
    tokens: int  # non-padding tokens the model was trained on (prompt + completion for GRPO)
    seconds: float
    final_loss: float
    losses: tuple[float, ...]
    learning_rates: tuple[float, ...] = ()  # per logged step, from the trainer's log
    rewards: dict[str, tuple[float, ...]] | None = None  # GRPO: per reward component, per step


def device_arguments() -> dict[str, bool]:
    """TRL defaults to bf16 and refuses to start without a GPU: fp32 on CPU, bf16 on CUDA (fp32 with
    ``CPTBENCH_CUDA_DTYPE=float32``)."""
    from cptbench.models.resolve import cuda_dtype, default_device

    on_gpu = default_device() == "cuda"
    return {"use_cpu": not on_gpu, "bf16": on_gpu and cuda_dtype() == "bfloat16"}


def no_activation_checkpointing() -> dict[str, bool]:
    """TRL's configs turn activation checkpointing on; off, under the name the installed transformers
    knows: ``activation_checkpointing`` (5.2x), ``gradient_checkpointing`` before (5.17 has no other)."""
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    return {"activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing": False}


def common_arguments(recipe, work_dir: Path, *, seed: int, first_stage: bool = True, tracking=None) -> dict[str, object]:
    """Keyword arguments every TRL config takes from a recipe (optimizer, schedule, logging, saving).

    ``rewarm: false`` in the recipe warms up in the first stage only. The warm-up-stable-decay
    schedule needs its decay length in steps, which is set once the trainer knows its step count
    (``set_decay_steps``). ``tracking`` (a ``cptbench.train.trackers.Tracking``): where transformers'
    own integration reports the training logs (``--report-to``); none without it.
    """
    from cptbench.train.trackers import trainer_arguments

    warmup = recipe.warmup_ratio if (first_stage or recipe.rewarm) else 0.0
    return dict(
        output_dir=str(work_dir),
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler_type,
        warmup_steps=warmup,  # < 1: a fraction of the stage's steps
        per_device_train_batch_size=recipe.per_device_train_batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        num_train_epochs=recipe.num_train_epochs,
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        seed=seed,
        data_seed=seed,
        **device_arguments(),
        **no_activation_checkpointing(),
        logging_steps=1,
        logging_nan_inf_filter=False,  # a NaN loss must surface, not be averaged away
        save_strategy="steps" if recipe.save_steps else "no",
        save_steps=recipe.save_steps or 500,
        **trainer_arguments(tracking),
        disable_tqdm=True,
        dataloader_pin_memory=False,
        ddp_find_unused_parameters=False,  # several processes: every trained weight is used in each step
    )


def loss_monitor(progress: StepProgress | None):
    """A TrainerCallback that stops on a NaN/inf loss and reports step progress."""
    from transformers import TrainerCallback

    class LossMonitor(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if progress:
                progress(state.global_step, state.max_steps)

        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(loss):
                raise NumericsError(f"training loss is {loss} at step {state.global_step}; stage stopped")

    return LossMonitor()


def make_work_dir(work_dir: Path | None, out_dir: Path) -> tuple[Path, bool]:
    """The trainer's scratch folder and whether it is temporary (a caller's is kept for resuming)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = work_dir is None
    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="trainer-", dir=out_dir.parent))
    work_dir.mkdir(parents=True, exist_ok=True)
    return work_dir, temporary


def train_and_save(trainer, tokenizer, recipe, work_dir: Path, temporary: bool, out_dir: Path, *,
                   finalize: Callable | None = None) -> tuple[float, object]:
    """Run ``trainer`` (resuming from ``work_dir``'s newest checkpoint when the recipe saves them),
    save the final model to ``out_dir`` atomically, remove ``work_dir``; returns (seconds, model).

    ``finalize(model) -> model`` runs before saving (e.g. merging LoRA adapters).
    """
    from transformers import PrinterCallback
    from transformers.trainer_utils import get_last_checkpoint

    from cptbench.models.resolve import save_atomically
    from cptbench.train.distributed import train_exactly

    trainer.remove_callback(PrinterCallback)  # progress goes to our callback, not stdout
    train_exactly(trainer)  # several processes: the rows of one, no row twice
    set_decay_steps(trainer, recipe)
    resume = get_last_checkpoint(str(work_dir)) if recipe.save_steps else None
    started = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=resume)
    except BaseException:
        if temporary:
            shutil.rmtree(work_dir, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    model = finalize(trainer.model) if finalize else trainer.model
    accelerator = trainer.accelerator
    if accelerator.num_processes == 1:
        save_atomically(model, tokenizer, out_dir)
    else:  # the full weights (gathered under FSDP / ZeRO-3), written once
        state = accelerator.get_state_dict(trainer.model_wrapped)
        if accelerator.is_main_process:
            save_atomically(accelerator.unwrap_model(model), tokenizer, out_dir, state_dict=state)
        accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(work_dir, ignore_errors=True)
    return seconds, model


def set_decay_steps(trainer, recipe) -> None:
    """``warmup_stable_decay``: decay over the last ``ceil(decay_ratio x steps)`` optimizer steps.

    The step count is the trainer's own (``Trainer.set_initial_training_values``): batches per
    epoch over gradient accumulation, times epochs, or ``max_steps`` when set. A resumed stage
    computes the same count, so the restored scheduler follows the same curve.
    """
    if recipe.lr_scheduler_type != "warmup_stable_decay":
        return
    steps = optimizer_steps(trainer)
    kwargs = dict(trainer.args.lr_scheduler_kwargs or {})
    kwargs["num_decay_steps"] = max(1, math.ceil(recipe.decay_ratio * steps))
    trainer.args.lr_scheduler_kwargs = kwargs


def optimizer_steps(trainer) -> int:
    """How many optimizer steps ``trainer.train()`` will take (the same rule as the Trainer's)."""
    args = trainer.args
    if args.max_steps > 0:
        return args.max_steps
    batches = len(trainer.get_train_dataloader())
    per_epoch = max(math.ceil(batches / args.gradient_accumulation_steps), 1)
    return math.ceil(args.num_train_epochs * per_epoch)


def logged(trainer, key: str) -> tuple[float, ...]:
    """One value per logged step from the trainer's log history (it survives a resume; ours would not)."""
    return tuple(float(entry[key]) for entry in trainer.state.log_history if key in entry)


def with_lora(model, recipe, seed: int):
    """``(model, finalize)``: the model wrapped in the recipe's LoRA adapters and the hook that merges
    them before saving, or the model unchanged and no hook when the recipe has no ``lora``."""
    if recipe.lora is None:
        return model, None
    from cptbench.train.lora import apply_lora, merge_lora

    return apply_lora(model, recipe.lora, seed=seed), merge_lora


def stage_result(trainer, out_dir: Path, seconds: float, **extra) -> TrainResult:
    """The result of a finished stage, read from the trainer's state and log history."""
    losses = logged(trainer, "loss")
    return TrainResult(
        checkpoint=out_dir,
        steps=trainer.state.global_step,
        tokens=int(trainer.state.num_input_tokens_seen),
        seconds=seconds,
        final_loss=losses[-1],
        losses=losses,
        learning_rates=logged(trainer, "learning_rate"),
        **extra,
    )
