"""One process against two: the same run trained with ``--processes 1`` and ``--processes 2``.

Usage:
    CPTBENCH_DATA_DIR=../shared/data python benchmarks/processes.py \
        [--suite crossdomain] [--budget smoke] [--model tiny-llama] [--repeats 3] [--out /tmp/processes-bench]

Each side is a whole ``cptbench run`` (a subprocess, ``--force`` into its own directory), sides
alternating, one warm-up each; the table gives the median wall time of the command, the median
training seconds the record reports (inside ``trainer.train()``: without starting the processes
and loading the model), the tokens trained and the largest matrix difference from the 1-process
run. The recipe is trainers/cpt_batch2.yaml: the shipped cpt recipe with a global batch of 2 (1 x 2
accumulation; the shipped batch of 1 cannot be shared by two processes) and 128-token rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from paired_timing import measure


def run(args, processes: int) -> dict:
    out = args.out / f"p{processes}"
    command = [sys.executable, "-m", "cptbench", "run", "--suite", args.suite, "--budget", args.budget, "--model", args.model,
               "--recipe", "cpt=cpt_batch2", "--processes", str(processes), "--out", str(out), "--force"]
    subprocess.run(command, check=True, capture_output=True)
    return json.loads((out / "record.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="crossdomain")
    parser.add_argument("--budget", default="smoke")
    parser.add_argument("--model", default="tiny-llama")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/processes-bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    records = {}

    def side(processes: int):
        def call():
            records.setdefault(processes, []).append(run(args, processes))
        return call

    timings = measure({1: side(1), 2: side(2)}, args.repeats)
    reference = records[1][-1]["matrix"]
    print(f"{args.suite} {args.budget}, {args.model}, {args.repeats} runs per side (median)\n")
    print("| processes | wall (s) | train in record (s) | tokens trained | max matrix diff vs 1 |\n|---|---|---|---|---|")
    for processes, (_, wall, _cpu) in timings.items():
        last = records[processes][1:]  # without the warm-up
        train = sorted(r["timings"]["train_seconds"] for r in last)[len(last) // 2]
        tokens = {sum(s["tokens"] for s in r["training"]) for r in last}
        diff = max(abs(a - b) for r in last for row, ref in zip(r["matrix"], reference) for a, b in zip(row, ref))
        print(f"| {processes} | {wall:.1f} | {train:.1f} | {', '.join(f'{t:,}' for t in sorted(tokens))} | {diff:.2g} |")


if __name__ == "__main__":
    main()
