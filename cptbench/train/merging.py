"""Weight interpolation of two models of one architecture (``merge``)."""

from __future__ import annotations


def interpolate(model, other, alpha: float) -> None:
    """In place: every floating-point tensor of ``model``'s state becomes ``alpha * own + (1 - alpha) *
    other's`` (alpha = 1 and alpha = 0 give either side exactly)."""
    import torch

    theirs = other.state_dict()
    done: set[int] = set()  # tied weights (embeddings and LM head) share storage: merge it once
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and tensor.data_ptr() not in done:
                done.add(tensor.data_ptr())
                tensor.copy_(tensor * alpha + theirs[name].to(tensor.device, tensor.dtype) * (1 - alpha))
