"""Rolling windows over a long token sequence: every target token scored exactly once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Inputs ``x[start:end]`` predict labels ``x[start+1:end+1]``; the first ``skip`` are context."""

    start: int
    end: int
    skip: int

    @property
    def num_scored(self) -> int:
        return self.end - self.start - self.skip


def rolling_windows(num_targets: int, max_length: int, stride: int | None = None) -> list[Window]:
    """Windows over ``x = [prefix] + targets`` (``num_targets + 1`` tokens).

    The first window predicts the first ``max_length`` targets. Each later window predicts the
    next ``stride`` targets (default ``max_length``: new tokens only, as lm-eval does), with the
    window filled by up to ``max_length`` preceding tokens as context. A shorter stride gives the
    overlapped (more context, more compute) estimate. Every target is scored exactly once.
    """
    stride = max_length if stride is None else stride
    if not 1 <= stride <= max_length:
        raise ValueError(f"stride must be in [1, {max_length}], got {stride}")
    if num_targets <= 0:
        return []
    scored = min(max_length, num_targets)
    windows = [Window(0, scored, 0)]
    while scored < num_targets:
        end = min(scored + stride, num_targets)
        start = max(0, end - max_length)
        windows.append(Window(start, end, scored - start))
        scored = end
    return windows
