"""cptbench: a benchmark for continual pre-training.

Importing the package is cheap on purpose: no torch, transformers, trl or vllm at import time
(and no pandas: ``load_run`` and ``load_board`` import it when first used).

    import cptbench
    run = cptbench.load_run("runs/facts-small-smollm2-135m-instruct-s0")   # matrix, intervals, metrics
    board = cptbench.load_board("facts")                                   # the leaderboard, ranked
"""

__version__ = "0.1.0"
__all__ = ["__version__", "load_board", "load_run"]

_LAZY = {"load_run": "cptbench.publish.frames", "load_board": "cptbench.publish.frames"}


def __getattr__(name: str):
    """``cptbench.load_run`` / ``cptbench.load_board``, imported on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cptbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
