"""One stage's training: build its data (under the budget, seeded) and call its kind's trainer."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.records import StageTraining
from cptbench.core.spec import Budget
from cptbench.data.corpus import Corpus, Examples, Texts, user_turn
from cptbench.run.plan import PlannedStage
from cptbench.train.common import StepProgress


@dataclass(frozen=True)
class StageJob:
    """Everything one stage's training needs besides the data."""

    planned: PlannedStage
    recipe: object  # CPTRecipe | SFTRecipe | GRPORecipe, matching the stage kind
    budget: Budget
    seed: int
    start: Path
    checkpoint: Path
    work_dir: Path
    tokenizer: object  # the model's: measures documents in tokens
    replay_fraction: float = 0.0
    replay_budget_neutral: bool = True


def train_stage(job: StageJob, data: dict[str, Texts | Examples], progress: StepProgress) -> tuple[StageTraining, dict[str, list[float]]]:
    """Train ``job``'s stage from ``job.start`` into ``job.checkpoint``; ``data`` maps every suite
    stage name to its training data (texts for cpt, examples for sft / grpo). Returns the summary
    and the per-step logs (losses, learning rates, and GRPO's reward components)."""
    stage = job.planned.stage
    first = stage.index == 1 or job.planned.from_base  # a stage from the base model warms up even without re-warming
    common = dict(seed=job.seed, work_dir=job.work_dir, progress=progress, first_stage=first)
    if stage.kind == "cpt":
        from cptbench.train.cpt import train_cpt

        corpus, sources = cpt_corpus(job, data)
        result = train_cpt(job.start, corpus.texts, job.recipe, job.checkpoint, **common)
        size, corpus_tokens, order_hash = len(corpus.texts), corpus.tokens, corpus.order_hash
    else:
        examples = _chosen_examples(data[job.planned.sources[0].name], examples_cap(stage.kind, job.budget), job.seed)
        result = _train_examples(stage.kind, job, examples, common)
        size, corpus_tokens = len(examples), result.tokens
        order_hash = hashlib.sha256("\x1e".join(e.id for e in examples).encode()).hexdigest()
        sources = {job.planned.sources[0].name: {"documents": size, "tokens": result.tokens}}
    rewards = {name: mean for name, v in (result.rewards or {}).items() if v and math.isfinite(mean := sum(v) / len(v))}
    summary = StageTraining(
        stage=stage.name, documents=size, corpus_tokens=corpus_tokens, tokens=result.tokens,
        steps=result.steps, seconds=result.seconds, final_loss=result.final_loss, data_order_hash=order_hash,
        kind=stage.kind, sources=sources, rewards=rewards,
    )
    per_step = {"losses": list(result.losses), "learning_rates": list(result.learning_rates)}
    if result.rewards:
        # a step where every completion's reward was None logs NaN: null in JSON
        per_step["reward_steps"] = {name: [v if math.isfinite(v) else None for v in values]
                                    for name, values in result.rewards.items()}
    return summary, per_step


def examples_cap(kind: str, budget: Budget) -> int | None:
    """How many examples an sft / grpo stage takes (None: all)."""
    return budget.train_examples if kind == "sft" else budget.rl_prompts


def cpt_corpus(job: StageJob, data: dict[str, Texts | Examples]) -> tuple[Corpus, dict[str, dict[str, int]]]:
    """The documents of a cpt stage: its own under the budget (the same ones whatever the method),
    every source's for joint, plus replayed documents of earlier stages when the method replays."""
    from cptbench.train.replay import mix_replay

    planned = job.planned
    cap = job.budget.train_tokens
    docs = {s.name: _docs(data[s.name], job) for s in (*planned.sources, *planned.replay)}
    if len(planned.sources) > 1:  # joint: each source under its own cap, as the sequence would see it
        parts = {s.name: mix_replay(docs[s.name], {}, fraction=0.0, cap=cap, budget_neutral=True, seed=job.seed,
                                    source_name=s.name) for s in planned.sources}
        mixed = [(name, text) for name, part in parts.items() for text in part.texts]
        random.Random(job.seed).shuffle(mixed)
        texts = tuple(text for _, text in mixed)
        digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()
        sources = {name: dict(part.sources[name]) for name, part in parts.items()}
        return Corpus(texts, sum(part.tokens for part in parts.values()), digest), sources
    own = planned.sources[0].name
    earlier = {s.name: docs[s.name] for s in planned.replay}
    mixed = mix_replay(docs[own], earlier, fraction=job.replay_fraction if earlier else 0.0, cap=cap,
                       budget_neutral=job.replay_budget_neutral, seed=job.seed, source_name=own)
    return Corpus(mixed.texts, mixed.tokens, mixed.order_hash), {k: dict(v) for k, v in mixed.sources.items()}


def _docs(texts: Texts, job: StageJob) -> tuple:
    """The source's documents in file order with their token counts (+1 for the EOS the trainer appends)."""
    from cptbench.train.replay import documents

    counts = [len(ids) for ids in job.tokenizer(list(texts.texts), add_special_tokens=False)["input_ids"]]
    return documents(texts.texts, counts)


def _chosen_examples(examples: Examples, limit: int | None, seed: int) -> tuple:
    order = list(examples.items)
    random.Random(seed).shuffle(order)
    return tuple(order if limit is None else order[:limit])


def _train_examples(kind: str, job: StageJob, examples: tuple, common: dict):
    """Examples have the ``cptbench.data.corpus.Question`` fields, whatever their source."""
    if kind == "sft":
        from cptbench.train.sft import train_sft

        rows = [{"prompt": user_turn(e), "completion": [{"role": "assistant", "content": e.completion}]} for e in examples]
        return train_sft(job.start, rows, job.recipe, job.checkpoint, **common)
    from cptbench.train.grpo import train_grpo

    rows = [{"prompt": user_turn(e), "reference": e.reference, "decision": e.label or ""} for e in examples]
    return train_grpo(job.start, rows, job.recipe, job.checkpoint, **common)
