"""Curves inside a stage: the curve tasks evaluated every ``eval_every`` optimizer steps while the
stage trains, on the model in training (HF backend, whatever backend scores the matrix).

A stage's curve runs from the matrix row before it (step 0) through the points measured while it
trains to its own row (its last step), so a dip at the start of a stage and its recovery (the
stability gap) show. Points go to ``curves/<t>-<stage>.json`` as they are measured; a stage resumed
from a trainer checkpoint measures the later points again (the same values: evaluation changes
neither the weights nor any random state).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.io import write_json_atomic
from cptbench.core.records import StageCurve
from cptbench.core.spec import Budget, Suite, TaskSpec
from cptbench.eval.kinds.base import EvalContext
from cptbench.eval.scoring import evaluate_task


def curve_tasks(suite: Suite, stage_index: int) -> tuple[TaskSpec, ...]:
    """The curve tasks of one stage: those the suite names (every task when it names none) that
    belong to this stage, an earlier one, or to no stage (general)."""
    chosen = suite.curve_tasks
    return tuple(task for task in suite.tasks
                 if (chosen is None or task.name in chosen) and (task.stage is None or task.stage <= stage_index))


@dataclass
class CurveWriter:
    """The points of one stage's curve, kept in ``path`` (step -> task values)."""

    path: Path
    tasks: tuple[TaskSpec, ...]
    eval_sets: dict[str, tuple]
    budget: Budget
    batch_tokens: int
    points: dict[int, dict[str, float]]
    seconds: float = 0.0

    def measure(self, step: int, model, tokenizer) -> None:
        from cptbench.eval.backends.hf import HFBackend

        started = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            backend = HFBackend(model, tokenizer, batch_tokens=self.batch_tokens)
            context = EvalContext(self.budget)
            self.points[step] = {t.name: evaluate_task(backend, t, self.eval_sets[t.name], context).value for t in self.tasks}
        finally:
            model.train(was_training)
        self.seconds += time.perf_counter() - started
        write_json_atomic(self.path, {"tasks": [t.name for t in self.tasks], "seconds": self.seconds,
                                      "points": {str(s): v for s, v in sorted(self.points.items())}})

    def callback(self, every: int, on_point: Callable[[int], None] | None = None):
        """A TrainerCallback measuring a point every ``every`` optimizer steps (not at the last: the
        stage's matrix row is that point)."""
        from transformers import TrainerCallback

        writer = self

        class CurvePoints(TrainerCallback):
            def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
                step = state.global_step
                if step % every == 0 and step < state.max_steps:
                    writer.measure(step, model, processing_class)
                    if on_point:
                        on_point(step)

        return CurvePoints()


def open_curve(path: Path, tasks: tuple[TaskSpec, ...], eval_sets, budget: Budget, batch_tokens: int, saved: dict | None) -> CurveWriter:
    """A stage's curve writer, holding the points an earlier attempt measured."""
    points = {int(s): dict(v) for s, v in (saved or {}).get("points", {}).items()}
    seconds = float((saved or {}).get("seconds", 0.0))
    return CurveWriter(path, tasks, eval_sets, budget, batch_tokens, points, seconds)


def stage_curve(stage: str, steps: int, tasks: tuple[str, ...], before: dict[str, float], after: dict[str, float],
                saved: dict | None) -> StageCurve:
    """The whole curve of a stage: step 0 (the row before it), the measured points, its last step (its row)."""
    measured = {int(s): v for s, v in (saved or {}).get("points", {}).items() if 0 < int(s) < steps}
    points = {0: before, **measured, steps: after}
    ordered = sorted(points)
    return StageCurve(stage=stage, tasks=list(tasks), steps=ordered,
                      values=[[points[s][t] for t in tasks] for s in ordered],
                      seconds=float((saved or {}).get("seconds", 0.0)))
