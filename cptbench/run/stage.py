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
from cptbench.run.nodes import Nodes
from cptbench.run.plan import PlannedStage
from cptbench.train.common import StepProgress


@dataclass(frozen=True)
class StageData:
    """What decides a stage's training data; ``run`` and ``export`` build it from this alone."""

    planned: PlannedStage
    budget: Budget
    seed: int
    tokenizer: object  # the model's: measures documents in tokens
    replay_fraction: float = 0.0
    replay_budget_neutral: bool = True


@dataclass(frozen=True)
class StageJob:
    """One stage's training: its data, recipe and where it starts and ends."""

    data: StageData
    recipe: object  # CPTRecipe | SFTRecipe | GRPORecipe, matching the stage kind
    start: Path
    checkpoint: Path
    work_dir: Path
    processes: int = 1  # > 1: trained by that many processes (cptbench/run/launch.py)
    accelerate_config: Path | None = None  # an Accelerate config file for the launch (GPU: DDP, FSDP, DeepSpeed)
    nodes: Nodes | None = None  # several: this node's place among those training each stage (cptbench/run/nodes.py)


@dataclass(frozen=True)
class StageRows:
    """A stage's training data exactly as its trainer receives it, in training order: ``{"text"}``
    (cpt), ``{"prompt", "completion"}`` (sft, chat messages) or ``{"prompt", "reference",
    "decision"}`` (grpo)."""

    kind: str
    rows: tuple[dict, ...]
    corpus_tokens: int | None  # cpt: document tokens + one EOS each; sft / grpo: counted by the trainer
    order_hash: str  # the record's data_order_hash
    sources: dict[str, dict[str, int]]  # cpt: documents and tokens per source (own, replayed)


def stage_rows(spec: StageData, data: dict[str, Texts | Examples]) -> StageRows:
    """The rows of ``spec``'s stage; ``data`` maps every suite stage name to its training data
    (texts for cpt, examples for sft / grpo)."""
    kind = spec.planned.stage.kind
    if kind == "cpt":
        corpus, sources = cpt_corpus(spec, data)
        return StageRows(kind, tuple({"text": t} for t in corpus.texts), corpus.tokens, corpus.order_hash, sources)
    examples = _chosen_examples(data[spec.planned.sources[0].name], examples_cap(kind, spec.budget), spec.seed)
    order_hash = hashlib.sha256("\x1e".join(e.id for e in examples).encode()).hexdigest()
    if kind == "sft":  # examples have the ``cptbench.data.corpus.Question`` fields, whatever their source
        rows = [{"prompt": user_turn(e), "completion": [{"role": "assistant", "content": e.completion}]} for e in examples]
    else:
        rows = [{"prompt": user_turn(e), "reference": e.reference, "decision": e.label or ""} for e in examples]
    return StageRows(kind, tuple(rows), None, order_hash, {})


def train_stage(job: StageJob, data: dict[str, Texts | Examples], progress: StepProgress,
                callbacks: tuple = ()) -> tuple[StageTraining, dict[str, list[float]]]:
    """Train ``job``'s stage from ``job.start`` into ``job.checkpoint`` on ``stage_rows``. Returns
    the summary and the per-step logs (losses, learning rates, and GRPO's reward components).
    ``callbacks`` (TrainerCallbacks) join the trainer's own (curves inside the stage)."""
    planned = job.data.planned
    stage = planned.stage
    first = stage.index == 1 or planned.from_base  # a stage from the base model warms up even without re-warming
    common = dict(seed=job.data.seed, work_dir=job.work_dir, progress=progress, first_stage=first, callbacks=callbacks)
    built = stage_rows(job.data, data)
    if job.processes > 1 or job.accelerate_config is not None or job.nodes is not None:  # launched (cptbench/run/launch.py)
        from cptbench.run.launch import train_in_processes

        result = train_in_processes(job, built, common)
    else:
        result = train_rows(built.kind, built.rows, job.recipe, job.start, job.checkpoint, **common)
    corpus_tokens = built.corpus_tokens if built.corpus_tokens is not None else result.tokens
    sources = built.sources or {planned.sources[0].name: {"documents": len(built.rows), "tokens": result.tokens}}
    rewards = {name: mean for name, v in (result.rewards or {}).items() if v and math.isfinite(mean := sum(v) / len(v))}
    summary = StageTraining(
        stage=stage.name, documents=len(built.rows), corpus_tokens=corpus_tokens, tokens=result.tokens,
        steps=result.steps, seconds=result.seconds, final_loss=result.final_loss, data_order_hash=built.order_hash,
        kind=stage.kind, sources=sources, rewards=rewards,
    )
    per_step = {"losses": list(result.losses), "learning_rates": list(result.learning_rates)}
    if result.rewards:
        # a step where every completion's reward was None logs NaN: null in JSON
        per_step["reward_steps"] = {name: [v if math.isfinite(v) else None for v in values]
                                    for name, values in result.rewards.items()}
    return summary, per_step


def train_rows(kind: str, rows, recipe, start: Path, checkpoint: Path, **common):
    """``rows`` (``StageRows.rows``) trained by ``kind``'s reference trainer from ``start`` into ``checkpoint``."""
    if kind == "cpt":
        from cptbench.train.cpt import train_cpt

        return train_cpt(start, tuple(row["text"] for row in rows), recipe, checkpoint, **common)
    if kind == "sft":
        from cptbench.train.sft import train_sft

        return train_sft(start, list(rows), recipe, checkpoint, **common)
    from cptbench.train.grpo import train_grpo

    return train_grpo(start, list(rows), recipe, checkpoint, **common)


def examples_cap(kind: str, budget: Budget) -> int | None:
    """How many examples an sft / grpo stage takes (None: all)."""
    return budget.train_examples if kind == "sft" else budget.rl_prompts


def cpt_corpus(job: StageData, data: dict[str, Texts | Examples]) -> tuple[Corpus, dict[str, dict[str, int]]]:
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


def _docs(texts: Texts, job: StageData) -> tuple:
    """The source's documents in file order with their token counts (+1 for the EOS the trainer appends)."""
    from cptbench.train.replay import documents

    counts = [len(ids) for ids in job.tokenizer(list(texts.texts), add_special_tokens=False)["input_ids"]]
    return documents(texts.texts, counts)


def _chosen_examples(examples: Examples, limit: int | None, seed: int) -> tuple:
    order = list(examples.items)
    random.Random(seed).shuffle(order)
    return tuple(order if limit is None else order[:limit])
