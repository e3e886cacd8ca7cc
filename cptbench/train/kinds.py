"""Stage kinds by name: what a stage of each kind trains on, its recipe schema and its reference
trainer. A new kind (DPO, say) is one trainer module plus one row of ``STAGE_KINDS``.

Rows by kind (``StageRows.rows``, ``cptbench train`` JSONL): ``{"text"}`` (cpt), ``{"prompt",
"completion"}`` (sft: strings or chat messages), ``{"prompt", "reference", "decision"}`` (grpo).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import ConfigError
from cptbench.core.spec import Budget
from cptbench.data.corpus import user_turn
from cptbench.train.recipes import CPTRecipe, GRPORecipe, SFTRecipe, _Recipe


@dataclass(frozen=True)
class StageKind:
    name: str
    recipe: type[_Recipe]
    trainer: str  # "module:function", called as function(start, rows, recipe, checkpoint, **common)
    fields: tuple[str, ...]  # each row's required fields
    examples_budget: str | None  # the budget field capping its examples (None: a token corpus, cpt)
    reads: str  # the data view it trains on (cptbench/data/sources.py): texts or examples
    source_fields: tuple[str, ...]  # what a `source: hf` stage must map (its templates)
    example_rows: Callable[[object], dict] | None = None  # an example (``corpus.Question`` fields) -> its row

    def examples_cap(self, budget: Budget) -> int | None:
        """How many examples a stage of this kind takes (None: all, or a token corpus)."""
        return getattr(budget, self.examples_budget) if self.examples_budget else None

    def train(self, rows, recipe, start: Path, checkpoint: Path, **common):
        """The trainer on ``rows``; with ``tracking`` in ``common``, inside its tracker's environment."""
        from cptbench.train.trackers import stage_environment

        module, _, function = self.trainer.partition(":")
        with stage_environment(common.get("tracking")):
            return getattr(importlib.import_module(module), function)(start, rows, recipe, checkpoint, **common)


def _sft_row(example) -> dict:
    return {"prompt": user_turn(example), "completion": [{"role": "assistant", "content": example.completion}]}


def _grpo_row(example) -> dict:
    return {"prompt": user_turn(example), "reference": example.reference, "decision": example.label or ""}


STAGE_KINDS = {
    "cpt": StageKind("cpt", CPTRecipe, "cptbench.train.cpt:train_cpt_rows", ("text",), None, "texts", ("text",)),
    "sft": StageKind("sft", SFTRecipe, "cptbench.train.sft:train_sft", ("prompt", "completion"), "train_examples",
                     "examples", ("prompt", "completion"), _sft_row),
    "grpo": StageKind("grpo", GRPORecipe, "cptbench.train.grpo:train_grpo", ("prompt", "reference", "decision"),
                      "rl_prompts", "examples", ("prompt", "reference"), _grpo_row),
}


def stage_kind(name: str, flag: str = "kind") -> StageKind:
    if name not in STAGE_KINDS:
        raise ConfigError(f"{flag} {name}: not one of {', '.join(STAGE_KINDS)}")
    return STAGE_KINDS[name]


def train_rows(kind: str, rows, recipe, start: Path, checkpoint: Path, **common):
    """``rows`` trained by ``kind``'s reference trainer from ``start`` into ``checkpoint``."""
    return stage_kind(kind).train(list(rows), recipe, start, checkpoint, **common)
