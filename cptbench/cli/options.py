"""Options shared by ``run`` and ``eval``: the evaluation backend and its settings."""

from __future__ import annotations

from cptbench.core.errors import ConfigError

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
