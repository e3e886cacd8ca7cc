"""``dapt``: each stage trained from the base model (domain-adaptive pre-training, Gururangan et
al. 2020, "Don't Stop Pretraining", ACL; the comparison of Yıldız et al. 2024): row t is the base
model adapted to stage t's domain alone, the no-forgetting reference for each domain."""

from __future__ import annotations

from cptbench.core.spec import Stage
from cptbench.methods.base import Method


class Dapt(Method):
    name = "dapt"
    summary = "each stage from the base model (one adapted model per domain)"
    reference = "Gururangan et al. 2020, Don't Stop Pretraining"

    def start(self, stage: Stage) -> bool:
        return True
