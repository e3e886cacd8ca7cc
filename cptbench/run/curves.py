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
from dataclasses import dataclass

from cptbench.core.io import write_json_atomic
from cptbench.core.records import StageCurve, StageTraining
from cptbench.core.spec import Budget, Stage, Suite, TaskSpec
from cptbench.eval.kinds.base import EvalContext
from cptbench.eval.scoring import evaluate_task
from cptbench.run.store import RunDir


def curve_tasks(suite: Suite, stage_index: int) -> tuple[TaskSpec, ...]:
    """The curve tasks of one stage: those the suite names (every task when it names none) that
    belong to this stage, an earlier one, or to no stage (general)."""
    chosen = suite.curve_tasks
    return tuple(task for task in suite.tasks
                 if (chosen is None or task.name in chosen) and (task.stage is None or task.stage <= stage_index))


@dataclass
class CurveWriter:
    """The points of one stage's curve, kept in the run directory's curve file (step -> task values)."""

    run: RunDir
    stage: Stage
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
        write_json_atomic(self.run.curve_file(self.stage.index, self.stage.name),
                          {"tasks": [t.name for t in self.tasks], "seconds": self.seconds,
                           "points": {str(s): v for s, v in sorted(self.points.items())}})
        values = " ".join(f"{name}={value:.4f}" for name, value in self.points[step].items())
        self.run.append_log(f"curve stage={self.stage.name} step={step} {values}")

    def callback(self):
        """A TrainerCallback measuring a point every ``budget.eval_every`` optimizer steps (not at
        the last: the stage's matrix row is that point)."""
        from transformers import TrainerCallback

        writer, every = self, self.budget.eval_every

        class CurvePoints(TrainerCallback):
            def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
                if state.global_step % every == 0 and state.global_step < state.max_steps:
                    writer.measure(state.global_step, model, processing_class)

        return CurvePoints()


def open_curve(run: RunDir, suite: Suite, stage: Stage, eval_sets, budget: Budget, batch_tokens: int) -> CurveWriter:
    """A stage's curve writer, holding the points an earlier attempt measured."""
    saved = run.read_curve(stage.index, stage.name)
    points = {int(s): dict(v) for s, v in saved.points.items()} if saved else {}
    return CurveWriter(run, stage, curve_tasks(suite, stage.index), eval_sets, budget, batch_tokens, points,
                       saved.seconds if saved else 0.0)


def record_curves(run: RunDir, suite: Suite, rows: list[list[float]], training: list[StageTraining]) -> list[StageCurve]:
    """Every stage's whole curve: step 0 (the row before it), the measured points, its last step (its row)."""
    names = [t.name for t in suite.tasks]
    curves = []
    for stage, summary in zip(suite.stages, training):
        tasks = [t.name for t in curve_tasks(suite, stage.index)]
        steps = summary.steps or 0
        saved = run.read_curve(stage.index, stage.name)
        points = {int(s): v for s, v in (saved.points if saved else {}).items() if 0 < int(s) < steps}
        for step, row in ((0, rows[stage.index - 1]), (steps, rows[stage.index])):
            points[step] = {name: row[names.index(name)] for name in tasks}
        ordered = sorted(points)
        curves.append(StageCurve(stage=stage.name, tasks=tasks, steps=ordered,
                                 values=[[points[s][t] for t in tasks] for s in ordered],
                                 seconds=saved.seconds if saved else 0.0))
    return curves
