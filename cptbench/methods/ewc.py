"""``ewc``: elastic weight consolidation, online across stages (Kirkpatrick et al. 2017,
"Overcoming catastrophic forgetting in neural networks", PNAS; the online form of Schwarz et al.
2018, "Progress & Compress", ICML).

After each stage t, the diagonal Fisher F_t of its finished weights is estimated on its training
text (``fisher_batches`` packed rows) and accumulated, ``F*_t = gamma * F*_{t-1} + F_t``, into the
run directory (so a killed run resumes with it). Stage t+1 then trains with ``lambda / 2 * sum_i
F*_t,i (theta_i - theta*_i)^2`` added to its loss, theta* being the weights it started from (stage
t's). The first stage has nothing to protect and trains as naive; ``lambda = 0`` is naive.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PositiveInt

from cptbench.core.errors import RecordError
from cptbench.methods.base import Method, MethodParams, StageContext
from cptbench.methods.l2 import AnchorPenalty


class EwcParams(MethodParams):
    lambda_: float = Field(1e5, ge=0, le=1e12, alias="lambda", description="penalty weight (calibrated on facts: docs/experiments.md)")
    gamma: float = Field(1.0, ge=0, le=1, description="decay of earlier stages' Fisher (online EWC)")
    fisher_batches: PositiveInt = Field(16, le=10_000, description="packed rows the Fisher is estimated on")

    model_config = {**MethodParams.model_config, "populate_by_name": True, "serialize_by_alias": True}


class Ewc(Method):
    name = "ewc"
    summary = "loss + lambda/2 sum F (theta - theta*)^2, diagonal Fisher accumulated over stages"
    reference = "Kirkpatrick et al. 2017; online form: Schwarz et al. 2018"
    Params = EwcParams
    primary = "lambda"
    stage_kinds = ("cpt",)

    def loss(self, context: StageContext):
        if context.stage.index == 1:
            return None
        return AnchorPenalty(self.params.lambda_, _read(_fisher_file(context.state_dir, context.stage.index - 1)))

    def after_stage(self, context: StageContext) -> None:
        from safetensors.torch import save_file

        from cptbench.core.io import atomic_path
        from cptbench.train.fisher import diagonal_fisher

        texts = [row["text"] for row in context.rows]
        fisher = diagonal_fisher(context.checkpoint, texts, max_length=context.recipe.max_length,
                                 batches=self.params.fisher_batches)
        index = context.stage.index
        if index > 1:
            earlier = _read(_fisher_file(context.state_dir, index - 1))
            fisher = {name: self.params.gamma * earlier[name] + f for name, f in fisher.items()}
        target = _fisher_file(context.state_dir, index)
        with atomic_path(target) as tmp:
            save_file(fisher, str(tmp))
        for old in context.state_dir.glob("fisher-*.safetensors"):  # the previous one stays until this stage counts
            if int(old.stem.split("-")[1]) < index - 1:
                old.unlink(missing_ok=True)


def _fisher_file(state_dir: Path, index: int) -> Path:
    return state_dir / f"fisher-{index}.safetensors"


def _read(path: Path) -> dict:
    from safetensors.torch import load_file

    if not path.is_file():
        raise RecordError(f"{path}: missing: the Fisher of the previous stage is gone; rerun with --force")
    return load_file(str(path))
