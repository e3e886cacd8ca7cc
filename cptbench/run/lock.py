"""One process per run directory: an OS-level lock (``flock``) on ``RUN_DIR/.lock``.

Why flock rather than a pid file: the kernel drops the lock the moment its holder exits, ``kill -9``
included, so a lock file left by a dead run blocks nothing and is never "taken over". A pid file
needs a takeover (check the owner is dead, unlink, recreate), and that check-then-act races: two
processes that both find a dead owner can each unlink the other's fresh file and both run.

The holder writes its pid into the file only so a refusal can name it; the pid decides nothing.
The file is never deleted (a process locking a new file at the same path would not exclude the
holder of the old one); the runner's ``--force`` keeps it for the same reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from cptbench.core.errors import CptbenchError


class RunLockedError(CptbenchError):
    exit_code = 3


def _write_pid(fd: int) -> None:
    """Called by filelock with the lock held, before ``acquire`` returns."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)


def _owner(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None  # unreadable, or the holder has not written its pid yet


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold ``path`` while the block runs; refuse at once if another process (or holder) has it."""
    if Path(path).is_dir() or Path(path).is_symlink():
        raise CptbenchError(f"{path}: a {'folder' if Path(path).is_dir() else 'link'} where the run's lock file belongs; "
                            f"remove it (no cptbench makes one)")
    lock = FileLock(path, blocking=False, fallback_to_soft=False, preserve_lock_file=True, on_acquired=_write_pid)
    try:
        lock.acquire()
    except Timeout:  # a TimeoutError, so an OSError too: first
        owner = _owner(path)
        raise RunLockedError(f"{path}: run directory is in use" + (f" by process {owner}" if owner else "")) from None
    except OSError as exc:
        raise CptbenchError(f"{path}: cannot lock ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.truncate(path, 0)  # still held: the next holder's pid, not ours, is all a refusal can read
        lock.release()
