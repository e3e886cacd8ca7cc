"""LoRA for a stage: peft adapters trained during the stage, merged into the weights at its end.

Semantics: adapters are trained per stage and merged before the next stage. ``train_cpt`` wraps
the plain model with :func:`apply_lora`, trains only the adapters, and :func:`merge_lora` folds
them into the base weights before the checkpoint is saved. Why merge rather than keep adapters:

- every stage starts from a plain checkpoint of the original architecture, so the next stage (of
  any kind, LoRA or full fine-tuning) loads it like any other model;
- evaluation needs nothing special: the saved folder holds ordinary weights, no adapter files,
  and the normal ``load_model`` / backend path reads it;
- stacking one adapter per stage would grow memory and latency with every stage.

The cost: a later stage cannot drop an earlier stage's adapter (it is baked into the weights).
``import peft`` is slow (seconds), so it is imported inside the functions.
"""

from __future__ import annotations

from cptbench.train.recipes import LoraSpec


def apply_lora(model, spec: LoraSpec, *, seed: int | None = None, **config):
    """``model`` wrapped by peft with trainable LoRA adapters on ``spec.target_modules``; every
    other weight is frozen. ``config`` goes to ``LoraConfig`` as well (e.g. ``init_lora_weights``).

    The adapters' random initialisation draws from torch's global generator: ``seed`` seeds it
    first, so the same seed gives the same adapters whatever ran before in the process.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    if seed is not None:
        torch.manual_seed(seed)
    lora_config = LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=list(spec.target_modules),
        task_type="CAUSAL_LM",
        **config,
    )
    return get_peft_model(model, lora_config)


def merge_lora(peft_model):
    """The plain transformers model with the adapters folded into its weights (``merge_and_unload``)."""
    return peft_model.merge_and_unload()


def trainable_fraction(model) -> float:
    """Share of ``model``'s parameters that receive gradients."""
    total = trainable = 0
    for parameter in model.parameters():
        total += parameter.numel()
        trainable += parameter.numel() if parameter.requires_grad else 0
    return trainable / total if total else 0.0


def check_targets(spec: LoraSpec, model_path, where: str) -> None:
    """Every name of ``spec.target_modules`` matches a layer LoRA can adapt in the model at
    ``model_path`` (peft's rule: the module's name, or its last dotted parts); checked on the
    model's config alone (built on the meta device: no weights read), before the base row is
    evaluated. ``where`` names the recipe field in the error line."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from cptbench.core.errors import ConfigError

    names = adaptable_modules(AutoConfig.from_pretrained(model_path), AutoModelForCausalLM)
    for target in spec.target_modules:
        if not any(name == target or name.endswith("." + target) for name in names):
            leaves = sorted({name.rsplit(".", 1)[-1] for name in names})
            raise ConfigError(f"{where}.target_modules: {target!r} names no layer of {model_path} "
                              f"(its linear and embedding layers: {', '.join(leaves)})")


def adaptable_modules(config, auto_class) -> list[str]:
    """Dotted names of the linear, embedding and convolution layers of a model built from ``config``."""
    import torch
    from transformers.pytorch_utils import Conv1D

    with torch.device("meta"):
        model = auto_class.from_config(config)
    kinds = (torch.nn.Linear, torch.nn.Embedding, torch.nn.Conv1d, torch.nn.Conv2d, Conv1D)
    return [name for name, module in model.named_modules() if name and isinstance(module, kinds)]
