"""Turn CptbenchError into one line on stderr and an exit code (traceback only with --debug)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import typer

from cptbench.core.errors import CptbenchError

_DEBUG_ENV = "CPTBENCH_DEBUG"


def debug_option():
    return typer.Option(False, "--debug", help="Show full tracebacks.", callback=_set_debug, is_eager=True)


def _set_debug(value: bool) -> bool:
    if value:
        os.environ[_DEBUG_ENV] = "1"
    return value


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Run a command body: CptbenchError -> 'error: ...' on stderr and its exit code."""
    try:
        yield
    except CptbenchError as exc:
        if os.environ.get(_DEBUG_ENV):
            raise
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
