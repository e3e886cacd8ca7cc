"""pydantic models of a suite file (stages, tasks, budgets). Unknown fields are errors;
``cptbench.core.io.load_yaml`` turns any problem into one ``ConfigError`` line naming file and field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PositiveInt, ValidationInfo, field_validator, model_validator

from cptbench.core.io import Strict
from cptbench.core.matrix import GENERAL as GENERAL_STAGE
from cptbench.data.facts_world import DOMAINS as FACTS_DOMAINS
from cptbench.data.hf import check_template
from cptbench.data.sources import SOURCES
from cptbench.eval.kinds.registry import KINDS
from cptbench.train.kinds import STAGE_KINDS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # budget names: part of a run folder's name, never a path
SPLITS = ("train", "dev", "test")  # the split names of the built-in sources; ``hf`` takes any its data has


# --- suites ----------------------------------------------------------------------------------


def _hash_neutral(default):
    """A field added after suites were first published: left out of the suite's content hash while
    it holds its default, so existing suites (and the results filed under their hash) stay valid."""
    return Field(default, json_schema_extra={"hash_neutral": True})


TEMPLATE_FIELDS = ("text", "prompt", "completion", "reference", "label", "context")
HF_FIELDS = ("dataset_path", "dataset_name", "dataset_kwargs", "revision", "streaming", "text", "prompt",
             "completion", "reference", "label", "context", "choices", "answer", "target_delimiter")


class _SourceFields(Strict):
    """``source`` names a registered data source (``cptbench.data.sources``). ``source: hf`` reads
    any ``datasets`` source, with lm-eval's field names; its templates (``text``, ``prompt``, ...)
    are a record field's name or a ``str.format`` template over the fields (``"{title}\\n\\n{body}"``)."""

    dataset_path: str | None = _hash_neutral(None)  # a Hub id, or a builder: json, csv, parquet, text
    dataset_name: str | None = _hash_neutral(None)  # a Hub config
    dataset_kwargs: dict[str, Any] | None = _hash_neutral(None)  # passed to load_dataset (data_files: relative to the suite file)
    revision: str | None = _hash_neutral(None)  # a Hub revision to pin
    streaming: bool = _hash_neutral(False)  # read only what the budget takes
    text: str | None = _hash_neutral(None)  # documents (cpt stages, bpb tasks)
    prompt: str | None = _hash_neutral(None)  # questions (sft / grpo stages, explanation tasks)
    completion: str | None = _hash_neutral(None)  # the sft target
    reference: str | None = _hash_neutral(None)  # the reference answer (grpo reward, explanation score)
    label: str | None = _hash_neutral(None)  # a short answer checked in an 'Answer: <label>' line
    context: str | None = _hash_neutral(None)  # choice tasks: the text before the choice
    choices: list[str] | str | None = _hash_neutral(None)  # choice tasks: templates, or the field holding the list
    answer: str | None = _hash_neutral(None)  # choice tasks: the field holding the answer (index or text)
    target_delimiter: str = _hash_neutral(" ")  # choice tasks: between context and choice (lm-eval's)

    @field_validator(*TEMPLATE_FIELDS)
    @classmethod
    def _fillable(cls, template: str | None) -> str | None:
        if template is not None and "{" in template:
            check_template(template)
        return template

    @field_validator("choices")
    @classmethod
    def _fillable_choices(cls, choices: list[str] | str | None) -> list[str] | str | None:
        for template in choices if isinstance(choices, list) else ():
            if "{" in template:
                check_template(template)
        return choices

    @field_validator("dataset_kwargs")
    @classmethod
    def _data_files(cls, kwargs: dict[str, Any] | None) -> dict[str, Any] | None:
        """``data_files`` as ``datasets`` takes it: a path, a list of paths, or split -> path(s)."""
        files = (kwargs or {}).get("data_files")
        if files is None:
            return kwargs

        def paths(value: object) -> bool:
            return isinstance(value, str) and bool(value) or (
                isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value))

        if not (paths(files) or isinstance(files, dict) and files and all(
                isinstance(k, str) and paths(v) for k, v in files.items())):
            raise ValueError(f"data_files: expected a path, a list of paths, or a mapping of split names to them "
                             f"(got {type(files).__name__})")
        return kwargs

    @field_validator("source", check_fields=False)
    @classmethod
    def _known_source(cls, source: str) -> str:
        if source not in SOURCES:
            raise ValueError(f"{source!r} is not a data source (known: {', '.join(sorted(SOURCES))})")
        return source

    @model_validator(mode="after")
    def _fields_for_source(self):
        if SOURCES[self.source].needs_domain and not self.domain:
            raise ValueError(f"domain: required for source {self.source!r}")
        if self.source == "hf":
            if not self.dataset_path:
                raise ValueError("dataset_path: required for source 'hf' (a Hub id, or json, csv, parquet, text)")
        else:
            for name in HF_FIELDS:
                if name in self.model_fields_set:
                    raise ValueError(f"{name}: only for source 'hf' (this data is {self.source!r})")
        return self

    def needs(self, fields: tuple[str, ...], what: str) -> None:
        """``source: hf`` must map every field that ``what`` reads."""
        if self.source != "hf":
            return
        for name in fields:
            if getattr(self, name) is None:
                raise ValueError(f"data.{name}: required for {what} on source 'hf'")


def _builtin_split(split: str, info: ValidationInfo) -> str:
    """The built-in sources name their splits train, dev, test; ``hf`` takes any its data has."""
    if info.data.get("source", "hf") != "hf" and split not in SPLITS:
        raise ValueError(f"{split!r} is not one of {list(SPLITS)} (source {info.data['source']!r})")
    return split


def _one_spelling(data: object, singular: bool) -> object:
    """``split: NAME`` and ``splits: [NAME, ...]`` are both accepted on stages and tasks (the docs
    and lm-eval use either); each model keeps one spelling, so the suite's hash does not depend
    on which was written. A stage trains on every split it names; a task evaluates one."""
    if not isinstance(data, dict) or not ("split" in data or "splits" in data):
        if isinstance(data, dict):
            raise ValueError("split: required (a split name; or splits: a list of them)")
        return data
    if "split" in data and "splits" in data:
        raise ValueError("split, splits: give one of them, not both")
    data = dict(data)
    value = data.pop("split" if "split" in data else "splits")
    names = value if isinstance(value, list) else [value]
    if singular:
        if len(names) != 1:
            raise ValueError(f"splits: a task evaluates one split (got {len(names)}); name it with split")
        data["split"] = names[0]
    else:
        data["splits"] = names
    return data


class TrainData(_SourceFields):
    """``crossner``: a domain's splits; ``pubmedqa``: PQA-L, split ``train`` = the 500 questions
    outside the official test set, ``test`` = the official 500; ``hf``: any split its data has.
    ``split: train`` is the same as ``splits: [train]``."""

    source: str
    domain: str = ""
    splits: list[Annotated[str, AfterValidator(_builtin_split)]] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _split_or_splits(cls, data: object) -> object:
        return _one_spelling(data, singular=False)

    def split_names(self) -> list[str]:
        return self.splits


class EvalData(_SourceFields):
    """What a task evaluates: one split (``splits: [test]`` is the same as ``split: test``)."""

    source: str
    domain: str = ""
    split: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _split_or_splits(cls, data: object) -> object:
        return _one_spelling(data, singular=True)

    @field_validator("split")
    @classmethod
    def _known_split(cls, split: str, info: ValidationInfo) -> str:
        return _builtin_split(split, info)

    def split_names(self) -> list[str]:
        return [self.split]


class StageModel(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str = "cpt"  # a stage kind (cptbench/train/kinds.py)
    recipe: str = "cpt"  # a recipe of the same kind: trainers/<recipe>.yaml, or a path
    data: TrainData

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in STAGE_KINDS:
            raise ValueError(f"{kind!r} is not one of {', '.join(STAGE_KINDS)}")
        return kind

    @model_validator(mode="after")
    def _source_has_the_view(self) -> StageModel:
        kind = STAGE_KINDS[self.kind]
        if kind.reads not in SOURCES[self.data.source].views:
            raise ValueError(f"data.source: a {self.kind} stage trains on {kind.reads}, which {self.data.source!r} does not provide")
        self.data.needs(kind.source_fields, f"a {self.kind} stage")
        return self


class LmEvalSpec(Strict):
    """A task run through lm-eval: a hub task by name, or a local task YAML from ``include``."""

    task: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    direction: Literal["higher", "lower"]
    include: str | None = None  # folder of local lm-eval task YAML, relative to tasks/ (or absolute)


class TaskModel(Strict):
    """A task of a registered kind (``cptbench.eval.kinds``): ``bpb``: bits-per-byte of documents;
    ``cloze``: entity-cloze accuracy from NER annotations; ``lmeval``: an lm-eval task (``data``,
    when given, is written to a local file the task reads); ``decision``: yes/no/maybe accuracy by
    log-likelihood; ``explanation``: generated answers scored against the reference explanation by
    ``metric`` (``cosine``: sentence-encoder cosine, ``rougeL``: ROUGE-L F1); ``choice``: multiple-choice
    accuracy by log-likelihood over any source's ``choices`` (lm-eval's multiple_choice)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str
    data: EvalData | None = None
    lmeval: LmEvalSpec | None = None
    metric: str | None = _hash_neutral(None)
    stage: str

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"{kind!r} is not a task kind (known: {', '.join(KINDS)})")
        return kind

    @model_validator(mode="after")
    def _fields_for_kind(self) -> TaskModel:
        kind = KINDS[self.kind]
        if kind.reads is not None and self.data is None:
            raise ValueError(f"data: required for kind {self.kind!r}")
        if (self.kind == "lmeval") != (self.lmeval is not None):
            raise ValueError("lmeval: required for kind 'lmeval' and only allowed there")
        if self.metric is not None and self.metric not in kind.metric_choices:
            allowed = f"one of {list(kind.metric_choices)}" if kind.metric_choices else "not allowed"
            raise ValueError(f"metric: {self.metric!r} is {allowed} for kind {self.kind!r}")
        if kind.metric_choices and self.metric is None:
            raise ValueError(f"metric: required for kind {self.kind!r} (one of {list(kind.metric_choices)})")
        if kind.reads is not None and kind.reads not in SOURCES[self.data.source].views:
            providers = sorted(name for name, source in SOURCES.items() if kind.reads in source.views)
            raise ValueError(f"data.source: kind {self.kind!r} reads {kind.reads}, which {self.data.source!r} "
                             f"does not provide (sources that do: {', '.join(providers)})")
        if self.data is not None:
            self.data.needs(kind.fields, f"kind {self.kind!r}")
        return self


class BudgetModel(Strict):
    """Caps per stage: training tokens and evaluated documents per task (null = everything)."""

    train_tokens: PositiveInt | None  # cpt stages
    eval_docs: PositiveInt | None  # documents per bpb task, questions per decision task
    probe_items: PositiveInt | None = None  # cloze items per probe task (null = all)
    train_examples: PositiveInt | None = _hash_neutral(None)  # examples per sft stage (null = all)
    rl_prompts: PositiveInt | None = _hash_neutral(None)  # prompts per grpo stage (null = all)
    generation_items: PositiveInt | None = _hash_neutral(None)  # questions per explanation task (null = all)
    eval_every: PositiveInt | None = _hash_neutral(None)  # curves: evaluate the curve tasks every N training steps


class GeneratorModel(Strict):
    """The parameters of a generated source's world (``source: facts``); they go into the suite hash."""

    name: Literal["facts"]
    version: PositiveInt  # must be the code's generator version: another version makes another world
    seed: int = 0
    entities: int = Field(ge=4)  # invented entities per domain (distractors come from the others)
    documents: PositiveInt  # training documents per entity, each stating all of its facts


class SuiteModel(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    version: PositiveInt
    description: str = ""
    sentences_per_doc: PositiveInt = 4
    probe_seed: int = 0  # which cloze items and distractors; fixed per suite, not per run
    stages: list[StageModel] = Field(min_length=1)
    tasks: list[TaskModel] = Field(min_length=1)
    budgets: dict[Annotated[str, Field(pattern=NAME_PATTERN)], BudgetModel] = Field(min_length=1)  # names go into run folders
    default_budget: str
    generator: GeneratorModel | None = _hash_neutral(None)  # the world of ``source: facts``
    curve_tasks: list[str] | None = _hash_neutral(None)  # evaluated inside stages (eval_every); null = every task

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
        task_names = [t.name for t in self.tasks]
        for i, name in enumerate(self.curve_tasks or []):
            if name not in task_names:
                raise ValueError(f"curve_tasks.{i}: {name!r} is not a task name")
        self._generated_sources()
        return self

    def _generated_sources(self) -> None:
        """``source: facts`` needs the suite's ``generator`` block, and a domain of its world."""
        where = [(f"stages.{i}", s.data) for i, s in enumerate(self.stages)]
        where += [(f"tasks.{i}", t.data) for i, t in enumerate(self.tasks) if t.data is not None]
        generated = [(place, data) for place, data in where if data.source == "facts"]
        if generated and self.generator is None:
            raise ValueError(f"generator: required by {generated[0][0]}.data (source 'facts')")
        if self.generator is not None and not generated:
            raise ValueError("generator: no stage or task reads a generated source (source: facts)")
        for place, data in generated:
            if data.domain not in FACTS_DOMAINS:
                raise ValueError(f"{place}.data.domain: {data.domain!r} is not a facts domain (one of {', '.join(FACTS_DOMAINS)})")


def _unique(names: list[str], field: str, key: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{field}.{i}.{key}: duplicate {name!r}")
        seen.add(name)
