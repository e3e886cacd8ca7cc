"""Where files live: the shipped declarative ``tasks/`` and ``trainers/``, and the download cache.

In a checkout they are the top-level folders; in an installed wheel they are packaged as
``cptbench._resources.tasks`` / ``cptbench._resources.trainers`` (see pyproject.toml).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def _folder(name: str) -> Path:
    local = _CHECKOUT / name
    if local.is_dir():
        return local
    return Path(str(resources.files(f"cptbench._resources.{name}")))


def tasks_dir() -> Path:
    return _folder("tasks")


def recipes_dir() -> Path:
    return _folder("trainers")


def cache_root() -> Path:
    """Downloads and converted models: ``CPTBENCH_CACHE_DIR`` or ``~/.cache/cptbench``."""
    override = os.environ.get("CPTBENCH_CACHE_DIR")
    return Path(override).expanduser() if override else Path.home() / ".cache" / "cptbench"
