"""A run's plan: which stages train on which data, from which starting point, in which order.

Methods (``--method``):
- ``naive``: the suite's stages one after another, each from the previous stage's checkpoint
  (optionally with replay of earlier stages' data: ``--replay``).
- ``joint``: one stage on every stage's training data at once (the same documents the naive run
  sees, shuffled together): the reference point without a sequence, an upper bound for
  intransigence. Its matrix has two rows (base, joint); every stage-aligned task belongs to it.
- ``dapt``: each stage trained from the base model (Yıldız et al. 2024's comparison): row t is
  the base model adapted to stage t's domain alone.

Orders (``--order``) permute the stages before the method applies; task alignment follows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cptbench.core.errors import ConfigError
from cptbench.core.records import MethodRef
from cptbench.core.spec import Stage, Suite

METHODS = ("naive", "joint", "dapt")
JOINT = "joint"


@dataclass(frozen=True)
class PlannedStage:
    stage: Stage  # name, kind, recipe and 1-based index in the run
    sources: tuple[Stage, ...]  # whose training data it trains on (joint: all of them)
    from_base: bool  # dapt: start from the base model, not the previous checkpoint
    replay: tuple[Stage, ...]  # earlier stages whose data is replayed into this one


@dataclass(frozen=True)
class Plan:
    method: MethodRef
    suite: Suite  # stages and task alignment as run (reordered, or the single joint stage)
    stages: tuple[PlannedStage, ...]


def check_method(method: str, replay: float, replay_extra: bool = False) -> None:
    if method not in METHODS:
        raise ConfigError(f"--method {method}: not one of {', '.join(METHODS)}")
    if not 0 <= replay < 1:
        raise ConfigError(f"--replay {replay}: a fraction in [0, 1)")
    if replay and method != "naive":
        raise ConfigError(f"--replay {replay}: replay applies to --method naive only (got {method})")
    if replay_extra and not replay:
        raise ConfigError("--replay-extra: applies with --replay only (a fraction above 0)")


def reorder(suite: Suite, order: tuple[str, ...]) -> Suite:
    """The suite with its stages in ``order`` (re-indexed) and tasks re-aligned to them."""
    if sorted(order) != sorted(s.name for s in suite.stages):
        raise ConfigError(f"order {list(order)} is not a permutation of the stages of {suite.name}")
    by_name = {s.name: s for s in suite.stages}
    stages = tuple(dataclasses.replace(by_name[name], index=i) for i, name in enumerate(order, start=1))
    new_index = {old.index: new.index for new in stages for old in suite.stages if old.name == new.name}
    tasks = tuple(dataclasses.replace(t, stage=None if t.stage is None else new_index[t.stage]) for t in suite.tasks)
    return dataclasses.replace(suite, stages=stages, tasks=tasks)


def make_plan(suite: Suite, method: MethodRef) -> Plan:
    """The plan for ``suite`` under ``method`` (whose ``order`` names the stages in run order)."""
    check_method(method.name, method.replay_fraction)
    ordered = reorder(suite, tuple(method.order))
    stages = ordered.stages
    if method.name == JOINT:
        kinds = {s.kind for s in stages}
        if kinds != {"cpt"}:
            raise ConfigError(f"--method joint: needs cpt stages only, suite {suite.name} has {sorted(kinds)}")
        joint = dataclasses.replace(stages[0], index=1, name=JOINT)
        tasks = tuple(dataclasses.replace(t, stage=None if t.stage is None else 1) for t in ordered.tasks)
        planned = (PlannedStage(joint, stages, False, ()),)
        return Plan(method, dataclasses.replace(ordered, stages=(joint,), tasks=tasks), planned)
    planned = []
    for stage in stages:
        earlier = tuple(s for s in stages[: stage.index - 1] if s.kind == "cpt") if stage.kind == "cpt" else ()
        replay = earlier if method.replay_fraction > 0 else ()
        planned.append(PlannedStage(stage, (stage,), method.name == "dapt", replay))
    return Plan(method, ordered, tuple(planned))


def method_label(method: MethodRef | None, recipes: dict[str, dict] | None = None) -> str:
    """A short description for reports and leaderboard rows, e.g.
    ``naive + replay 25% (budget-neutral), lr warmup_stable_decay``: the method, its parameters,
    the order when not the suite's, the cpt recipes' schedule / LoRA when not the default, and the
    GRPO reward."""
    label = method.name if method else "naive"
    if method and method.replay_fraction:
        neutral = "budget-neutral" if method.replay_budget_neutral else "added tokens"
        label += f" + replay {method.replay_fraction:.0%} ({neutral})"
    if method and method.order_spec != "given":
        label += f", order {method.order_spec}"
    for recipe in (recipes or {}).values():
        if recipe.get("kind") == "grpo":  # the reward is what GRPO runs of one suite differ in
            label += f", GRPO reward {'+'.join(recipe.get('rewards', {}))}"
        if recipe.get("kind", "cpt") != "cpt":
            continue
        if recipe.get("lr_scheduler_type", "cosine") != "cosine":
            label += f", lr {recipe['lr_scheduler_type']}"
        if recipe.get("rewarm") is False:
            label += ", no re-warm"
        if recipe.get("lora"):
            label += f", LoRA r{recipe['lora']['r']}"
    return label
