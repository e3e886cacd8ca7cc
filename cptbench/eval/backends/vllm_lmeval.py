"""lm-eval tasks against the vLLM backend's server: lm-eval's own ``local-completions`` model,
given the checkpoint's tokenizer, token-id requests and cptbench's prefix token, so its numbers
are those of the ``hf`` backend's lm-eval model."""

from __future__ import annotations


def completions_model(backend, batch_size: int):
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    return LocalCompletionsAPI(
        base_url=f"{backend.url}/v1/completions",
        model=backend.model_name,
        tokenizer=backend.tokenizer.name_or_path,
        tokenizer_backend="huggingface",
        tokenized_requests=True,
        batch_size=batch_size,
        max_length=backend.max_length + 1,  # its rolling windows are max_length - 1 (HFLM's: max_length)
        custom_prefix_token_id=backend.prefix_token_id,
        max_retries=1,
    )
