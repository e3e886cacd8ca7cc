"""``l2``: an L2 penalty toward the weights each stage started from, ``lambda / 2 * ||theta -
theta_start||^2`` added to the loss (L2-SP: Li, Grandvalet and Davoine 2018, "Explicit Inductive
Bias for Transfer Learning with Convolutional Networks", ICML). ``lambda = 0`` is naive."""

from __future__ import annotations

from pydantic import Field

from cptbench.methods.base import Method, MethodParams, StageContext


class L2Params(MethodParams):
    lambda_: float = Field(0.1, ge=0, le=1e12, alias="lambda", description="penalty weight (calibrated on facts: docs/experiments.md)")

    model_config = {**MethodParams.model_config, "populate_by_name": True, "serialize_by_alias": True}


class L2(Method):
    name = "l2"
    summary = "loss + lambda/2 ||theta - theta_start||^2 (L2-SP toward each stage's start)"
    reference = "Li et al. 2018, L2-SP"
    Params = L2Params
    primary = "lambda"
    stage_kinds = ("cpt",)

    def loss(self, context: StageContext):
        return AnchorPenalty(self.params.lambda_)


class AnchorPenalty:
    """``weight / 2 * sum_i F_i (theta_i - theta_start_i)^2``, F = 1 (l2) or a Fisher diagonal (ewc),
    anchored at the weights the trainer starts from."""

    needs_hidden = False

    def __init__(self, weight: float, fisher: dict | None = None) -> None:
        self.weight = weight
        self.fisher = fisher
        self.anchor: dict = {}

    def prepare(self, model) -> None:
        from cptbench.train.loss_terms import parameter_snapshot

        self.anchor = parameter_snapshot(model)
        if self.fisher is not None:
            self.fisher = {name: f.to(model.device) for name, f in self.fisher.items() if name in self.anchor}
            self.anchor = {name: a for name, a in self.anchor.items() if name in self.fisher}

    def __call__(self, model, inputs: dict, hidden):
        from cptbench.train.loss_terms import weighted_distance

        return self.weight / 2 * weighted_distance(model, self.anchor, self.fisher)

    def close(self) -> None:
        self.anchor, self.fisher = {}, None
