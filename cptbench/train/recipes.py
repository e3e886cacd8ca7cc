"""Typed recipes of the reference trainers (``trainers/<name>.yaml``): one schema per trainer kind."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from cptbench.core.constants import DEFAULT_ENCODER
from cptbench.core.io import Strict

# Sizes a recipe may ask for. Below MIN_LENGTH a packed window holds almost no context and, at 1,
# no label at all (loss 0.0 on hundreds of steps); above the upper bounds a value is a typo (batch
# 1e29), which would fail only deep inside torch, after the base row was evaluated.
MIN_LENGTH = 16
MAX_LENGTH = 2**20
MAX_BATCH = 2**14
MAX_STEPS = 2**31 - 1
MAX_EPOCHS = 10_000


class _Finite(Strict):
    """Every number finite: ``.inf`` passes ``gt=0`` and NaN passes an unbounded float, and either
    would only fail later, when the run's config.json is written (JSON has neither)."""

    model_config = ConfigDict(allow_inf_nan=False)


class LoraSpec(_Finite):
    """peft LoRA adapters, trained during a stage and merged into the weights at its end (so the
    next stage and the evaluation see a plain model of the original architecture)."""

    r: PositiveInt = Field(16, le=MAX_BATCH)
    alpha: PositiveFloat = Field(32.0, le=1e6)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1, max_length=1024,
    )


class _Recipe(_Finite):
    """Optimizer and schedule settings shared by every trainer kind.

    Schedules (per stage): ``cosine`` re-warms and re-decays in every stage; ``constant_with_warmup``
    stays flat after the warm-up; ``warmup_stable_decay`` warms up, stays flat, and decays over the
    last ``decay_ratio`` of the stage's steps. ``rewarm: false`` warms up in the first stage only.
    """

    learning_rate: PositiveFloat = 1e-4
    lr_scheduler_type: Literal[
        "cosine", "linear", "constant", "constant_with_warmup", "warmup_stable_decay"
    ] = "cosine"
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    decay_ratio: float = Field(0.1, gt=0, le=1)  # warmup_stable_decay only
    rewarm: bool = True
    per_device_train_batch_size: PositiveInt = Field(1, le=MAX_BATCH)
    gradient_accumulation_steps: PositiveInt = Field(1, le=MAX_BATCH)
    max_length: int = Field(512, ge=MIN_LENGTH, le=MAX_LENGTH)
    num_train_epochs: PositiveFloat = Field(1.0, le=MAX_EPOCHS)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: PositiveFloat = 1.0
    save_steps: PositiveInt | None = Field(None, le=MAX_STEPS)  # trainer checkpoints inside a stage, for resuming a killed run
    lora: LoraSpec | None = None

    @model_validator(mode="after")
    def _schedule_fits(self):
        if self.lr_scheduler_type == "warmup_stable_decay" and self.warmup_ratio + self.decay_ratio > 1:
            raise ValueError("decay_ratio: warmup_ratio + decay_ratio must be at most 1")
        return self


class CPTRecipe(_Recipe):
    """Continued pre-training on raw text (TRL SFTTrainer, packed, every token kept)."""

    kind: Literal["cpt"] = "cpt"


class SFTRecipe(_Recipe):
    """Supervised fine-tuning on prompt/completion pairs (TRL SFTTrainer, loss on the completion only,
    the model's chat template)."""

    kind: Literal["sft"] = "sft"
    learning_rate: PositiveFloat = 5e-5
    max_length: int = Field(1024, ge=MIN_LENGTH, le=MAX_LENGTH)


RewardName = Literal["semantic", "rouge", "correctness"]


class GRPORecipe(_Recipe):
    """Group-relative policy optimization (TRL GRPOTrainer) with weighted reward functions
    (cptbench/train/rewards.py)."""

    kind: Literal["grpo"] = "grpo"
    learning_rate: PositiveFloat = 1e-6
    lr_scheduler_type: Literal[
        "cosine", "linear", "constant", "constant_with_warmup", "warmup_stable_decay"
    ] = "constant"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    num_generations: int = Field(4, ge=2, le=MAX_BATCH)
    prompts_per_step: PositiveInt = Field(1, le=MAX_BATCH)  # generation batch = prompts_per_step x num_generations
    max_completion_length: PositiveInt = Field(96, le=MAX_LENGTH)
    temperature: PositiveFloat = 1.0
    beta: float = Field(0.0, ge=0)  # KL coefficient (TRL's default 0: no reference model)
    rewards: dict[RewardName, float] = Field(default_factory=lambda: {"semantic": 1.0, "correctness": 1.0}, min_length=1)
    encoder: str = DEFAULT_ENCODER  # semantic reward: alias, local folder, or hub id
    use_vllm: bool = False  # passed through to TRL for GPU users


Recipe = CPTRecipe | SFTRecipe | GRPORecipe
