"""pydantic models for every file that comes in: suites, recipes, run records.

Unknown fields are errors. ``load_yaml`` turns any problem into one ``ConfigError`` line that
names the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, model_validator

from cptbench.core.errors import ConfigError, read_text

SPLITS = ("train", "dev", "test")
GENERAL_STAGE = "general"
Split = Literal["train", "dev", "test"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


# --- recipes ---------------------------------------------------------------------------------


class LoraSpec(Strict):
    """peft LoRA adapters, trained during a stage and merged into the weights at its end (so the
    next stage and the evaluation see a plain model of the original architecture)."""

    r: PositiveInt = 16
    alpha: PositiveFloat = 32.0
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1,
    )


class _Recipe(Strict):
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
    (cptbench/trainers/rewards.py)."""

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
    encoder: str = "all-minilm-l6-v2"  # semantic reward: alias, local folder, or hub id
    use_vllm: bool = False  # passed through to TRL for GPU users


Recipe = CPTRecipe | SFTRecipe | GRPORecipe
RECIPE_KINDS: dict[str, type[_Recipe]] = {"cpt": CPTRecipe, "sft": SFTRecipe, "grpo": GRPORecipe}


# --- loading ---------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: Path, model: type[M]) -> M:
    """Parse a YAML file into ``model``; any problem is one ConfigError naming file and field."""
    return validate(read_yaml_mapping(path), model, str(path))


def read_yaml_mapping(path: Path) -> dict:
    """A YAML file whose top level is a mapping; anything else is one ConfigError naming the file."""
    import yaml

    text = read_text(path, ConfigError)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: malformed YAML{where}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def validate(raw: object, model: type[M], source: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem as 'field.path: message' (a model validator's message names its own field)."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{field}: {message}" if field else message


# --- run records -----------------------------------------------------------------------------

RECORD_SCHEMA_VERSION = 1


class ColumnModel(Strict):
    name: str
    metric: str
    direction: Literal["higher", "lower"]
    stage: PositiveInt | None


class SuiteRef(Strict):
    name: str
    version: PositiveInt
    hash: str
    budget: str
    train_tokens: PositiveInt | None
    eval_docs: PositiveInt | None
    probe_items: PositiveInt | None = None
    train_examples: PositiveInt | None = None
    rl_prompts: PositiveInt | None = None
    generation_items: PositiveInt | None = None


class ModelRef(Strict):
    reference: str
    source: str
    parameters: PositiveInt


class StageTraining(Strict):
    stage: str
    documents: int
    corpus_tokens: int
    tokens: int
    steps: int
    seconds: float
    final_loss: float
    data_order_hash: str
    kind: Literal["cpt", "sft", "grpo"] = "cpt"
    sources: dict[str, dict[str, int]] = Field(default_factory=dict)  # documents / tokens per data source (replay)
    rewards: dict[str, float] = Field(default_factory=dict)  # grpo: mean of each reward component over the stage


class MethodRef(Strict):
    """How the stages were run (cptbench/plan.py): method, stage order, replay."""

    name: Literal["naive", "joint", "dapt"] = "naive"
    order_spec: str = "given"  # given | reversed | random:SEED | similar
    order: list[str]  # the suite's stages in the order they were run
    replay_fraction: float = Field(0.0, ge=0, lt=1)
    replay_budget_neutral: bool = True


class RunRecord(Strict):
    """Everything a report, a leaderboard submission or the regression gate needs: nothing else is read."""

    schema_version: Literal[1]
    cptbench_version: str
    created: str
    suite: SuiteRef
    model: ModelRef
    seed: int
    recipes: dict[str, dict[str, object]]
    backend: dict[str, object]
    environment: dict[str, object]
    data: dict[str, str]
    stages: list[str]
    tasks: list[ColumnModel]
    matrix: list[list[float]]
    details: list[list[dict[str, float | int]]]
    metrics: dict[str, float | None]
    training: list[StageTraining]
    timings: dict[str, float]
    method: MethodRef | None = None  # None: records made before methods existed (naive, given order)
