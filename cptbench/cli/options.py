"""Options shared by commands: what a run's stages are (``run``, ``export``, ``evaluate-sequence``)
and the evaluation backend and its settings (``run``, ``eval``, ``evaluate-sequence``)."""

from __future__ import annotations

import typer

from cptbench.core.errors import ConfigError


def seed_option():
    return typer.Option(0, "--seed", help="Seed for data order, initialisation and training.")


def method_option():
    return typer.Option("naive", "--method", help="naive (stage after stage), joint (all stages' data at once) or dapt (each stage from the base model).")


def order_option():
    return typer.Option("given", "--order", help="Stage order: given, reversed, random:SEED, or similar (chain by sentence-embedding centroids).")


def replay_option():
    return typer.Option(0.0, "--replay", help="Fraction of each cpt stage's tokens replayed from earlier stages (0 = none).")


def replay_extra_option():
    return typer.Option(False, "--replay-extra", help="Add the replayed tokens on top of the budget instead of taking them from it.")


BACKEND_HELP = ("Evaluation backend: hf (transformers, batched; fp32 on CPU, bf16 on CUDA) or vllm (a vLLM server "
                "in its own environment, scripts/setup-vllm.sh).")
VLLM_URL_HELP = "With --backend vllm: evaluate on a model already served at this URL (vllm serve) instead of a managed server."
BACKEND_OPTION_HELP = ("KEY=VALUE for the backend (repeatable). vllm: dtype, max_model_len, gpu_memory_utilization, "
                       "tensor_parallel_size, data_parallel_size, enforce_eager.")


def backend_options(items: list[str], vllm_url: str | None) -> tuple[tuple[str, str], ...]:
    """``--backend-option KEY=VALUE`` pairs (``--vllm-url`` is ``url=URL``), checked by the backend."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"--backend-option {item}: expected KEY=VALUE, e.g. tensor_parallel_size=2")
        pairs.append((key, value))
    if vllm_url:
        pairs.append(("url", vllm_url))
    return tuple(pairs)
