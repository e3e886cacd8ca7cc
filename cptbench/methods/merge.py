"""``merge``: after each stage, the finished weights interpolated with the stage's starting weights,
``theta <- alpha * theta + (1 - alpha) * theta_start`` (WiSE-FT: Wortsman et al. 2022, "Robust
fine-tuning of zero-shot models", CVPR; model merging against forgetting in continual pre-training).
The merged weights are the stage's checkpoint: they are evaluated and the next stage starts from
them. ``alpha = 1`` is naive; ``alpha = 0`` keeps the base model in every row."""

from __future__ import annotations

from pydantic import Field

from cptbench.methods.base import Method, MethodParams, StageContext


class MergeParams(MethodParams):
    alpha: float = Field(0.9, ge=0, le=1, description="weight of the finished stage's weights (calibrated on facts: docs/experiments.md)")


class Merge(Method):
    name = "merge"
    summary = "after each stage: theta <- alpha theta + (1 - alpha) theta_start (WiSE-FT)"
    reference = "Wortsman et al. 2022, WiSE-FT"
    Params = MergeParams
    primary = "alpha"

    def after_stage(self, context: StageContext) -> None:
        from cptbench.models.resolve import load_model, save_atomically
        from cptbench.train.merging import interpolate

        model, tokenizer = load_model(context.checkpoint)
        start, _ = load_model(context.start)
        interpolate(model, start, self.params.alpha)
        del start
        save_atomically(model, tokenizer, context.checkpoint)
