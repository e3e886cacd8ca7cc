"""The contract of a method plug-in: its parameters, label and hooks, and what the hooks are given.

A hook returns a value (stages, a data mix, a loss term, nothing) and never reaches into the
trainer: the runner and the trainers apply what it returns. Hooks a method does not override keep
naive sequential training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from cptbench.core.errors import ConfigError
from cptbench.core.spec import Stage, Suite

HOOKS = ("shape", "data", "start", "loss", "after_stage", "check", "check_stage", "validate")


class MethodParams(BaseModel):
    """A method's parameters: typed, ranged, defaulted; unknown keys and non-finite numbers refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=False)


@dataclass(frozen=True)
class StageMix:
    """What one planned stage trains on: its own sources (joint: every stage's), plus documents of
    earlier stages mixed in at ``replay_fraction`` of its tokens (budget-neutral: taken from the
    budget; otherwise added on top)."""

    sources: tuple[Stage, ...]
    replay: tuple[Stage, ...] = ()
    replay_fraction: float = 0.0
    replay_budget_neutral: bool = True


@dataclass(frozen=True)
class RunSetting:
    """Where a method is asked to run, for its ``check``: refusals happen before any work."""

    suite: Suite  # as planned (reordered, reshaped)
    recipes: dict[str, object]  # recipe name -> typed recipe (cptbench/train/recipes.py)
    launched: bool  # stages trained by launched processes (--processes > 1, or an Accelerate config)
    external: bool  # export / evaluate-sequence: trained outside cptbench


@dataclass(frozen=True)
class StageContext:
    """What the loss and after-stage hooks see of one stage: where it started and ended, the
    method's state folder (in the run directory, so a resumed run finds it), and its training
    rows (cpt: ``{"text"}`` in training order)."""

    stage: Stage
    start: Path  # the checkpoint the stage started from
    checkpoint: Path  # the stage's finished checkpoint (after_stage only)
    state_dir: Path  # the method's own folder in the run directory
    rows: tuple[dict, ...]
    recipe: object
    seed: int


class Method:
    """Subclass, set the class attributes, override the hooks the method needs, and register the
    class (``registry.BUILTIN`` or the ``cptbench.methods`` entry-point group)."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for ``cptbench methods``
    reference: ClassVar[str] = ""  # the paper or report it follows
    Params: ClassVar[type[MethodParams]] = MethodParams
    primary: ClassVar[str | None] = None  # ``NAME:VALUE`` sets this parameter (``replay:0.25``)
    stage_kinds: ClassVar[tuple[str, ...]] = ("cpt", "sft", "grpo")  # stage kinds it can train

    def __init__(self, params: MethodParams) -> None:
        self.params = params

    # --- description --------------------------------------------------------------------------

    def label(self) -> str:
        """A short description for reports and leaderboard rows, e.g. ``ewc (lambda=1000, gamma=1, ...)``."""
        values = param_values(self.params)
        return f"{self.name} ({', '.join(f'{k}={_shown(v)}' for k, v in values.items())})" if values else self.name

    @classmethod
    def hooks(cls) -> tuple[str, ...]:
        """The hooks this method overrides."""
        return tuple(h for h in HOOKS if getattr(cls, h) is not getattr(Method, h))

    # --- hooks (defaults: naive sequential training) --------------------------------------------

    def shape(self, suite: Suite) -> Suite:
        """The stages as trained (joint: one stage); tasks realigned to them."""
        return suite

    def data(self, stage: Stage, ordered: tuple[Stage, ...]) -> StageMix:
        """What ``stage`` trains on; ``ordered`` are the suite's stages in run order before ``shape``."""
        return StageMix((stage,))

    def start(self, stage: Stage) -> bool:
        """True: ``stage`` starts from the base model instead of the previous stage's checkpoint."""
        return False

    def loss(self, context: StageContext):
        """A term added to the training loss of ``context.stage`` (``cptbench.train.loss_terms.LossTerm``),
        or None."""
        return None

    def after_stage(self, context: StageContext) -> None:
        """Runs once the stage's checkpoint is saved, before the stage counts as finished: may rewrite
        the checkpoint's weights and save state under ``context.state_dir``."""

    def check(self, setting: RunSetting) -> None:
        """Raise ``ConfigError`` (one line) where the method cannot run in ``setting`` (stage kinds
        outside ``stage_kinds`` are refused when the plan is made)."""
        if setting.external and ({"loss", "after_stage"} & set(self.hooks())):
            raise ConfigError(f"--method {self.name}: changes how cptbench trains, not what it trains on, so it has no "
                              "meaning for stages trained elsewhere; export the data of naive and describe your method in --trainer")
        lora = sorted(name for name, recipe in setting.recipes.items() if getattr(recipe, "lora", None))
        if lora and "loss" in self.hooks():
            raise ConfigError(f"--method {self.name}: its loss term reads the full model's weights and hidden states; "
                              f"recipe {lora[0]} trains LoRA adapters instead (use a recipe without lora)")
        if setting.launched and "loss" in self.hooks():
            raise ConfigError(f"--method {self.name}: its loss term is applied in the launching process only; "
                              "run it with --processes 1 and no --accelerate-config")

    def check_stage(self, mix: StageMix, sources: dict[str, dict[str, int]], where: str) -> None:
        """Raise ``ConfigError`` when a stage's built data shows the method has no effect (before any
        training: a method that does nothing must not be labelled as done)."""

    def validate(self, mix: StageMix, sources: dict[str, dict[str, int]]) -> str | None:
        """What a leaderboard record of this method must satisfy for one stage, given what it
        declares it trained on (``training[].sources``); a problem as one phrase, or None."""
        return None


def param_values(params: MethodParams) -> dict[str, object]:
    """The parameters by their public names (``lambda``, not the attribute ``lambda_``)."""
    return params.model_dump(mode="json", by_alias=True)


def param_defaults(cls: type[MethodParams]) -> dict[str, object]:
    return {field.alias or key: field.default for key, field in cls.model_fields.items()}


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)
