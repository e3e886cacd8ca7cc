"""Results as data: the documented examples of docs/results.md run as written (against records
committed to the facts leaderboard) and print what the page shows; `cptbench report --format
csv|json`; `import cptbench` stays free of pandas and torch."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cptbench
from cptbench.cli.main import app

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "results.md"
SUBMISSION = REPO / "leaderboards" / "facts" / "submissions" / "facts-naive-s0.json"


def documented_examples() -> list[tuple[str, str]]:
    """Each ```python block of the page with the ```text block that follows it (what it prints)."""
    text = PAGE.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```\s*```text\n(.*?)```", text, flags=re.S)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("index", range(2))
def test_documented_example_prints_what_the_page_shows(index, monkeypatch):
    examples = documented_examples()
    assert len(examples) == 2
    code, shown = examples[index]
    monkeypatch.chdir(REPO)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"{PAGE}:example {index + 1}", "exec"), {"__name__": "__docs__"})
    assert lines(printed.getvalue()) == lines(shown)


def test_load_run_matches_the_record_and_its_report():
    from cptbench.core.uncertainty import summarize

    run = cptbench.load_run(SUBMISSION)
    record = run.record
    assert list(run.matrix.index) == ["base", *record.stages]
    assert list(run.matrix.columns) == [t.name for t in record.tasks]
    assert run.matrix.to_numpy().tolist() == record.matrix
    summary = summarize([record])
    for t, row in enumerate(summary.cells):
        for j, interval in enumerate(row):
            low, high = run.low.iat[t, j], run.high.iat[t, j]
            assert (math.isnan(low) and math.isnan(high)) if interval is None else (low, high) == (interval.low, interval.high)
    metrics = run.metrics.set_index("metric")
    for key, value in record.metrics.items():
        stored = metrics.at[key, "value"]
        assert math.isnan(stored) if value is None else stored == pytest.approx(value, rel=1e-12)
    assert run.tasks.at["reuters_bpb", "direction"] == "lower" and run.tasks["stage"].isna().sum() == 1
    assert len(run.cells()) == run.matrix.size


def test_a_run_directory_reads_like_its_submission(tmp_path):
    payload = json.loads(SUBMISSION.read_text())
    del payload["submission"]
    (tmp_path / "record.json").write_text(json.dumps(payload))
    from_dir, from_submission = cptbench.load_run(tmp_path), cptbench.load_run(SUBMISSION)
    assert from_dir.matrix.equals(from_submission.matrix) and from_dir.metrics.equals(from_submission.metrics)


def test_report_csv_is_the_documented_one():
    result = CliRunner().invoke(app, ["report", str(SUBMISSION.relative_to(REPO)), "--format", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = re.search(r"--format csv\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S).group(1)
    assert lines(result.output)[: len(lines(shown))] == lines(shown)
    run = cptbench.load_run(SUBMISSION)
    assert len(lines(result.output)) == 1 + run.matrix.size


def test_report_json_holds_matrix_intervals_and_metrics():
    result = CliRunner().invoke(app, ["report", str(SUBMISSION), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    run = cptbench.load_run(SUBMISSION)
    assert data["rows"] == ["base", *run.record.stages] and data["matrix"] == run.record.matrix
    assert len(data["low"]) == len(data["high"]) == len(data["matrix"])
    forgetting = next(m for m in data["metrics"] if m["metric"] == "forgetting_max[logprob]")
    assert forgetting["low"] < forgetting["value"] < forgetting["high"] and forgetting["higher_is_better"] is False
    assert next(m for m in data["metrics"] if m["metric"] == "final[bpb]")["value"] is None  # undefined: null


def test_report_formats_for_scripts_take_one_run():
    result = CliRunner().invoke(app, ["report", f"{SUBMISSION},{SUBMISSION}", "--format", "json"])
    assert result.exit_code == 2 and "one run only" in result.output
    result = CliRunner().invoke(app, ["report", str(SUBMISSION), "--format", "xml"])
    assert result.exit_code == 2 and "--format xml" in result.output


def test_import_cptbench_stays_light():
    code = "import cptbench, sys; cptbench.__version__; print(' '.join(sys.modules))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & {"pandas", "torch", "transformers", "numpy"}
    assert "load_run" in dir(cptbench)


def test_markdown_report_reads_a_submission_file_like_a_run(tmp_path):
    """The help's example names a submission file: every format reads it (a record plus its header)."""
    result = CliRunner().invoke(app, ["report", str(SUBMISSION), "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "heatmap.png").stat().st_size > 0
    assert "| forgetting_max | logprob | 6.9741 |" in (tmp_path / "report.md").read_text()
    seeds = ",".join(str(SUBMISSION).replace("-s0", f"-s{s}") for s in range(3))
    result = CliRunner().invoke(app, ["report", seeds], catch_exceptions=False)
    assert result.exit_code == 0 and "seeds 0, 1, 2" in result.output, result.output
