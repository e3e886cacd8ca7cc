"""A run's plan: which stages train on which data, from which starting point, in which order.

The method (``--method NAME[:key=value,...]``, cptbench/methods/) decides the stages' data and
starting points through its hooks; the order (``--order``) permutes the stages before the method
applies, and task alignment follows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cptbench.core.errors import ConfigError
from cptbench.core.records import MethodRef
from cptbench.core.spec import Stage, Suite
from cptbench.methods.base import Method, StageMix
from cptbench.methods.registry import method_class, method_of


@dataclass(frozen=True)
class PlannedStage:
    stage: Stage  # name, kind, recipe and 1-based index in the run
    sources: tuple[Stage, ...]  # whose training data it trains on (joint: all of them)
    from_base: bool  # dapt: start from the base model, not the previous checkpoint
    replay: tuple[Stage, ...] = ()  # earlier stages whose data is replayed into this one
    replay_fraction: float = 0.0
    replay_budget_neutral: bool = True


@dataclass(frozen=True)
class Plan:
    method: MethodRef
    suite: Suite  # stages and task alignment as run (reordered, or the single joint stage)
    stages: tuple[PlannedStage, ...]
    plugin: Method  # the method's plug-in, its parameters validated


def planned_mix(planned: PlannedStage) -> StageMix:
    """The method's data mix of ``planned`` (what its hooks decided)."""
    return StageMix(planned.sources, planned.replay, planned.replay_fraction, planned.replay_budget_neutral)


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
    plugin = method_of(method)
    ordered = reorder(suite, tuple(method.order))
    kinds = sorted({s.kind for s in ordered.stages} - set(plugin.stage_kinds))
    if kinds:
        raise ConfigError(f"--method {method.name}: needs {'/'.join(plugin.stage_kinds)} stages only, suite "
                          f"{suite.name} has {'/'.join(kinds)} stages")
    shaped = plugin.shape(ordered)
    planned = []
    for stage in shaped.stages:
        mix = plugin.data(stage, ordered.stages)
        planned.append(PlannedStage(stage, mix.sources, plugin.start(stage), mix.replay, mix.replay_fraction,
                                    mix.replay_budget_neutral))
    return Plan(method, shaped, tuple(planned), plugin)


def method_label(method: MethodRef | None, recipes: dict[str, dict] | None = None) -> str:
    """A short description for reports and leaderboard rows, e.g.
    ``naive + replay 25% (budget-neutral), lr warmup_stable_decay``: the method with its parameters
    (its own ``label``), the order when not the suite's, the cpt recipes' schedule / LoRA when not
    the default, and the GRPO reward."""
    label = _method_label(method) if method else "naive"
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


def _method_label(method: MethodRef) -> str:
    """The method's own label; a method that is not installed here is named with its parameters."""
    try:
        method_class(method.name)
        return method_of(method).label()
    except ConfigError:
        params = ", ".join(f"{k}={v}" for k, v in method.params.items())
        return f"{method.name} ({params})" if params else method.name
