"""The smallest difference each headline metric can resolve, measured from runs of one configuration.

Usage:
    CPTBENCH_DATA_DIR=../shared/data python benchmarks/detectable.py RUN_s0 RUN_s1 [RUN_s2 ...]

From two or more seeds of one configuration (same suite, budget, model, method) it measures, per
headline metric: the item noise of a difference between two runs (the bootstrap standard error of
seed 1 − seed 0, paired over the items both scored: ``se``) and the seed-to-seed standard
deviation (``sd``). The minimum detectable difference (two-sided 5 %, 80 % power, factor 2.80)
when comparing two configurations with k seeds each is then

    MDD(k) = 2.80 · sqrt(se² / k + 2 sd² / k)

and, for the suite's other budgets, the item part is projected with the number of items each
would score (``se`` scales with 1 / sqrt(items)); the seed part is kept as measured, a guess
(more training data per stage may change it). Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

from cptbench.config.suites import load_suite
from cptbench.core.records import load_verified_record
from cptbench.core.uncertainty import compare, minimum_detectable
from cptbench.eval.kinds.registry import get_kind
from cptbench.publish.compare import check_seed_group
from cptbench.publish.report import HEADLINE_METRICS

FAMILY_KINDS = {"bpb": ("bpb", "lmeval"), "accuracy": ("cloze", "choice", "decision")}


def items_per_task(suite, budget_name: str, family: str) -> float:
    """Mean number of items a task of ``family`` scores at a budget (loads the data, no model)."""
    budget = suite.budgets[budget_name]
    counts = [len(get_kind(t.kind).inputs(t, suite, budget).items) for t in suite.tasks
              if t.kind in FAMILY_KINDS[family] and t.data is not None]
    return statistics.mean(counts) if counts else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories: seeds of one configuration")
    parser.add_argument("--seeds-per-side", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    records = [load_verified_record(p) for p in args.runs]
    check_seed_group(records, "runs")
    if len(records) < 2:
        parser.error("give at least two seeds")
    suite = load_suite(records[0].suite.name)
    measured = records[0].suite.budget
    differences = [compare([records[0]], [r]) for r in records[1:]]
    header = ["metric", "budget", "items/task", "se (items)", "sd (seeds)", *(f"MDD, {k} seed(s) per side" for k in args.seeds_per_side)]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for family in ("bpb", "accuracy"):
        counts = {name: items_per_task(suite, name, family) for name in suite.budgets}
        for name in HEADLINE_METRICS:
            key = f"{name}[{family}]"
            ses = [d.metrics[key].interval.se for d in differences if d.metrics[key].interval]
            values = [r.metrics.get(key) for r in records]
            if not ses or None in values:
                continue
            se, sd = statistics.mean(ses), statistics.stdev(values)
            for budget, n in counts.items():
                scaled = se * math.sqrt(counts[measured] / n)
                mdd = [minimum_detectable(math.sqrt(scaled**2 / k + 2 * sd**2 / k)) for k in args.seeds_per_side]
                tag = "" if budget == measured else " (projected)"
                print(f"| {key} | {budget}{tag} | {n:.0f} | {scaled:.4f} | {sd:.4f} | " + " | ".join(f"{m:.4f}" for m in mdd) + " |")
    print(f"\nmeasured at budget {measured} from seeds {', '.join(str(r.seed) for r in records)}")


if __name__ == "__main__":
    main()
