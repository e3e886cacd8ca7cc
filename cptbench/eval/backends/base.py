"""The Backend contract: request and result types, no torch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

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
    context: str
    continuation: str


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float
    is_greedy: bool


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()


class Backend(Protocol):
    """Scores requests against one checkpoint. No training, no file I/O."""

    def describe(self) -> dict[str, object]:
        """Settings that change the numbers (prefix token, window, stride, dtype) for the record."""
        ...

    def loglikelihood_rolling(self, texts: Sequence[str], progress: Progress | None = None) -> list[RollingResult]:
        ...

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResult]:
        ...

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None) -> list[str]:
        ...
