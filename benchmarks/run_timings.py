"""Print the wall time and throughput of a finished run as a markdown row for docs/benchmarks.md.

Usage: python benchmarks/run_timings.py RUN_DIR [RUN_DIR ...]
Every number comes from the run's own record.json (written by `cptbench run`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cptbench.publish.report import load_record

HEADER = (
    "| suite | budget | model | device | total wall (s) | train (s) | eval (s) "
    "| train tokens | train tok/s | eval tok/s |\n|---|---|---|---|---|---|---|---|---|---|"
)


def row(run_dir: Path) -> str:
    record = load_record(run_dir)
    t = record.timings
    tokens = sum(stage.tokens for stage in record.training)
    return (
        f"| {record.suite.name} | {record.suite.budget} | {record.model.reference} | {record.environment['device']} "
        f"| {t['total_seconds']:.0f} | {t['train_seconds']:.0f} | {t['eval_seconds']:.0f} "
        f"| {tokens:,} | {t['train_tokens_per_second']:.1f} | {t['eval_tokens_per_second']:.1f} |"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(HEADER)
    for argument in sys.argv[1:]:
        print(row(Path(argument)))
