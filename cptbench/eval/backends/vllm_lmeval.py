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
        # it keeps max_length - 1 for the one generated token and rolls windows one shorter again;
        # + 2 gives HFLM's windows (backend.max_length predicted tokens after one context token)
        max_length=backend.max_length + 2,
        custom_prefix_token_id=backend.prefix_token_id,
        max_retries=1,
    )
