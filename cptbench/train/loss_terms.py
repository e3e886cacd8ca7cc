"""An extra term in a reference trainer's loss (a method's *loss* hook: l2, ewc, distill), added by
wrapping the trainer's own ``compute_loss``: TRL computes the language-model loss as always, and
the term is added to what it returns. Nothing of TRL's loop is copied.

The term is counted once per optimizer step: when the trainer normalises each micro-batch's loss
over the whole accumulated batch (``num_items_in_batch``), the term is divided by the number of
micro-batches; otherwise the trainer divides the sum itself. The logged training loss includes it.
"""

from __future__ import annotations

from typing import Protocol


class LossTerm(Protocol):
    needs_hidden: bool  # True: called with the backbone's last hidden state (``distill``)

    def prepare(self, model) -> None:
        """Called once with the model the trainer trains, on its device, before the first step."""

    def __call__(self, model, inputs: dict, hidden):
        """The term for one micro-batch: a scalar tensor connected to the model's parameters."""

    def close(self) -> None:
        """Release what ``prepare`` holds (frozen copies, snapshots)."""


def add_loss_term(trainer, term: LossTerm) -> None:
    """Make ``trainer`` (a transformers/TRL Trainer) add ``term`` to every micro-batch's loss."""
    model = trainer.model
    captured: dict[str, object] = {}
    if term.needs_hidden:  # the fused LM head of TRL builds no logits: keep the hidden state it projects
        model.base_model.register_forward_hook(lambda module, args, out: captured.__setitem__("hidden", out.last_hidden_state))
    term.prepare(model)
    original = trainer.compute_loss

    def compute_loss(model, inputs, return_outputs=False, num_items_in_batch=None):
        result = original(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        loss = result[0] if return_outputs else result
        extra = term(model, inputs, captured.pop("hidden", None))
        if _normalised_over_accumulation(trainer, num_items_in_batch):
            extra = extra / trainer.current_gradient_accumulation_steps
        loss = loss + extra
        return (loss, result[1]) if return_outputs else loss

    trainer.compute_loss = compute_loss


def _normalised_over_accumulation(trainer, num_items_in_batch) -> bool:
    """Whether the trainer leaves a micro-batch's loss unscaled by the accumulation steps (the same
    rule as ``Trainer.training_step``)."""
    if getattr(trainer, "loss_is_scaled_for_ga", None) is not None:
        return bool(trainer.loss_is_scaled_for_ga)
    return (trainer.model_accepts_loss_kwargs and num_items_in_batch is not None) or trainer.compute_loss_func is not None


def parameter_snapshot(model) -> dict:
    """The trainable parameters' current values, detached (the anchor of l2 and ewc)."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def weighted_distance(model, anchor: dict, weights: dict | None = None):
    """sum_i w_i (theta_i - anchor_i)^2 over the anchored parameters (w = 1 without ``weights``)."""
    total = None
    for name, p in model.named_parameters():
        if name not in anchor:
            continue
        squared = (p - anchor[name]).pow(2)
        part = (squared * weights[name]).sum() if weights is not None else squared.sum()
        total = part if total is None else total + part
    return total
