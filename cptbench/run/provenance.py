"""What produced a run: package versions, git sha, device, determinism settings."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from cptbench.core.errors import ConfigError

PACKAGES = ("cptbench", "torch", "transformers", "trl", "datasets", "accelerate", "tokenizers")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_sha() -> str | None:
    """The checkout's commit when cptbench runs from a git checkout, else None."""
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


MAX_SEED = 2**32 - 1  # numpy's seeding (and TRL's set_seed) refuses anything outside 0 .. 2**32 - 1


def check_seed(seed: int) -> None:
    """Refuse a seed the seeding would refuse, before anything is written."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed {seed}: expected an integer from 0 to {MAX_SEED}")


def make_deterministic(seed: int) -> dict[str, object]:
    """Seed everything and ask torch for deterministic kernels; return what was set, for the record."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return {
        "seed": seed,
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "torch_num_threads": torch.get_num_threads(),
    }


def environment(determinism: dict[str, object]) -> dict[str, object]:
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.machine()})",
        "packages": package_versions(),
        "git_sha": git_sha(),
        "determinism": determinism,
    }
