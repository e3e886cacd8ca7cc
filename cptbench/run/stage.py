"""One stage's training: build its data (under the budget, seeded), call its kind's trainer with the
method's loss term, then the method's after-stage hook."""

from __future__ import annotations

import hashlib
import math
import random

from cptbench.core.faults import crash_point
from cptbench.core.records import StageTraining
from cptbench.core.spec import Budget
from cptbench.data.corpus import Corpus, Examples, Texts
from cptbench.methods.base import StageContext
from cptbench.run.jobs import StageData, StageJob, StageRows
from cptbench.train.common import StepProgress
from cptbench.train.kinds import stage_kind, train_rows


def stage_rows(spec: StageData, data: dict[str, Texts | Examples]) -> StageRows:
    """The rows of ``spec``'s stage; ``data`` maps every suite stage name to its training data
    (texts for cpt, examples for sft / grpo)."""
    kind = stage_kind(spec.planned.stage.kind)
    if kind.example_rows is None:  # a token corpus
        corpus, sources = cpt_corpus(spec, data)
        return StageRows(kind.name, tuple({"text": t} for t in corpus.texts), corpus.tokens, corpus.order_hash, sources)
    examples = _chosen_examples(data[spec.planned.sources[0].name], kind.examples_cap(spec.budget), spec.seed)
    order_hash = hashlib.sha256("\x1e".join(e.id for e in examples).encode()).hexdigest()
    return StageRows(kind.name, tuple(kind.example_rows(e) for e in examples), None, order_hash, {})


def train_stage(job: StageJob, data: dict[str, Texts | Examples], progress: StepProgress,
                callbacks: tuple = ()) -> tuple[StageTraining, dict[str, list[float]]]:
    """Train ``job``'s stage from ``job.start`` into ``job.checkpoint`` on ``stage_rows``. Returns
    the summary and the per-step logs (losses, learning rates, and GRPO's reward components).
    ``callbacks`` (TrainerCallbacks) join the trainer's own (curves inside the stage)."""
    planned = job.data.planned
    stage = planned.stage
    first = stage.index == 1 or planned.from_base  # a stage from the base model warms up even without re-warming
    common = dict(seed=job.data.seed, work_dir=job.work_dir, progress=progress, first_stage=first, callbacks=callbacks,
                  tracking=job.tracking)
    built = stage_rows(job.data, data)
    context = StageContext(stage, job.start, job.checkpoint, job.state_dir, built.rows, job.recipe, job.data.seed)
    loss_term = job.method.loss(context)
    if loss_term is not None:
        common["loss_term"] = loss_term
    if job.processes > 1 or job.accelerate_config is not None or job.nodes is not None:  # launched (cptbench/run/launch.py)
        from cptbench.run.launch import train_in_processes

        result = train_in_processes(job, built, common)
    else:
        result = train_rows(built.kind, built.rows, job.recipe, job.start, job.checkpoint, **common)
    if "after_stage" in job.method.hooks():
        job.state_dir.mkdir(parents=True, exist_ok=True)
        job.method.after_stage(context)
        crash_point(f"after-stage:{stage.name}")  # the hook's work is done, the stage does not count yet
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


def examples_cap(kind: str, budget: Budget) -> int | None:
    """How many examples an sft / grpo stage takes (None: all)."""
    return stage_kind(kind).examples_cap(budget)


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
    mixed = mix_replay(docs[own], earlier, fraction=planned.replay_fraction if earlier else 0.0, cap=cap,
                       budget_neutral=planned.replay_budget_neutral, seed=job.seed, source_name=own)
    return Corpus(mixed.texts, mixed.tokens, mixed.order_hash), {k: dict(v) for k, v in mixed.sources.items()}


def _docs(texts: Texts, job: StageData) -> tuple:
    """The source's documents in file order with their token counts (+1 for the EOS the trainer appends)."""
    from transformers.utils import logging as hf_logging

    from cptbench.train.replay import documents

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "longer than the maximum sequence length": counted here, packed by the trainer
    try:
        counts = [len(ids) for ids in job.tokenizer(list(texts.texts), add_special_tokens=False)["input_ids"]]
    finally:
        hf_logging.set_verbosity(previous)
    return documents(texts.texts, counts)


def _chosen_examples(examples: Examples, limit: int | None, seed: int) -> tuple:
    order = list(examples.items)
    random.Random(seed).shuffle(order)
    return tuple(order if limit is None else order[:limit])
