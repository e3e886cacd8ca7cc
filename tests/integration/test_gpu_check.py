"""The GPU check end to end on the CPU (`./scripts/gpu-check.sh --device cpu`, tiny sizes), so that
the script is known to work before a GPU is there: every step finishes, the two CPU runs of the
agreement give equal cells, the throughput figures are positive, the Accelerate stages go through
the launcher; and the wheel list stays within the 48 MiB that travel to the GPU machine."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import gpu_wheels  # noqa: E402

# Several processes per test (minutes on 2 cores): in CI's `pytest -m slow`, not the default run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def check(tmp_path_factory, data_dir, tiny_model_path):
    out = tmp_path_factory.mktemp("gpu-check") / "out"
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_SITE": str(out.parent / "site-packages")}
    done = subprocess.run([str(REPO / "scripts" / "gpu-check.sh"), "--device", "cpu", "--out", str(out), "--deadline", "400"],
                          capture_output=True, text=True, timeout=520, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "gpu-check.json").read_text()), out


def test_every_step_finishes_on_the_cpu(check):
    summary, out = check
    statuses = {name: step["status"] for name, step in summary["steps"].items()}
    assert statuses.pop("agree-bf16") == "skipped"  # bf16 is the CUDA path
    assert set(statuses.values()) == {"ok"}, summary["not_done"]
    assert summary["tiny"] and summary["device_requested"] == "cpu"
    assert summary["install"]["installed"] == {} and "nothing installed" in summary["install"]["line"]
    assert (out / "gpu-check.md").read_text().startswith("# GPU check: cpu")
    assert summary["elapsed_seconds"] < summary["deadline_seconds"]


def test_cpu_against_cpu_is_equal_cell_for_cell(check):
    summary, _ = check
    (name, result), = summary["agreement"]["comparisons"].items()
    assert name == "cpu fp32 vs cpu fp32" and result["tolerance"] == 0.0
    assert result["cells"] == 3 * 5  # base + 2 stages, 5 tasks (bpb, cloze, lm-eval columns)
    assert result["all_within"] and result["max_abs_diff"] == 0.0 and result["same_training"]


def test_throughput_and_training_figures(check):
    summary, _ = check
    sides = summary["throughput"]["sides"]
    assert {s.split(",")[0] for s in sides} == {"cptbench hf", "lm-eval HFLM"}
    assert all(row["tokens_per_second"] > 0 for row in sides.values())
    assert summary["throughput"]["bpb_max_relative_difference"] < 1e-6  # the same numbers from both tools
    assert set(summary["training"]) == {"tiny", "tiny-wide"}
    for result in summary["training"].values():
        assert result["tokens_per_second_steady"] > 0 and result["attention"] == "sdpa" and result["mfu"] is None


def test_accelerate_stages_go_through_the_launcher(check):
    summary, _ = check
    for name in ("ddp", "fsdp"):
        result = summary["accelerate"][name]
        assert result["status"] == "ok" and result["launched"], result
        assert result["tokens"] > 0 and result["steps"] > 0


def test_a_step_past_its_time_is_a_line_not_a_hang(tmp_path):
    """The runner kills a step at its timeout (its whole process group) and goes on."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from gpu_check import Runner, Step

    runner = Runner(tmp_path, deadline=60)
    sleeper = Step("sleeper", "sleeps", ["bash", "-c", "sleep 30 & sleep 30"], timeout=1)
    assert runner.run(sleeper) is None
    assert runner.steps["sleeper"]["status"] == "timeout"
    late = Runner(tmp_path, deadline=1)
    assert late.run(Step("late", "never starts", ["true"], timeout=5)) is None
    assert late.steps["late"]["status"] == "skipped" and "deadline" in late.steps["late"]["reason"]


def test_the_wheel_list_fits_in_48_mib():
    """Each listed wheel's size is recorded by gpu-wheels.sh in its manifest; without a download
    here (no registry in the test run) the list is checked for form, and a manifest, when present,
    for its total."""
    entries = gpu_wheels.read_list(REPO / "scripts" / "gpu-wheels.txt")
    names = {requirement.split("==")[0].lower() for requirement, _ in entries}
    assert {"pydantic", "pydantic-core", "trl", "datasets", "lm-eval", "rouge-score", "submitit", "pyarrow"} <= names
    assert all("==" in requirement for requirement, _ in entries)  # pinned: the sizes are those measured
    manifest = REPO / ".gpu-wheels" / "wheels" / "manifest.json"
    if manifest.is_file():
        assert json.loads(manifest.read_text())["total_mib"] <= 48
