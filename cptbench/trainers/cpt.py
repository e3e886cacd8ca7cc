"""Continued pre-training: TRL's SFTTrainer on raw text, packed without dropping a token."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cptbench.errors import NumericsError
from cptbench.schemas import CPTRecipe

StepProgress = Callable[[int, int], None]
"""Called as ``progress(step, max_steps)`` after every optimizer step."""


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    steps: int
    tokens: int  # non-padding tokens the model was trained on
    seconds: float
    final_loss: float
    losses: tuple[float, ...]


def train_cpt(
    model_path: Path,
    texts: Sequence[str],
    recipe: CPTRecipe,
    out_dir: Path,
    *,
    seed: int,
    work_dir: Path | None = None,
    progress: StepProgress | None = None,
) -> TrainResult:
    """Train on ``texts`` (EOS appended to each, packed to ``max_length``) and save to ``out_dir``.

    "wrapped" packing concatenates every document and cuts it into ``max_length`` chunks, keeping
    the remainder: every token of the corpus is trained on exactly once per epoch (``bfd``, TRL's
    default, would truncate documents longer than ``max_length``).

    With ``recipe.save_steps``, the trainer checkpoints into ``work_dir`` every that many steps and
    a later call with the same ``work_dir`` resumes from the newest one (optimizer, scheduler and
    RNG states included). ``work_dir`` is removed once the stage is saved to ``out_dir``.
    """
    from datasets import Dataset
    from transformers import PrinterCallback
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    from cptbench.models import default_device, load_model, save_atomically

    model, tokenizer = load_model(model_path, device=default_device())
    max_length = min(recipe.max_length, model.config.max_position_embeddings)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = work_dir is None  # a caller's work_dir is kept on failure, for resuming
    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="trainer-", dir=out_dir.parent))
    work_dir.mkdir(parents=True, exist_ok=True)
    config = SFTConfig(
        output_dir=str(work_dir),
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler_type,
        warmup_steps=recipe.warmup_ratio,
        per_device_train_batch_size=recipe.per_device_train_batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        num_train_epochs=recipe.num_train_epochs,
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        max_length=max_length,
        packing=True,
        packing_strategy="wrapped",
        dataset_text_field="text",
        seed=seed,
        data_seed=seed,
        **_device_arguments(),
        activation_checkpointing=False,
        include_num_input_tokens_seen="non_padding",
        logging_steps=1,
        logging_nan_inf_filter=False,  # a NaN loss must surface, not be averaged away
        save_strategy="steps" if recipe.save_steps else "no",
        save_steps=recipe.save_steps or 500,
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
        dataset_num_proc=None,
    )
    monitor = _Monitor(progress)
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_dict({"text": list(texts)}),
        processing_class=tokenizer,
        callbacks=[monitor.callback()],
    )
    trainer.remove_callback(PrinterCallback)  # progress goes to our callback, not stdout
    started = time.perf_counter()
    resume = get_last_checkpoint(str(work_dir)) if recipe.save_steps else None
    try:
        trainer.train(resume_from_checkpoint=resume)
    except BaseException:
        if temporary:
            shutil.rmtree(work_dir, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    save_atomically(trainer.model, tokenizer, out_dir)
    shutil.rmtree(work_dir, ignore_errors=True)
    # the trainer's log history survives a resume (it is in its checkpoint); ours would not
    losses = tuple(float(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry)
    return TrainResult(
        checkpoint=out_dir,
        steps=trainer.state.global_step,
        tokens=int(trainer.state.num_input_tokens_seen),
        seconds=seconds,
        final_loss=losses[-1],
        losses=losses,
    )


def _device_arguments() -> dict[str, bool]:
    """TRL defaults to bf16 and refuses to start without a GPU: fp32 on CPU, bf16 on CUDA."""
    from cptbench.models import default_device

    on_gpu = default_device() == "cuda"
    return {"use_cpu": not on_gpu, "bf16": on_gpu}


class _Monitor:
    """Stops on a NaN/inf loss and reports step progress."""

    def __init__(self, progress: StepProgress | None) -> None:
        self.progress = progress

    def callback(self):
        from transformers import TrainerCallback

        monitor = self

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if monitor.progress:
                    monitor.progress(state.global_step, state.max_steps)

            def on_log(self, args, state, control, logs=None, **kwargs):
                loss = (logs or {}).get("loss")
                if loss is None:
                    return
                if not math.isfinite(loss):
                    raise NumericsError(f"training loss is {loss} at step {state.global_step}; stage stopped")

        return Callback()
