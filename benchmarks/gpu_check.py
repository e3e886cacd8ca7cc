"""The GPU check: agreement with the CPU, evaluation and training throughput, and the Accelerate
launch paths, on one GPU in a few minutes, with no network and no model weights.

    ./scripts/gpu-check.sh --out DIR [--device auto|cuda|cpu] [--tiny] [--data DIR] [--deadline 480]

(the script installs the carried wheels and calls this with the same arguments). Writes
``DIR/gpu-check.json`` and ``DIR/gpu-check.md``. Every measurement is a process of its own under a
timeout (benchmarks/gpu_steps.py, or ``python -m cptbench run``); a failed or timed-out one is a line
in the summary and the check goes on; nothing starts once the global deadline is near.

- (a) agreement: the crossdomain smoke run of the tiny model on the CPU (fp32) and on the device in
  fp32 (``CPTBENCH_CUDA_DTYPE=float32``): every cell within ``gpu_report.FP32_TOLERANCE``; the same
  run in bf16 (cptbench's CUDA default): how far each cell moves. With ``--device cpu`` both sides
  run on the CPU and must be equal.
- (b) rolling BPB tokens/s of cptbench's HF backend and of lm-eval's HFLM on the same documents.
- (c) tokens/s and MFU of the cpt trainer for the SmolLM2-135M architecture and a ~1B Llama.
- (d) one stage with ``--processes 1 --accelerate-config ddp`` and ``fsdp``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import gpu_report
import gpu_suites

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESERVE = 5.0  # seconds kept for writing the summary
MIN_STEP = 15.0  # a step is not started with less than this before the deadline


@dataclass
class Step:
    name: str
    what: str
    argv: list[str]
    timeout: float
    env: dict[str, str] = field(default_factory=dict)
    result: Path | None = None  # the JSON the step leaves (a result, or a run record)
    skip: str | None = None  # why it does not run here


class Runner:
    """Starts steps under their timeouts and the global deadline; records each one's outcome."""

    def __init__(self, out: Path, deadline: float):
        self.out, self.started, self.deadline = out, time.monotonic(), deadline
        self.steps: dict[str, dict] = {}
        (out / "logs").mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - (time.monotonic() - self.started) - RESERVE

    def start(self, step: Step):
        entry = self.steps[step.name] = {"what": step.what, "status": "skipped", "reason": step.skip,
                                         "command": shlex.join(step.argv)}
        if step.skip is None and self.left() < MIN_STEP:
            entry["reason"] = f"global deadline: {max(self.left(), 0):.0f} s left"
        if entry["reason"]:
            return None
        log = (self.out / "logs" / f"{step.name}.log").open("wb")
        env = {**os.environ, **step.env}
        process = subprocess.Popen(step.argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE, start_new_session=True)
        return process, time.monotonic(), log

    def finish(self, step: Step, started) -> dict | None:
        """Wait for a started step (within its timeout and the deadline); its result JSON or None."""
        entry = self.steps[step.name]
        if started is None:
            return None
        process, began, log = started
        limit = max(min(step.timeout - (time.monotonic() - began), self.left()), 0.0)
        try:
            code = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the launcher and its workers too
            process.wait()
            code = None
        log.close()
        entry["seconds"] = round(time.monotonic() - began, 1)
        if code is None:
            entry.update(status="timeout", reason=f"killed after {entry['seconds']:.0f} s (step limit {step.timeout:.0f} s, "
                                                  f"or the global deadline)")
            return None
        result = _read(step.result) if step.result else {}
        if code != 0 or result is None:
            entry.update(status="failed", reason=f"exit code {code}: {_last_line(self.out / 'logs' / f'{step.name}.log')}")
            return None
        entry["status"] = "ok"
        return result

    def run(self, step: Step) -> dict | None:
        return self.finish(step, self.start(step))


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error:" in line]
    return (errors or lines or ["(no output)"])[-1][:300]


def run_command(name: str, suite: Path | str, work: Path, env: dict, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cptbench", "run", "--suite", str(suite), "--budget", "smoke", "--model", "tiny-llama",
            "--seed", "0", "--out", str(work / "runs" / name), "--force", *extra]


def cpu_accelerate_config(name: str, folder: Path) -> Path:
    """The shipped config ``name`` for a CPU without GPUs (what ``--device cpu`` can launch)."""
    text = (REPO / "trainers" / "accelerate" / f"{name}.yaml").read_text(encoding="utf-8")
    text = text.replace("use_cpu: false", "use_cpu: true").replace("mixed_precision: bf16", "mixed_precision: 'no'")
    text = text.replace("distributed_type: MULTI_GPU", "distributed_type: MULTI_CPU").replace("gpu_ids: all\n", "")
    path = folder / f"{name}-cpu.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def plan(args, data: Path | None, work: Path) -> dict[str, Step]:
    """Every step of this check, in order."""
    cuda = args.device == "cuda"
    steps_py = [sys.executable, str(HERE / "gpu_steps.py")]
    results = args.out / "steps"
    data_env = {"CPTBENCH_DATA_DIR": str(data)} if data else {}
    suites = work / "suites"
    if data is None:
        suite, one_stage = gpu_suites.synthetic_suite(suites / "synthetic"), gpu_suites.synthetic_one_stage(suites / "synthetic")
    else:
        suite = gpu_suites.crossdomain_subset(suites, 2, gpu_suites.TINY_TASKS, "crossdomain-gpucheck") if args.tiny else "crossdomain"
        one_stage = gpu_suites.crossdomain_subset(suites, 1, ("politics_bpb",), "crossdomain-gpucheck-one")
    cpu_env = {**data_env, "CUDA_VISIBLE_DEVICES": ""} | ({} if cuda else {"OMP_NUM_THREADS": "1"})
    device_env = {**data_env, "CPTBENCH_CUDA_DTYPE": "float32"} | ({} if cuda else {"OMP_NUM_THREADS": "1"})
    tiny = ["--tiny"] if args.tiny else []
    sizes = (("tiny", 128, 2, 6), ("tiny-wide", 128, 2, 6)) if args.tiny else (("smollm2-135m", 2048, 8, 20), ("llama-1b", 2048, 4, 16))
    throughput = ["--docs", "8", "--repeats", "1"] if args.tiny else ["--docs", "512", "--repeats", "2", "--batch-tokens", "1024",
                                                                       "16384", "--lmeval-batch", "8", "64"]
    steps = [Step("env", "versions, device, tiny model built from its config", steps_py + ["env", "--result", str(results / "env.json")],
                  120, data_env, results / "env.json"),
             Step("agree-cpu", "the smoke run on the CPU, fp32", run_command("agree-cpu", suite, work, cpu_env), 420, cpu_env,
                  work / "runs" / "agree-cpu" / "record.json"),
             Step("agree-fp32", f"the smoke run on {args.device}, fp32", run_command("agree-fp32", suite, work, device_env), 300,
                  device_env, work / "runs" / "agree-fp32" / "record.json"),
             Step("agree-bf16", "the smoke run on CUDA, bf16 (cptbench's default there)", run_command("agree-bf16", suite, work, data_env),
                  300, data_env, work / "runs" / "agree-bf16" / "record.json",
                  skip=None if cuda else "no CUDA: cptbench runs fp32 on a CPU"),
             Step("throughput", "rolling BPB tokens/s: cptbench hf and lm-eval HFLM",
                  steps_py + ["throughput", "--result", str(results / "throughput.json"), *tiny, *throughput]
                  + (["--data", str(data)] if data else []), 240, data_env, results / "throughput.json")]
    for size, seq, batch, count in sizes:
        steps.append(Step(f"train-{size}", f"cpt trainer, {size}, {seq} x {batch}, {count} steps",
                          steps_py + ["train", "--result", str(results / f"train-{size}.json"), "--size", size, "--seq", str(seq),
                                      "--batch", str(batch), "--steps", str(count), "--work", str(work)], 240, {},
                          results / f"train-{size}.json"))
    for name in ("ddp", "fsdp"):
        config = name if cuda else str(cpu_accelerate_config(name, suites))
        steps.append(Step(f"accelerate-{name}", f"one stage, --processes 1 --accelerate-config {name}",
                          run_command(f"accelerate-{name}", one_stage, work, data_env, "--processes", "1", "--accelerate-config", config),
                          240, data_env, work / "runs" / f"accelerate-{name}" / "record.json"))
    return {step.name: step for step in steps}


def execute(runner: Runner, steps: dict[str, Step], together: int) -> dict[str, dict | None]:
    """Run the steps: the CPU side of the agreement beside the device sides (it does not touch the
    device), every timed measurement after it has finished, ``together`` at a time (1 on a GPU,
    where they are timed; 2 for the tiny CPU run, where only their working is checked)."""
    results = {"env": runner.run(steps["env"])}
    background = runner.start(steps["agree-cpu"])
    for name in ("agree-fp32", "agree-bf16"):
        results[name] = runner.run(steps[name])
    results["agree-cpu"] = runner.finish(steps["agree-cpu"], background)
    rest = [n for n in steps if n not in results]
    for first in range(0, len(rest), together):
        group = rest[first:first + together]
        started = [runner.start(steps[name]) for name in group]
        for name, handle in zip(group, started):
            results[name] = runner.finish(steps[name], handle)
    return results


def agreement(results: dict, device: str, suite: str) -> dict:
    cpu = results.get("agree-cpu")
    if cpu is None:
        return {}
    tolerance = gpu_report.FP32_TOLERANCE if device == "cuda" else 0.0
    comparisons = {}
    if results.get("agree-fp32"):
        comparisons[f"{device} fp32 vs cpu fp32"] = gpu_report.compare(cpu, results["agree-fp32"], tolerance)
    if results.get("agree-bf16"):
        comparisons["cuda bf16 vs cpu fp32"] = gpu_report.compare(cpu, results["agree-bf16"], None)
    line = (f"fp32 on CUDA vs the CPU: continuous cells within {gpu_report.FP32_TOLERANCE:g} x max(1, |value|), accuracy "
            "cells equal; bf16: measured, no pass/fail" if device == "cuda" else "CPU against CPU: every cell equal")
    return {"suite": suite, "tolerance_line": line, "comparisons": comparisons} if comparisons else {}


def accelerate_results(results: dict, steps: dict[str, Step], runner: Runner) -> dict:
    found = {}
    for name in ("ddp", "fsdp"):
        record, step = results.get(f"accelerate-{name}"), steps[f"accelerate-{name}"]
        run_dir = step.result.parent
        launched = any((run_dir / "logs").glob("train-*.log")) if (run_dir / "logs").is_dir() else False
        training = (record or {}).get("training") or [{}]
        found[name] = {"status": runner.steps[step.name]["status"], "launched": launched,
                       "tokens": training[0].get("tokens"), "steps": training[0].get("steps")}
    return found


def not_done(runner: Runner, summary: dict) -> list[str]:
    lines = [f"{name}: {entry['status']} — {entry['reason']}" for name, entry in runner.steps.items() if entry["status"] != "ok"]
    for name, result in summary.get("agreement", {}).get("comparisons", {}).items():
        if result["all_within"] is False:
            bad = [c for c in result["detail"] if c["within"] is False][:5]
            lines.append(f"agreement {name}: {sum(1 for c in result['detail'] if c['within'] is False)} cells outside tolerance, e.g. "
                         + "; ".join(f"{c['row']}/{c['task']} {c['reference']} vs {c['value']}" for c in bad))
    for name, result in summary.get("accelerate", {}).items():
        if result["status"] == "ok" and not result["launched"]:
            lines.append(f"accelerate {name}: the run finished but its stage did not go through the launcher")
    if summary["data"]["mode"] == "synthetic":
        lines.append("the CrossNER data was not found: the agreement ran a synthetic suite instead of crossdomain")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu-check.json, gpu-check.md, logs/ and steps/")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the default with --device cpu)")
    parser.add_argument("--data", help="a folder holding crossner/ (default: CPTBENCH_DATA_DIR, ../shared/data, .gpu-wheels/data)")
    parser.add_argument("--deadline", type=float, default=480.0, help="seconds for the whole check (default 480)")
    parser.add_argument("--work", type=Path, help="scratch folder for runs and models (default: OUT/../gpu-check-work)")
    parser.add_argument("--install-report", type=Path, help="what scripts/gpu-check.sh installed (JSON)")
    parser.add_argument("--command", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if args.device == "auto":
        args.device = "cuda" if _has_cuda() else "cpu"
    args.tiny = args.tiny or args.device == "cpu"
    args.out = args.out.resolve()
    work = (args.work or args.out.parent / f"{args.out.name}-work").resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    runner = Runner(args.out, args.deadline)
    data = gpu_suites.find_data(args.data)
    steps = plan(args, data, work)
    results = execute(runner, steps, 1 if args.device == "cuda" else 2)
    env = results.get("env") or {}
    suite = steps["agree-cpu"].argv[steps["agree-cpu"].argv.index("--suite") + 1]
    summary = {
        "check": "cptbench gpu-check", "version": 1, "command": args.command or shlex.join(sys.argv), "started": started,
        "device_requested": args.device, "device": env.get("device", args.device), "tiny": args.tiny,
        "deadline_seconds": args.deadline, "environment": env, "install": install_summary(args.install_report),
        "data": {"mode": "crossner" if data else "synthetic", "dir": str(data) if data else None,
                 "line": f"CrossNER from {data}" if data else "no CrossNER found: a synthetic suite (benchmarks/gpu_suites.py)"},
        "steps": runner.steps, "agreement": agreement(results, args.device, Path(suite).stem),
        "throughput": results.get("throughput"),
        "training": {n.removeprefix("train-"): r for n, r in results.items() if n.startswith("train-") and r},
        "accelerate": accelerate_results(results, steps, runner),
    }
    summary["not_done"] = not_done(runner, summary)
    summary["elapsed_seconds"] = time.monotonic() - runner.started
    (args.out / "gpu-check.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    (args.out / "gpu-check.md").write_text(gpu_report.markdown(summary), encoding="utf-8")
    print(gpu_report.markdown(summary))
    return 0


def install_summary(report: Path | None) -> dict:
    found = _read(report) if report else None
    if found is None:
        return {"line": "no installation report (run through scripts/gpu-check.sh)"}
    installed, present = found.get("installed", {}), found.get("present", {})
    line = (f"{len(installed)} wheels installed ({', '.join(installed)})" if installed else "every carried package importable already: nothing installed")
    if found.get("not_installable"):
        line += f"; not installable: {', '.join(f'{k} ({v})' for k, v in found['not_installable'].items())}"
    if found.get("note"):
        line += f"; {found['note']}"
    return {**found, "line": line + f"; {len(present)} present"}


def _has_cuda() -> bool:
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"], capture_output=True, text=True,
                          timeout=120)
    return done.stdout.strip() == "True"


if __name__ == "__main__":
    sys.exit(main())
