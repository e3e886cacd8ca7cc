"""Timing shared by the benchmark scripts: alternate the sides being compared, take medians."""

from __future__ import annotations

import statistics
import time


def timed(function):
    """(value, wall seconds, this process's CPU seconds): on a shared machine the CPU time is the
    steadier of the two (though idle OpenMP threads spinning for a core still count in it)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def measure(sides: dict, repeats: int) -> dict[str, tuple[object, float, float]]:
    """(value, median wall seconds, median CPU seconds) per side, after one warm-up call each;
    calls alternate between sides, so slow phases of the machine hit all of them."""
    for call in sides.values():
        call()
    runs: dict[str, list] = {side: [] for side in sides}
    for _ in range(repeats):
        for side, call in sides.items():
            runs[side].append(timed(call))
    return {side: (r[0][0], statistics.median(t[1] for t in r), statistics.median(t[2] for t in r))
            for side, r in runs.items()}
