"""What a multi-process run (``--processes N``) needs, checked before any work."""

from __future__ import annotations

from pathlib import Path

from cptbench.core.errors import ConfigError
from cptbench.core.resources import recipes_dir
from cptbench.core.spec import Budget, Suite
from cptbench.train.distributed import split_batch


def check_processes(processes: int, accelerate_config: Path | None, recipes: dict, suite: Suite, budget: Budget) -> None:
    """One line for each thing ``--processes`` cannot do: GRPO stages (TRL's generation batches are
    per process and not split here), curves inside a stage (they score the model in training, in
    this process), a global batch that the processes cannot share, a missing Accelerate config."""
    grpo = [stage.name for stage in suite.stages if stage.kind == "grpo"]
    if grpo:
        raise ConfigError(f"--processes {processes}: stage {grpo[0]} is a grpo stage; grpo stages train in one process")
    if budget.eval_every:
        raise ConfigError(f"--processes {processes}: curves inside a stage (eval_every) need one process")
    for name, recipe in recipes.items():
        try:
            split_batch(recipe.per_device_train_batch_size, recipe.gradient_accumulation_steps, processes)
        except ConfigError as exc:
            raise ConfigError(f"recipe {name}: {exc}") from None
    if accelerate_config is not None and not accelerate_config.is_file():
        raise ConfigError(f"--accelerate-config {accelerate_config}: no such file")


def accelerate_config_path(name_or_path: str) -> Path:
    """A shipped Accelerate config by name (``fsdp`` -> ``trainers/accelerate/fsdp.yaml``) or a path."""
    candidate = Path(name_or_path)
    return candidate if candidate.suffix in {".yaml", ".yml"} else recipes_dir() / "accelerate" / f"{name_or_path}.yaml"


def training_processes(config) -> dict[str, int]:
    """The record's ``environment`` entries for a run whose stages trained in several processes:
    how many in all (``training_processes``) and on how many nodes (``training_nodes``)."""
    nodes = config.nodes.count if config.nodes else 1
    world = config.processes * nodes
    return {**({"training_processes": world} if world > 1 else {}), **({"training_nodes": nodes} if nodes > 1 else {})}
