"""The GPU check's comparisons and its markdown summary (benchmarks/gpu_check.py). Standard library only."""

from __future__ import annotations

import math

# fp32 on CUDA against fp32 on the CPU: the same arithmetic in another summation order. A
# continuous cell (bits-per-byte, log-probs) may differ by 1e-4 of its size (at least of 1.0);
# an accuracy cell must be equal (one flipped near-tie shows as a disagreement, with its values).
FP32_TOLERANCE = 1e-4
DISCRETE = ("accuracy",)


def _rows(record: dict) -> list[str]:
    return ["base", *(f"after {s}" for s in record["stages"])]


def compare(reference: dict, other: dict, tolerance: float | None) -> dict:
    """Every cell of ``other``'s matrix against ``reference``'s. ``tolerance`` None: measured only;
    0: every cell equal; else continuous cells within ``tolerance`` x max(1, |value|), accuracy equal."""
    tasks = reference["tasks"]
    cells, worst_abs, worst_rel, flips = [], 0.0, 0.0, 0
    for row, (ra, rb) in zip(_rows(reference), zip(reference["matrix"], other["matrix"])):
        for task, a, b in zip(tasks, ra, rb):
            discrete = task["metric"] in DISCRETE
            if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
                diff = 0.0 if a == b else math.inf
            else:
                diff = abs(a - b)
            if discrete:
                flips += diff != 0
            else:
                worst_abs = max(worst_abs, diff)
                worst_rel = max(worst_rel, diff / max(abs(a), 1e-12) if a else diff)
            if tolerance is None:
                within = None
            elif tolerance == 0 or discrete:
                within = diff == 0
            else:
                within = diff <= tolerance * max(1.0, abs(a))
            cells.append({"row": row, "task": task["name"], "metric": task["metric"], "reference": a, "value": b,
                          "abs_diff": diff, "within": within})
    training = [(s["stage"], s["tokens"], s["steps"]) for s in reference["training"]]
    training_other = [(s["stage"], s["tokens"], s["steps"]) for s in other["training"]]
    return {"cells": len(cells), "max_abs_diff": worst_abs, "max_rel_diff": worst_rel, "accuracy_flips": flips,
            "tolerance": tolerance, "all_within": None if tolerance is None else all(c["within"] for c in cells),
            "same_training": training == training_other, "training": training_other,
            "devices": [reference["environment"]["device"], other["environment"]["device"]],
            "dtypes": [reference["backend"].get("dtype"), other["backend"].get("dtype")], "detail": cells}


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.2e}"
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(summary: dict) -> str:
    lines = [f"# GPU check: {summary['device']}", "",
             f"`{summary['command']}` — {summary['started']}, {summary['elapsed_seconds']:.0f} s of a "
             f"{summary['deadline_seconds']:.0f} s deadline; sizes: {'tiny (CPU run)' if summary['tiny'] else 'full'}.", "",
             f"- packages: {summary['install']['line']}", f"- data: {summary['data']['line']}",
             *(["- tiny CPU run: the measurements after the agreement ran two at a time; their figures show that each "
                "path works, not how fast it is"] if summary["tiny"] else []), "",
             "| step | status | seconds | note |", "|---|---|---|---|"]
    for name, step in summary["steps"].items():
        lines.append(f"| {name} | {step['status']} | {_fmt(step.get('seconds'), 1)} | {step.get('reason') or step['what']} |")
    lines += _agreement(summary.get("agreement", {})) + _throughput(summary.get("throughput"))
    lines += _training(summary.get("training", {})) + _accelerate(summary.get("accelerate", {}))
    lines += ["", "## Not done", ""] + ([f"- {line}" for line in summary["not_done"]] or ["- nothing: every step finished"])
    return "\n".join(lines) + "\n"


def _agreement(agreement: dict) -> list[str]:
    lines = ["", "## (a) Agreement: the same run on the CPU and on the device", ""]
    if not agreement:
        return lines + ["not measured (see the steps above)"]
    lines.append(f"Suite `{agreement['suite']}`, budget smoke, model tiny-llama, seed 0. Tolerance: "
                 f"{agreement['tolerance_line']}.")
    lines += ["", "| comparison | devices | dtypes | cells | max abs diff | max rel diff | accuracy flips | same tokens and steps | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, result in agreement["comparisons"].items():
        verdict = {True: "within tolerance", False: "**outside tolerance**", None: "measured"}[result["all_within"]]
        lines.append(f"| {name} | {' / '.join(result['devices'])} | {' / '.join(map(str, result['dtypes']))} | {result['cells']} | "
                     f"{_fmt(result['max_abs_diff'])} | {_fmt(result['max_rel_diff'])} | {result['accuracy_flips']} | "
                     f"{'yes' if result['same_training'] else '**no**'} | {verdict} |")
    return lines


def _throughput(result: dict | None) -> list[str]:
    lines = ["", "## (b) Evaluation throughput: rolling bits-per-byte", ""]
    if not result:
        return lines + ["not measured (see the steps above)"]
    lines += [f"{result['model']}, {result['dtype']}, {result['documents']} documents ({result['origin']}), "
              f"{result['tokens']:,} byte tokens; median of {result['repeats']} alternating calls after a warm-up.", "",
              "| side | tokens/s | seconds | BPB |", "|---|---|---|---|"]
    for side, row in result["sides"].items():
        lines.append(f"| {side} | {row['tokens_per_second']:,.0f} | {row['seconds']:.3f} | {row['bpb']:.6f} |")
    lines += ["", f"Best cptbench setting / best lm-eval setting: **{result['ratio_best']:.2f}x**; the BPB values differ by "
              f"{_fmt(result['bpb_max_relative_difference'])} relative."]
    return lines


def _training(results: dict) -> list[str]:
    lines = ["", "## (c) Training: cptbench's cpt trainer (TRL SFTTrainer, packed)", ""]
    if not results:
        return lines + ["not measured (see the steps above)"]
    lines += ["| model | weights in matmuls | dtype | attention | seq x batch | steps | tokens/s (steady) | MFU | peak memory (GiB) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for size, r in results.items():
        mfu = f"{100 * r['mfu']:.1f} %" if r.get("mfu") is not None else f"— (no peak figure for {r['device']})"
        lines.append(f"| {size} | {r['parameters_matmul'] / 1e6:,.1f} M | {r['dtype']} | {r['attention']} | {r['seq']} x {r['batch']} | "
                     f"{r['steps']} | {_fmt(r['tokens_per_second_steady'], 0)} | {mfu} | {_fmt(r.get('max_memory_gib'), 1)} |")
    lines += ["", "Steady tokens/s: the optimizer steps after the first two, from the trainer's step callback (CUDA "
              "synchronized); MFU = tokens/s x (6 N + 12 L H S) / the card's dense bf16 peak (PaLM, appendix B)."]
    return lines


def _accelerate(results: dict) -> list[str]:
    lines = ["", "## (d) Accelerate: one stage with --processes 1 --accelerate-config", ""]
    if not results:
        return lines + ["not run (see the steps above)"]
    lines += ["| config | status | trained through the launcher | tokens | steps |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['status']} | {'yes' if r.get('launched') else 'no'} | {_fmt(r.get('tokens'))} | "
                     f"{_fmt(r.get('steps'))} |")
    return lines
