"""Typed recipes of the reference trainers (``trainers/<name>.yaml``): one schema per trainer kind."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from cptbench.core.constants import DEFAULT_ENCODER
from cptbench.core.io import Strict


class _Finite(Strict):
    """Every number finite: ``.inf`` passes ``gt=0`` and NaN passes an unbounded float, and either
    would only fail later, when the run's config.json is written (JSON has neither)."""

    model_config = ConfigDict(allow_inf_nan=False)


class LoraSpec(_Finite):
    """peft LoRA adapters, trained during a stage and merged into the weights at its end (so the
    next stage and the evaluation see a plain model of the original architecture)."""

    r: PositiveInt = 16
    alpha: PositiveFloat = 32.0
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1,
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
    per_device_train_batch_size: PositiveInt = 1
    gradient_accumulation_steps: PositiveInt = 1
    max_length: PositiveInt = 512
    num_train_epochs: PositiveFloat = 1.0
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: PositiveFloat = 1.0
    save_steps: PositiveInt | None = None  # trainer checkpoints inside a stage, for resuming a killed run
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
    max_length: PositiveInt = 1024


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
    num_generations: int = Field(4, ge=2)
    prompts_per_step: PositiveInt = 1  # generation batch = prompts_per_step x num_generations
    max_completion_length: PositiveInt = 96
    temperature: PositiveFloat = 1.0
    beta: float = Field(0.0, ge=0)  # KL coefficient (TRL's default 0: no reference model)
    rewards: dict[RewardName, float] = Field(default_factory=lambda: {"semantic": 1.0, "correctness": 1.0}, min_length=1)
    encoder: str = DEFAULT_ENCODER  # semantic reward: alias, local folder, or hub id
    use_vllm: bool = False  # passed through to TRL for GPU users


Recipe = CPTRecipe | SFTRecipe | GRPORecipe
RECIPE_KINDS: dict[str, type[_Recipe]] = {"cpt": CPTRecipe, "sft": SFTRecipe, "grpo": GRPORecipe}
