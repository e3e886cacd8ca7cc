"""The registry of evaluation backends: ``--backend NAME``. Adding a backend is one module with
a class that meets ``cptbench.eval.backends.base.Backend`` and has ``load(model_path, **settings)``,
plus one entry in ``BACKENDS``."""

from __future__ import annotations

from pathlib import Path

from cptbench.core.errors import ConfigError
from cptbench.eval.backends.base import Backend
from cptbench.eval.backends.hf import HFBackend
from cptbench.eval.backends.vllm import VLLMBackend

BACKENDS = {"hf": HFBackend, "vllm": VLLMBackend}


def check_backend(name: str, options: dict[str, str] | None = None) -> None:
    """A known backend, and options it takes: checked before any long work."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {name}: not one of {', '.join(BACKENDS)}")
    BACKENDS[name].check_options(dict(options or {}))


def check_backend_model(name: str, model_path: Path, options: dict[str, str] | None = None) -> None:
    """The model is one the backend can run (vLLM on a CPU: its head size), before anything is written."""
    check = getattr(BACKENDS[name], "check_model", None)
    if check is not None:
        check(Path(model_path), dict(options or {}))


def open_backend(name: str, model_path: Path, *, batch_tokens: int, options: dict[str, str] | None = None) -> Backend:
    """The checkpoint at ``model_path`` loaded into backend ``name``; ``close()`` it when done."""
    check_backend(name)
    return BACKENDS[name].load(model_path, batch_tokens=batch_tokens, options=options)
