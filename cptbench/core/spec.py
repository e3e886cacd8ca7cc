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
class DataSpec:
    """Which data: a registered source (``cptbench.data.sources``), its domain and splits."""

    source: str
    domain: str
    splits: tuple[str, ...]


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

    def budget(self, name: str | None) -> Budget:
        name = name or self.default_budget
        if name not in self.budgets:
            raise ConfigError(f"--budget {name}: suite {self.name!r} has budgets {sorted(self.budgets)}")
        return self.budgets[name]
