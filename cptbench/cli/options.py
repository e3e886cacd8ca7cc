"""Options shared by commands: what a run's stages are (``run``, ``export``, ``evaluate-sequence``)
and the evaluation backend and its settings (``run``, ``eval``, ``evaluate-sequence``)."""

from __future__ import annotations

import typer

from cptbench.core.errors import ConfigError


def seed_option():
    return typer.Option(0, "--seed", help="Seed for data order, initialisation and training.")


def method_option():
    return typer.Option("naive", "--method", help="NAME[:key=value,...]: how the stages are trained, e.g. naive, joint, dapt, "
                        "replay:fraction=0.25, l2:lambda=0.1, ewc:lambda=1e5, distill:weight=4, merge:alpha=0.9 "
                        "(`cptbench methods` lists every method and its parameters).")


def order_option():
    return typer.Option("given", "--order", help="Stage order: given, reversed, random:SEED, or similar (chain by sentence-embedding centroids).")


def replay_option():
    return typer.Option(0.0, "--replay", help="Alias of --method replay:fraction=F (with --method naive).")


def replay_extra_option():
    return typer.Option(False, "--replay-extra", help="With --replay: alias of replay's budget_neutral=false (replayed tokens added to the budget).")


def report_to_option():
    return typer.Option("none", "--report-to", help="Experiment tracker: none, tensorboard, wandb, mlflow or trackio. Training "
                        "losses through transformers' integration; each row of the matrix, the metrics and the run's "
                        "configuration too; under RUN_DIR/trackers/, offline by default (pip install \"cptbench[NAME]\").")


def method_spec(method: str, replay: float = 0.0, replay_extra: bool = False) -> str:
    """The ``--method`` spec, with the ``--replay F [--replay-extra]`` aliases folded into it."""
    import math

    if replay_extra and not replay:
        raise ConfigError("--replay-extra: applies with --replay only (a fraction above 0)")
    if not replay:
        return method
    if not math.isfinite(replay) or not 0 < replay < 1:
        raise ConfigError(f"--replay {replay}: a fraction in (0, 1)")
    if method != "naive":
        raise ConfigError(f"--replay {replay}: an alias of --method replay:fraction={replay:g}; it cannot join --method {method}")
    return f"replay:fraction={replay!r}" + (",budget_neutral=false" if replay_extra else "")


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
