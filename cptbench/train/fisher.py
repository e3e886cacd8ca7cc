"""The diagonal (empirical) Fisher information of a checkpoint on a stage's training text: the
mean over ``batches`` packed rows of the squared gradient of the row's mean token loss (Kirkpatrick
et al. 2017, EWC; the packing is the cpt trainer's: each document + EOS, concatenated, cut into
``max_length`` rows)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def diagonal_fisher(model_path: Path, texts: Sequence[str], *, max_length: int, batches: int) -> dict:
    """{parameter name: tensor of its parameter's shape}, on the CPU, float32."""
    import torch

    from cptbench.models.resolve import default_device, load_model

    model, tokenizer = load_model(model_path, device=default_device())
    model.eval()  # no dropout: the Fisher of the deterministic model
    rows = _packed_rows(tokenizer, texts, min(max_length, model.config.max_position_embeddings), batches)
    fisher = {name: torch.zeros_like(p, dtype=torch.float32) for name, p in model.named_parameters()}
    for row in rows:
        model.zero_grad(set_to_none=True)
        ids = torch.tensor([row], device=model.device)
        model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
        for name, p in model.named_parameters():
            if p.grad is not None:
                fisher[name] += p.grad.detach().float().pow(2)
    return {name: (f / max(len(rows), 1)).cpu() for name, f in fisher.items()}


def _packed_rows(tokenizer, texts: Sequence[str], max_length: int, batches: int) -> list[list[int]]:
    ids: list[int] = []
    for text in texts:
        ids += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        if len(ids) >= max_length * batches:
            break
    rows = [ids[i : i + max_length] for i in range(0, len(ids), max_length)][:batches]
    return [row for row in rows if len(row) > 1]
