"""What each method costs against naive: training seconds (from the run's record) and the peak
resident memory of the whole `cptbench run` process (its rusage), one run per method.

Usage (from the repository root, offline):
    CPTBENCH_DATA_DIR=../shared/data python benchmarks/method_costs.py --model smollm2-135m-instruct \\
        --budget smoke --methods naive,l2,ewc,distill,merge --out /tmp/method-costs

Runs one method at a time (never two model jobs at once). A finished run is not run again: its
measured peak memory is kept beside it in costs.json. Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from cptbench.core.records import load_record
from cptbench.methods.grammar import split_methods


def measure(spec: str, model: str, budget: str, suite: str, out: Path) -> dict:
    run_dir = out / spec.replace(":", "-").replace("=", "").replace(",", "-")
    saved = run_dir / "costs.json"
    if saved.is_file():
        return json.loads(saved.read_text())
    command = [sys.executable, "-m", "cptbench", "run", "--suite", suite, "--budget", budget, "--model", model,
               "--method", spec, "--out", str(run_dir)]
    with open(out / f"{run_dir.name}.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{spec}: cptbench run failed; see {out / f'{run_dir.name}.log'}")
    record = load_record(run_dir)
    costs = {"spec": spec, "train_seconds": record.timings["train_seconds"], "total_seconds": record.timings["total_seconds"],
             "tokens": sum(stage.tokens for stage in record.training), "peak_rss_gib": usage.ru_maxrss / 2**20}
    saved.write_text(json.dumps(costs))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--budget", default="smoke")
    parser.add_argument("--suite", default="crossdomain")
    parser.add_argument("--methods", default="naive,l2,ewc,distill,merge", help="as sweep --methods: naive,ewc:lambda=100,gamma=0.9")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    specs = split_methods(args.methods)
    rows = [measure(spec, args.model, args.budget, args.suite, args.out) for spec in specs]
    naive = next((r for r in rows if r["spec"] == "naive"), rows[0])
    print(f"| method | train (s) | × {naive['spec']} | tokens | run wall (s) | peak RSS (GiB) | Δ RSS (GiB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r['spec']}` | {r['train_seconds']:.1f} | {r['train_seconds'] / naive['train_seconds']:.2f} | {r['tokens']:,} "
              f"| {r['total_seconds']:.0f} | {r['peak_rss_gib']:.2f} | {r['peak_rss_gib'] - naive['peak_rss_gib']:+.2f} |")


if __name__ == "__main__":
    main()
