"""The central types of a suite, frozen: what to train on (Stage) and what to evaluate (TaskSpec).

``cptbench.config`` builds them from YAML (checking every name against the registries of data
sources and task kinds); everything downstream reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import ConfigError
from cptbench.core.matrix import Direction, TaskColumn


@dataclass(frozen=True)
class HfData:
    """Where and how ``source: hf`` reads a ``datasets`` source (lm-eval's field names), and the
    templates that turn its records into what a view hands out."""

    path: str  # a Hub id or a datasets builder (json, csv, parquet, text)
    name: str | None  # a Hub config
    kwargs: str  # dataset_kwargs as canonical JSON (hashable); data_files as written in the suite
    revision: str | None
    streaming: bool
    base_dir: Path  # relative data_files resolve against the suite file's folder
    templates: tuple[tuple[str, str], ...]  # view field (text, prompt, context...) -> template or field name
    choices: tuple[str, ...] | str | None  # choice tasks: templates, or the field holding the list
    answer: str | None  # choice tasks: the field holding the answer (an index or a choice's text)
    target_delimiter: str
    origin: str  # "<suite file>: stages.0.data", for messages

    def template(self, field: str) -> str | None:
        return dict(self.templates).get(field)


@dataclass(frozen=True)
class DataSpec:
    """Which data: a registered source (``cptbench.data.sources``), its domain and splits (and,
    for ``source: hf``, where and how it reads them)."""

    source: str
    domain: str
    splits: tuple[str, ...]
    hf: HfData | None = None
    params: tuple[tuple[str, int], ...] = ()  # a generated source's parameters (the suite's ``generator`` block)


@dataclass(frozen=True)
class Stage:
    """One training step of the sequence: data, trainer kind, recipe name."""

    index: int  # 1-based
    name: str
    kind: str
    recipe: str
    data: DataSpec


@dataclass(frozen=True)
class LmEvalRef:
    task: str
    metric: str  # lm-eval's own metric key (e.g. bits_per_byte)
    direction: Direction
    include: Path | None  # resolved folder of local lm-eval task YAML


@dataclass(frozen=True)
class TaskSpec:
    """What to evaluate, how it is scored and which stage it belongs to (``None`` = general).

    ``metric`` and ``direction`` are the column's, resolved by the task kind when the suite is
    loaded (a family name such as ``bpb``, shared by every task that measures the same unit)."""

    name: str
    kind: str
    data: DataSpec | None
    stage: int | None
    metric: str
    direction: Direction
    lmeval: LmEvalRef | None = None

    @property
    def column(self) -> TaskColumn:
        return TaskColumn(self.name, self.metric, self.direction, self.stage)


@dataclass(frozen=True)
class Budget:
    name: str
    train_tokens: int | None
    eval_docs: int | None
    probe_items: int | None = None
    train_examples: int | None = None
    rl_prompts: int | None = None
    generation_items: int | None = None
    eval_every: int | None = None  # curves: the curve tasks every N training steps (None: no curves)


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    description: str
    sentences_per_doc: int
    probe_seed: int
    stages: tuple[Stage, ...]
    tasks: tuple[TaskSpec, ...]
    budgets: dict[str, Budget]
    default_budget: str
    content_hash: str
    path: Path
    curve_tasks: tuple[str, ...] | None = None  # evaluated inside stages when the budget has eval_every (None: all)

    def budget(self, name: str | None) -> Budget:
        name = self.default_budget if name is None else name  # '' is a mistake, not the default
        if name not in self.budgets:
            raise ConfigError(f"--budget {name or repr(name)}: suite {self.name!r} has budgets {sorted(self.budgets)}")
        return self.budgets[name]
