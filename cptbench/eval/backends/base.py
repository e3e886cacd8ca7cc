"""The Backend contract: request and result types, no torch."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cptbench.core.errors import NumericsError

Progress = Callable[[int], None]
"""Called with the number of requests just finished (for progress bars)."""


@dataclass(frozen=True)
class RollingResult:
    """Summed negative log-likelihood of a whole document, in nats, with its sizes."""

    nll: float
    num_tokens: int
    num_bytes: int


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """log P(continuation | context). The context's trailing whitespace is moved to the
    continuation when the request is made (``split_whitespace``), so every backend tokenizes the
    natural split without having to remember it."""

    context: str
    continuation: str

    def __post_init__(self) -> None:
        context, continuation = split_whitespace(self.context, self.continuation)
        object.__setattr__(self, "context", context)
        object.__setattr__(self, "continuation", continuation)


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float
    is_greedy: bool


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()


REQUEST_CONVENTION = {"context_whitespace": "to continuation"}  # recorded by every backend's describe()


def split_whitespace(context: str, continuation: str) -> tuple[str, str]:
    """Move the context's trailing whitespace to the continuation (as lm-eval's ``_encode_pair``):
    BPE tokenizers attach a space to the word after it, so ``"..., " + "Emmanuel"`` tokenized apart
    gives ``'Ġ,', 'Ġ'`` + ``'Em', 'manuel'``, a split the model never saw; ``"...," + " Emmanuel"``
    gives the natural ``'Ġ,', 'ĠEm', 'manuel'``."""
    stripped = context.rstrip()
    return stripped, context[len(stripped):] + continuation


def scored_tokens(request: LoglikelihoodRequest, tokenizer, prefix_token_id: int, max_length: int) -> tuple[list[int], int]:
    """The token ids a backend scores for ``request`` and how many of them (at the end) are the
    continuation: the prefix token, the context, the continuation, cut from the left to the
    window plus the first label (every backend scores the same tokens)."""
    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    continuation = encode(request.continuation)
    return [prefix_token_id, *encode(request.context), *continuation][-(max_length + 1) :], len(continuation)


class Backend(Protocol):
    """Scores requests against one checkpoint. No training, no file I/O.

    Besides the three calls: ``prefix_token_id`` (the token that conditions a document's first
    token), ``parameters`` (the model's size, for the record), ``describe()`` (settings that change
    the numbers), ``chat_prompt(messages)`` (the model's chat formatting) and
    ``lm_eval_model(batch_size)`` (an lm-eval ``LM`` over the same model, for lm-eval tasks).
    ``load(model_path, batch_tokens=..., options=...)`` opens a checkpoint (the registry calls it)."""

    prefix_token_id: int
    parameters: int

    @classmethod
    def load(cls, model_path: Path, *, batch_tokens: int, options: dict[str, str] | None = None) -> Backend:
        """The checkpoint at ``model_path``; ``batch_tokens`` bounds a scoring batch (padded tokens),
        ``options`` are the backend's own settings (``--backend-option KEY=VALUE``)."""
        ...

    @staticmethod
    def check_options(options: dict[str, str]) -> None:
        """Refuse, with one ConfigError line, options this backend does not take."""
        ...

    def close(self) -> None:
        """Release what ``load`` started (a vLLM server); the backend is unusable afterwards."""
        ...

    def describe(self) -> dict[str, object]:
        """Settings that change the numbers (prefix token, window, stride, dtype) for the record."""
        ...

    def chat_prompt(self, messages: list[dict]) -> str:
        """The messages in the model's chat format, ending where the assistant's answer begins."""
        ...

    def lm_eval_model(self, batch_size: int):
        """An ``lm_eval.api.model.LM`` scoring with the same model and prefix token."""
        ...

    def loglikelihood_rolling(self, texts: Sequence[str], progress: Progress | None = None) -> list[RollingResult]:
        ...

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResult]:
        """log P(continuation | context) for each request, tokenized as context + continuation."""
        ...

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None) -> list[str]:
        ...


def check_finite(values: list[float], what: str) -> None:
    """A NaN or inf among a backend's scores is one NumericsError line."""
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise NumericsError(f"{what}: {len(bad)} non-finite value(s) (first: {bad[0]})")
