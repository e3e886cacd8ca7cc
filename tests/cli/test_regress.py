"""The regression gate on real runs: a rerun of the baseline's configuration passes, a much higher
learning rate (which forces forgetting) fails, tolerances are honoured, bad inputs exit 2."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.records import load_verified_record
from cptbench.core.resources import recipes_dir, tasks_dir
from cptbench.publish.regress import Check, Status, compare
from cptbench.publish.submissions import load_baseline

REPO = Path(__file__).resolve().parents[2]
COMMITTED_BASELINE = REPO / "leaderboards" / "crossdomain" / "baselines" / "tiny-llama-smoke.json"
HOT_LEARNING_RATE = "1.0e-1"  # 1000x the reference recipe: measured to force forgetting on the tiny model
FORGETTING = ("forgetting_max[bpb]", "bwt[bpb]", "general_retention[bpb]")


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir, tiny_model_path) -> dict[str, Path]:
    """The smoke suite on the tiny model, its baseline, and the same suite with a hot recipe."""
    root = tmp_path_factory.mktemp("regress")
    base = root / "base"
    result = invoke("run", "--budget", "smoke", "--model", "tiny-llama", "--out", str(base))
    assert result.exit_code == 0, result.output
    recipe = (recipes_dir() / "cpt.yaml").read_text()
    assert "learning_rate: 1.0e-4" in recipe
    (root / "hot.yaml").write_text(recipe.replace("learning_rate: 1.0e-4", f"learning_rate: {HOT_LEARNING_RATE}"))
    suite = (tasks_dir() / "suites" / "crossdomain.yaml").read_text()
    assert suite.count("recipe: cpt,") == 5
    (root / "hot-suite.yaml").write_text(suite.replace("recipe: cpt,", f"recipe: {root / 'hot.yaml'},"))
    worse = root / "worse"
    args = ["run", "--suite", str(root / "hot-suite.yaml"), "--budget", "smoke", "--model", "tiny-llama", "--out", str(worse)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    baseline = root / "baseline.json"
    result = invoke("baseline", "create", str(base), "--out", str(baseline))
    assert result.exit_code == 0, result.output
    for seed in (1, 2):
        result = invoke("run", "--budget", "smoke", "--model", "tiny-llama", "--seed", str(seed), "--out", str(root / f"s{seed}"))
        assert result.exit_code == 0, result.output
    seeds_baseline = root / "baseline-2-seeds.json"
    result = invoke("baseline", "create", str(base), str(root / "s1"), "--out", str(seeds_baseline))
    assert result.exit_code == 0 and "seeds 0, 1" in result.output, result.output
    return {"base": base, "worse": worse, "baseline": baseline, "root": root, "seeds_baseline": seeds_baseline}


def test_rerun_of_the_committed_baseline_configuration_passes(runs):
    """The dogfood gate of .ci/run: the same command that made the committed baseline passes it, cells too."""
    result = invoke("regress", str(runs["base"]), "--baseline", str(COMMITTED_BASELINE), "--cells")
    assert result.exit_code == 0, result.output
    assert "cptbench regress: PASS" in result.output and "REGRESSION" not in result.output


def test_own_baseline_passes_with_zero_tolerance(runs):
    args = ["regress", str(runs["base"]), "--baseline", str(runs["baseline"]), "--cells", "--tol", "cells=0"]
    zero = [arg for key in json.loads(runs["baseline"].read_text())["metrics"] for arg in ("--tol", f"{key}=0")]
    result = invoke(*args, *zero)
    assert result.exit_code == 0, result.output


def test_worse_run_fails_the_gate(runs):
    result = invoke("regress", str(runs["worse"]), "--baseline", str(runs["baseline"]))
    assert result.exit_code == 1, result.output
    rows = {line.split(" ")[1]: line for line in result.output.splitlines() if line.startswith("| ") and "[" in line}
    for key in FORGETTING:
        assert rows[key].endswith("| **REGRESSION** |"), rows[key]
    assert rows["final[bpb]"].endswith("| better |")  # lower BPB on the domains is better: not a failure
    assert "recipes differ from the baseline's" in result.output


def test_auto_tolerance_passes_another_seed_and_fails_a_worse_recipe(runs):
    """``--tol auto``: a third seed of the baseline's configuration is within what noise explains;
    the hot recipe's forgetting is not."""
    again = invoke("regress", str(runs["root"] / "s2"), "--baseline", str(runs["seeds_baseline"]), "--tol", "auto", "--cells")
    assert again.exit_code == 0, again.output
    assert "--tol auto: z · sqrt" in again.output and "one seed" not in again.output
    worse = invoke("regress", str(runs["worse"]), "--baseline", str(runs["seeds_baseline"]), "--tol", "auto")
    assert worse.exit_code == 1, worse.output
    rows = {line.split(" ")[1]: line for line in worse.output.splitlines() if line.startswith("| ") and "[" in line}
    assert rows["forgetting_max[bpb]"].endswith("| **REGRESSION** |"), rows["forgetting_max[bpb]"]


def test_auto_tolerances_are_the_noise_of_the_difference(runs):
    """The auto tolerance of a metric is z sqrt(se^2 + sd^2): it grows with the seeds' spread and
    with the number of checks (Bonferroni)."""
    from cptbench.publish.regress import auto_tolerances

    record = load_verified_record(runs["root"] / "s2")
    one = auto_tolerances(record, load_baseline(runs["baseline"]), checks=28)
    two = auto_tolerances(record, load_baseline(runs["seeds_baseline"]), checks=28)
    many = auto_tolerances(record, load_baseline(runs["seeds_baseline"]), checks=100)
    assert "one seed" in " ".join(one[1]) and "one seed" not in " ".join(two[1])
    key = "final[bpb]"
    assert 0 < one[0][key] < two[0][key] < many[0][key]
    assert "z = 2.91" in two[1][0] and "z = 3.29" in many[1][0]


def test_auto_tolerance_needs_a_baseline_with_per_item_values(runs):
    result = invoke("regress", str(runs["base"]), "--baseline", str(COMMITTED_BASELINE), "--tol", "auto")
    assert result.exit_code == 2 and "holds no per-item values" in result.output, result.output


def test_direction_awareness(runs):
    """Measured numbers: the hot run forgets (forgetting up, BWT down) yet ends with lower BPB."""
    base, worse = load_verified_record(runs["base"]), load_verified_record(runs["worse"])
    report = compare(worse, load_baseline(runs["baseline"]))
    checks = {c.key: c for c in report.checks}
    assert worse.metrics["forgetting_max[bpb]"] > base.metrics["forgetting_max[bpb]"]
    assert not checks["forgetting_max[bpb]"].higher_is_better and checks["forgetting_max[bpb]"].delta > 0
    assert checks["bwt[bpb]"].higher_is_better and checks["bwt[bpb]"].delta < 0
    assert checks["final[bpb]"].delta < 0 and checks["final[bpb]"].status is Status.BETTER
    # The other way round, the base run is better at forgetting and worse at final BPB.
    swapped = runs["root"] / "worse-baseline.json"
    assert invoke("baseline", "create", str(runs["worse"]), "--out", str(swapped)).exit_code == 0
    reverse = {c.key: c for c in compare(base, load_baseline(swapped)).checks}
    assert reverse["forgetting_max[bpb]"].status is Status.BETTER
    assert reverse["final[bpb]"].status is Status.REGRESSION


def test_tolerances_are_honoured(runs):
    report = compare(load_verified_record(runs["worse"]), load_baseline(runs["baseline"]))
    failing = {c.key: abs(c.delta) for c in report.regressions if c.delta is not None}
    assert set(FORGETTING) <= set(failing)
    wide = [arg for key, delta in failing.items() for arg in ("--tol", f"{key}={delta + 1e-3}")]
    result = invoke("regress", str(runs["worse"]), "--baseline", str(runs["baseline"]), *wide)
    assert result.exit_code == 0, result.output
    tight = [*wide, "--tol", f"bwt[bpb]={failing['bwt[bpb]'] - 1e-3}"]
    result = invoke("regress", str(runs["worse"]), "--baseline", str(runs["baseline"]), *tight)
    assert result.exit_code == 1 and "FAIL: 1 regression(s) (bwt[bpb])" in result.output, result.output


def test_chosen_cells_and_step_summary(runs, tmp_path):
    report = compare(load_verified_record(runs["worse"]), load_baseline(runs["baseline"]))
    wide = [arg for c in report.regressions for arg in ("--tol", f"{c.key}={abs(c.delta) + 1e-3}")]
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    args = ["regress", str(runs["worse"]), "--baseline", str(runs["baseline"]), "--cell", "reuters_bpb@ai", *wide]
    result = invoke(*args, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1, result.output  # Reuters BPB after the last stage rose by more than 0.005
    assert "FAIL: 1 regression(s) (reuters_bpb@ai)" in result.output
    written = summary.read_text()
    assert written.startswith("earlier step\n") and "| reuters_bpb@ai ↓ |" in written
    result = invoke(*args, "--tol", "cells=100")
    assert result.exit_code == 0, result.output


def test_check_status_rules():
    assert Check("m", 1.0, 1.1, 0.1, higher_is_better=False).status is Status.PASS  # exactly the tolerance
    assert Check("m", 1.0, 1.11, 0.1, higher_is_better=False).status is Status.REGRESSION
    assert Check("m", 1.0, 1.11, 0.1, higher_is_better=True).status is Status.BETTER
    assert Check("m", None, None, 0.0, higher_is_better=True).status is Status.PASS
    assert Check("m", 1.0, None, 0.0, higher_is_better=True).status is Status.REGRESSION


def edit_baseline(runs, tmp_path, change) -> Path:
    payload = json.loads(runs["baseline"].read_text())
    change(payload)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(payload))
    return path


BAD_INPUTS = {
    "tolerance without value": (lambda r, t: ["--tol", "bwt"], "--tol bwt"),
    "tolerance not a number": (lambda r, t: ["--tol", "bwt=abc"], "--tol bwt=abc"),
    "negative tolerance": (lambda r, t: ["--tol", "bwt=-1"], "--tol bwt=-1"),
    "unknown metric": (lambda r, t: ["--tol", "colour=1"], "--tol colour"),
    "unknown cell": (lambda r, t: ["--cell", "nope@ai"], "--cell nope@ai"),
    "missing baseline": (lambda r, t: ["--baseline", str(t / "none.json")], "file not found"),
    "baseline unknown field": (
        lambda r, t: ["--baseline", str(edit_baseline(r, t, lambda b: b.update(colour=1)))], "colour: unknown field"),
    "baseline NaN metric": (
        lambda r, t: ["--baseline", str(edit_baseline(r, t, lambda b: b["metrics"].update({"bwt[bpb]": float("nan")})))],
        "metrics.bwt[bpb]"),
    "other budget": (
        lambda r, t: ["--baseline", str(edit_baseline(r, t, lambda b: b["suite"].update(budget="small")))],
        "not comparable: suite.budget smoke vs baseline small"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_exits_2(runs, tmp_path, name):
    extra, fragment = BAD_INPUTS[name]
    result = invoke("regress", str(runs["base"]), "--baseline", str(runs["baseline"]), *extra(runs, tmp_path))
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output


def test_tampered_record_exits_2(runs, tmp_path):
    record = json.loads((runs["base"] / "record.json").read_text())
    record["metrics"]["forgetting_max[bpb]"] = -1.0  # claims less forgetting than the matrix shows
    (tmp_path / "record.json").write_text(json.dumps(record))
    result = invoke("regress", str(tmp_path), "--baseline", str(runs["baseline"]))
    assert result.exit_code == 2 and "forgetting_max[bpb]" in result.output


def test_baseline_create_never_overwrites_silently(runs, tmp_path):
    out = tmp_path / "b.json"
    assert invoke("baseline", "create", str(runs["base"]), "--out", str(out), "--no-matrix").exit_code == 0
    assert json.loads(out.read_text())["matrix"] is None
    again = invoke("baseline", "create", str(runs["worse"]), "--out", str(out))
    assert again.exit_code == 2 and "--force" in again.output
    assert json.loads(out.read_text())["matrix"] is None
    cells = invoke("regress", str(runs["base"]), "--baseline", str(out), "--cells")
    assert cells.exit_code == 2 and "holds no matrix" in cells.output
    assert invoke("baseline", "create", str(runs["worse"]), "--out", str(out), "--force").exit_code == 0
    assert load_baseline(out).created_from.recipes != load_baseline(runs["baseline"]).created_from.recipes
