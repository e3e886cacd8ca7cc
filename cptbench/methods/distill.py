"""``distill``: learning without forgetting (Li and Hoiem 2016, "Learning without Forgetting",
ECCV): ``weight * T^2 * KL(p_start || p_theta)`` at temperature ``T`` added to the loss, on the
current stage's tokens, p_start being the model the stage started from. The frozen copy is held in
memory only while the stage trains. ``weight = 0`` is naive."""

from __future__ import annotations

from pydantic import Field

from cptbench.methods.base import Method, MethodParams, StageContext


class DistillParams(MethodParams):
    weight: float = Field(4.0, ge=0, le=1e6, description="weight of the KL term (calibrated on facts: docs/experiments.md)")
    temperature: float = Field(2.0, gt=0, le=100, description="softmax temperature of both distributions")


class Distill(Method):
    name = "distill"
    summary = "loss + weight T^2 KL(start model || model) on the stage's tokens (LwF)"
    reference = "Li and Hoiem 2016, Learning without Forgetting"
    Params = DistillParams
    primary = "weight"
    stage_kinds = ("cpt",)

    def loss(self, context: StageContext):
        return StartModelKL(context.start, self.params.weight, self.params.temperature)


class StartModelKL:
    """The KL term over the tokens that carry a label, averaged per micro-batch. The student's
    logits are the LM head applied to the hidden state TRL's fused head projects (it builds none)."""

    needs_hidden = True

    def __init__(self, start, weight: float, temperature: float) -> None:
        self.start, self.weight, self.temperature = start, weight, temperature
        self.teacher = None

    def prepare(self, model) -> None:
        from cptbench.models.resolve import load_model

        teacher, _ = load_model(self.start, device=str(model.device))
        self.teacher = teacher.eval().requires_grad_(False)

    def __call__(self, model, inputs: dict, hidden):
        import torch
        import torch.nn.functional as F

        mask = inputs["labels"][:, 1:] != -100
        scale = self.temperature
        student = model.get_output_embeddings()(hidden[:, :-1][mask]).float() / scale
        with torch.no_grad():
            given = {k: v for k, v in inputs.items() if k != "labels"}
            teacher = self.teacher(**given).logits[:, :-1][mask].float() / scale
        kl = F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1), log_target=True, reduction="sum")
        return self.weight * scale**2 * kl / mask.sum().clamp(min=1)

    def close(self) -> None:
        self.teacher = None
