"""``naive``: the suite's stages one after another, each from the previous stage's checkpoint, on
its own data only: the baseline every continual-learning method is measured against (sequential
fine-tuning in De Lange et al. 2021, "A continual learning survey", TPAMI)."""

from __future__ import annotations

from cptbench.methods.base import Method


class Naive(Method):
    name = "naive"
    summary = "stage after stage, each from the previous checkpoint, on its own data"
    reference = "sequential fine-tuning (De Lange et al. 2021)"
