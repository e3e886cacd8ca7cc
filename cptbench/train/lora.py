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
