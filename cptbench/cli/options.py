"""Option help shared by several commands."""

from __future__ import annotations

import os

BACKEND_HELP = ("Evaluation backend: hf (transformers, batched; fp32 on CPU, bf16 on CUDA) or vllm (a vLLM server "
                "in its own environment, scripts/setup-vllm.sh).")
VLLM_URL_HELP = "With --backend vllm: evaluate on a model already served at this URL (vllm serve) instead of a managed server."


def use_vllm_url(url: str | None) -> None:
    """``--vllm-url`` reaches the backend as ``CPTBENCH_VLLM_URL`` (the backend reads no options)."""
    from cptbench.eval.backends.vllm import URL_ENV

    if url:
        os.environ[URL_ENV] = url
