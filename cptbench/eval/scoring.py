"""Score one task on one checkpoint: its kind turns inputs into requests and answers into a Cell."""

from __future__ import annotations

import math
from collections.abc import Sequence

from cptbench.core.errors import NumericsError
from cptbench.core.spec import TaskSpec
from cptbench.eval.backends.base import Backend
from cptbench.eval.kinds.base import Cell, EvalContext
from cptbench.eval.kinds.registry import get_kind


def evaluate_task(backend: Backend, task: TaskSpec, items: Sequence, context: EvalContext) -> Cell:
    """The task's cell; a NaN or inf in its value, details or samples is a NumericsError naming the task."""
    cell = get_kind(task.kind).score(backend, task, items, context)
    per_item = [] if cell.samples is None else [("samples", x) for x in (*cell.samples.values, *(cell.samples.weights or ()))]
    for name, number in [("value", cell.value), *cell.details.items(), *per_item]:
        if not math.isfinite(number):
            raise NumericsError(f"task {task.name}: {name} is {number}")
    return cell
