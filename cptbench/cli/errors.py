"""Turn CptbenchError into one line on stderr and an exit code (traceback only with --debug)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import typer
from typer._click import exceptions as click_errors  # typer's own copy of click (typer >= 0.25)
from typer.core import TyperGroup

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


class OneLineErrors(TyperGroup):
    """The app's group: a mistake on the command line (a value out of range, an unknown option, a
    missing argument) is one ``error:`` line and exit code 2, like every other bad input, instead
    of click's usage box. Help, ``--help`` and a command's own exit codes are unchanged."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:  # a bare group: its help, as before
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) is not None else ""
            print(f"error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
