"""The result matrix R[t][j]: task j's value after stage t (row 0 = before any stage)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from cptbench.core.errors import RecordError

GENERAL = "general"


class Direction(str, enum.Enum):
    """Whether a larger value of a task's metric is better."""

    HIGHER = "higher"
    LOWER = "lower"

    def gain(self, value: float) -> float:
        """Gain-oriented score: s = v if higher is better, else s = -v."""
        return value if self is Direction.HIGHER else -value


@dataclass(frozen=True)
class TaskColumn:
    """What travels with one column: its name, metric, direction and the stage it belongs to.

    ``stage`` is the 1-based index of the stage whose domain the task measures, or ``None``
    for a general task (not aligned to any stage).
    """

    name: str
    metric: str
    direction: Direction
    stage: int | None


@dataclass(frozen=True)
class ResultMatrix:
    """Immutable (T+1) x N matrix. ``values[t][j]`` is task j after stage t; row 0 is the base model."""

    stages: tuple[str, ...]
    tasks: tuple[TaskColumn, ...]
    values: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if len(self.values) != len(self.stages) + 1:
            raise RecordError(
                f"matrix: expected {len(self.stages) + 1} rows (base + {len(self.stages)} stages), "
                f"got {len(self.values)}"
            )
        for t, row in enumerate(self.values):
            if len(row) != len(self.tasks):
                raise RecordError(f"matrix: row {t} has {len(row)} cells, expected {len(self.tasks)}")
            for j, value in enumerate(row):
                if not math.isfinite(value):
                    raise RecordError(f"matrix: cell [{t}][{self.tasks[j].name}] is {value}, not finite")
        for column in self.tasks:
            if column.stage is not None and not 1 <= column.stage <= len(self.stages):
                raise RecordError(
                    f"matrix: task {column.name!r} is aligned to stage {column.stage}, "
                    f"but there are {len(self.stages)} stages"
                )

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def score(self, t: int, j: int) -> float:
        """Gain-oriented score s[t][j]."""
        return self.tasks[j].direction.gain(self.values[t][j])

    def column(self, name: str) -> int:
        for j, c in enumerate(self.tasks):
            if c.name == name:
                return j
        raise KeyError(name)
