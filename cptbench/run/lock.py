"""One process per run directory: a lock file holding the owner's pid; a dead owner's lock is taken over."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from cptbench.core.errors import CptbenchError


class RunLockedError(CptbenchError):
    exit_code = 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _create_with_pid(path: Path) -> bool:
    """Create ``path`` holding our pid in one atomic step (a hard link of a finished temp file):
    no other process can ever see the lock file empty. False if it already exists."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(str(os.getpid()))
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold ``path`` while the block runs; refuse at once if a live process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        if _create_with_pid(path):
            break
        owner = _owner(path)
        if owner is not None and owner != os.getpid() and _alive(owner):
            raise RunLockedError(f"{path}: run directory is in use by process {owner}")
        path.unlink(missing_ok=True)  # stale: its owner died
    else:
        raise RunLockedError(f"{path}: could not take the lock")
    try:
        yield
    finally:
        if _owner(path) == os.getpid():
            path.unlink(missing_ok=True)
