"""pydantic models of a suite file (stages, tasks, budgets). Unknown fields are errors;
``cptbench.core.io.load_yaml`` turns any problem into one ``ConfigError`` line naming file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from cptbench.core.io import Strict

SPLITS = ("train", "dev", "test")
GENERAL_STAGE = "general"
Split = Literal["train", "dev", "test"]


# --- suites ----------------------------------------------------------------------------------


Source = Literal["crossner", "pubmedqa"]


def _hash_neutral(default):
    """A field added after suites were first published: left out of the suite's content hash while
    it holds its default, so existing suites (and the results filed under their hash) stay valid."""
    return Field(default, json_schema_extra={"hash_neutral": True})


class _SourceFields(Strict):
    @model_validator(mode="after")
    def _domain_for_source(self):
        if self.source == "crossner" and not self.domain:
            raise ValueError("domain: required for source 'crossner'")
        return self


class TrainData(_SourceFields):
    """``crossner``: a domain's splits; ``pubmedqa``: PQA-L, split ``train`` = the 500 questions
    outside the official test set, ``test`` = the official 500."""

    source: Source
    domain: str = ""
    splits: list[Split] = Field(min_length=1)


class EvalData(_SourceFields):
    source: Source
    domain: str = ""
    split: Split


StageKind = Literal["cpt", "sft", "grpo"]


class StageModel(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: StageKind = "cpt"
    recipe: str = "cpt"  # a recipe of the same kind: trainers/<recipe>.yaml, or a path
    data: TrainData


class LmEvalSpec(Strict):
    """A task run through lm-eval: a hub task by name, or a local task YAML from ``include``."""

    task: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    direction: Literal["higher", "lower"]
    include: str | None = None  # folder of local lm-eval task YAML, relative to tasks/ (or absolute)


class TaskModel(Strict):
    """``bpb``: bits-per-byte of documents; ``cloze``: entity-cloze accuracy from NER annotations;
    ``lmeval``: an lm-eval task (``data``, when given, is written to a local file the task reads);
    ``decision``: yes/no/maybe accuracy by log-likelihood (PubMedQA); ``explanation``: generated
    answers scored against the reference explanation by ``metric`` (``cosine``: sentence-encoder
    cosine, ``rougeL``: ROUGE-L F1)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["bpb", "cloze", "lmeval", "decision", "explanation"]
    data: EvalData | None = None
    lmeval: LmEvalSpec | None = None
    metric: Literal["cosine", "rougeL"] | None = _hash_neutral(None)
    stage: str

    @model_validator(mode="after")
    def _fields_for_kind(self) -> TaskModel:
        if self.kind != "lmeval" and self.data is None:
            raise ValueError(f"data: required for kind {self.kind!r}")
        if (self.kind == "lmeval") != (self.lmeval is not None):
            raise ValueError("lmeval: required for kind 'lmeval' and only allowed there")
        if (self.kind == "explanation") != (self.metric is not None):
            raise ValueError("metric: required for kind 'explanation' and only allowed there")
        if self.kind in ("decision", "explanation") and self.data.source != "pubmedqa":
            raise ValueError(f"data.source: kind {self.kind!r} reads 'pubmedqa'")
        return self


class BudgetModel(Strict):
    """Caps per stage: training tokens and evaluated documents per task (null = everything)."""

    train_tokens: PositiveInt | None  # cpt stages
    eval_docs: PositiveInt | None  # documents per bpb task, questions per decision task
    probe_items: PositiveInt | None = None  # cloze items per probe task (null = all)
    train_examples: PositiveInt | None = _hash_neutral(None)  # examples per sft stage (null = all)
    rl_prompts: PositiveInt | None = _hash_neutral(None)  # prompts per grpo stage (null = all)
    generation_items: PositiveInt | None = _hash_neutral(None)  # questions per explanation task (null = all)


class SuiteModel(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    version: PositiveInt
    description: str = ""
    sentences_per_doc: PositiveInt = 4
    probe_seed: int = 0  # which cloze items and distractors; fixed per suite, not per run
    stages: list[StageModel] = Field(min_length=1)
    tasks: list[TaskModel] = Field(min_length=1)
    budgets: dict[str, BudgetModel] = Field(min_length=1)
    default_budget: str

    @model_validator(mode="after")
    def _references(self) -> SuiteModel:
        _unique([s.name for s in self.stages], "stages", "name")
        _unique([t.name for t in self.tasks], "tasks", "name")
        stage_names = {s.name for s in self.stages}
        for i, task in enumerate(self.tasks):
            if task.stage != GENERAL_STAGE and task.stage not in stage_names:
                raise ValueError(f"tasks.{i}.stage: {task.stage!r} is not a stage name or {GENERAL_STAGE!r}")
        if self.default_budget not in self.budgets:
            raise ValueError(f"default_budget: {self.default_budget!r} is not one of {sorted(self.budgets)}")
        return self


def _unique(names: list[str], field: str, key: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{field}.{i}.{key}: duplicate {name!r}")
        seen.add(name)
