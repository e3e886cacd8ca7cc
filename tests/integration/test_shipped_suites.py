"""Every shipped suite's smoke budget runs end to end, through the CLI, on the documented test model
(tiny-llama: byte tokens, a 256-token context, so PubMedQA prompts do not fit it)."""

import json
import math

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.config.suites import available_suites, load_suite
from cptbench.data.sources import SOURCES


@pytest.mark.parametrize("name", available_suites())
def test_smoke_budget_runs_on_tiny_llama(name, tmp_path, data_dir, tiny_model_path):
    suite = load_suite(name)
    sources = {spec.source for spec in [s.data for s in suite.stages] + [t.data for t in suite.tasks if t.data]}
    missing = [source for source in sources if not SOURCES[source].generated and not (data_dir / source).is_dir()]
    if missing:
        pytest.skip(f"{missing[0]} mirror not found in {data_dir}")
    out = tmp_path / name
    result = CliRunner().invoke(app, ["run", "--suite", name, "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "record.json").read_text())
    assert record["stages"] == [stage.name for stage in suite.stages]
    assert len(record["matrix"]) == len(suite.stages) + 1  # base, then after every stage
    assert all(len(row) == len(suite.tasks) and all(math.isfinite(v) for v in row) for row in record["matrix"])
