"""Crash injection for the resume tests: SIGKILL this process at a named point.

``CPTBENCH_FAULT=<point>`` makes the process kill itself (no clean-up, like ``kill -9``) when it
reaches that point. Points: ``train:<stage>:step:<n>`` (after optimizer step n of a stage),
``eval:<row>:<task>`` (after a cell's file is written), ``before-train:<stage>`` (between stages),
``after-stage:<stage>`` (after a method's after-stage hook, before the stage counts as finished).
Unset in normal use; it exists so that tests can crash a run at an exact place.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "CPTBENCH_FAULT"


def crash_point(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
