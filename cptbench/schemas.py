"""pydantic models for every file that comes in: suites, recipes, run records.

Unknown fields are errors. ``load_yaml`` turns any problem into one ``ConfigError`` line that
names the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, model_validator

from cptbench.errors import ConfigError, read_text

SPLITS = ("train", "dev", "test")
GENERAL_STAGE = "general"
Split = Literal["train", "dev", "test"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- suites ----------------------------------------------------------------------------------


class TrainData(Strict):
    source: Literal["crossner"]
    domain: str
    splits: list[Split] = Field(min_length=1)


class EvalData(Strict):
    source: Literal["crossner"]
    domain: str
    split: Split


class StageModel(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["cpt"] = "cpt"
    recipe: str = "cpt"
    data: TrainData


class LmEvalSpec(Strict):
    """A task run through lm-eval: a hub task by name, or a local task YAML from ``include``."""

    task: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    direction: Literal["higher", "lower"]
    include: str | None = None  # folder of local lm-eval task YAML, relative to tasks/ (or absolute)


class TaskModel(Strict):
    """``bpb``: bits-per-byte of documents; ``cloze``: entity-cloze accuracy from NER annotations;
    ``lmeval``: an lm-eval task (``data``, when given, is written to a local file the task reads)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["bpb", "cloze", "lmeval"]
    data: EvalData | None = None
    lmeval: LmEvalSpec | None = None
    stage: str

    @model_validator(mode="after")
    def _fields_for_kind(self) -> TaskModel:
        if self.kind in ("bpb", "cloze") and self.data is None:
            raise ValueError(f"data: required for kind {self.kind!r}")
        if (self.kind == "lmeval") != (self.lmeval is not None):
            raise ValueError("lmeval: required for kind 'lmeval' and only allowed there")
        return self


class BudgetModel(Strict):
    """Caps per stage: training tokens and evaluated documents per task (null = everything)."""

    train_tokens: PositiveInt | None
    eval_docs: PositiveInt | None
    probe_items: PositiveInt | None = None  # cloze items per probe task (null = all)


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


class CPTRecipe(Strict):
    """Continued pre-training on raw text (TRL SFTTrainer, packed, every token kept)."""

    kind: Literal["cpt"] = "cpt"
    learning_rate: PositiveFloat = 1e-4
    lr_scheduler_type: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    per_device_train_batch_size: PositiveInt = 1
    gradient_accumulation_steps: PositiveInt = 1
    max_length: PositiveInt = 512
    num_train_epochs: PositiveFloat = 1.0
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: PositiveFloat = 1.0
    save_steps: PositiveInt | None = None  # trainer checkpoints inside a stage, for resuming a killed run


# --- loading ---------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: Path, model: type[M]) -> M:
    """Parse a YAML file into ``model``; any problem is one ConfigError naming file and field."""
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
    return validate(raw, model, str(path))


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
