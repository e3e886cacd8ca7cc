"""``joint``: one stage on every stage's training data at once (the same documents the sequence
sees, shuffled together): the reference point without a sequence, an upper bound for
intransigence (Chaudhry et al. 2018, "Riemannian Walk for Incremental Learning"). Its matrix has
two rows (base, joint); every stage-aligned task belongs to the joint stage."""

from __future__ import annotations

import dataclasses

from cptbench.core.spec import Stage, Suite
from cptbench.methods.base import Method, StageMix

JOINT = "joint"


class Joint(Method):
    name = "joint"
    summary = "one stage on every stage's data at once (no sequence: the reference point)"
    reference = "multi-task upper bound (Chaudhry et al. 2018)"
    stage_kinds = ("cpt",)

    def shape(self, suite: Suite) -> Suite:
        joint = dataclasses.replace(suite.stages[0], index=1, name=JOINT)
        tasks = tuple(dataclasses.replace(t, stage=None if t.stage is None else 1) for t in suite.tasks)
        return dataclasses.replace(suite, stages=(joint,), tasks=tasks)

    def data(self, stage: Stage, ordered: tuple[Stage, ...]) -> StageMix:
        return StageMix(ordered)
