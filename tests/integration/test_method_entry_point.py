"""A method from another installed package: a toy module defined here, registered only through
the ``cptbench.methods`` entry-point group (a dist-info folder on PYTHONPATH, as pip would leave
it), goes through ``methods``, ``sweep`` (so ``run``), ``report`` and ``submit`` with no change to
any cptbench file."""

import json
import os
import subprocess
import sys

import pytest

TOY = '''
from pydantic import Field

from cptbench.methods.base import Method, MethodParams


class EveryParams(MethodParams):
    every: int = Field(2, ge=1, le=100)


class RestartEvery(Method):
    """Every ``every``-th stage starts again from the base model (the others continue)."""

    name = "restart_every"
    summary = "every N-th stage from the base model, the others from the previous checkpoint"
    Params = EveryParams
    primary = "every"

    def start(self, stage):
        return stage.index % self.params.every == 0
'''
SUITE = """
name: toy-methods
version: 1
stages:
  - {name: politics, data: {source: crossner, domain: politics, splits: [train]}}
  - {name: science,  data: {source: crossner, domain: science,  splits: [train]}}
tasks:
  - {name: politics_bpb, kind: bpb, stage: politics, data: {source: crossner, domain: politics, split: test}}
  - {name: science_bpb,  kind: bpb, stage: science,  data: {source: crossner, domain: science,  split: test}}
budgets:
  smoke: {train_tokens: 600, eval_docs: 2}
default_budget: smoke
"""


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory, data_dir, tiny_model_path):
    site = tmp_path_factory.mktemp("site")
    (site / "toy_cptbench_method.py").write_text(TOY)
    info = site / "toy_cptbench_method-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-cptbench-method\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[cptbench.methods]\nrestart_every = toy_cptbench_method:RestartEvery\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    return env


def cptbench(env, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "cptbench", *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_a_method_from_another_package_runs_sweeps_reports_and_submits(plugin_env, tmp_path):
    listed = cptbench(plugin_env, "methods")
    assert listed.returncode == 0, listed.stderr
    assert "restart_every" in listed.stdout and "every: int = 2  [>= 1, <= 100]  (NAME:VALUE sets it)" in listed.stdout
    assert cptbench(os.environ, "methods", "restart_every").returncode == 2  # not installed: unknown there

    suite = tmp_path / "toy.yaml"
    suite.write_text(SUITE)
    out = tmp_path / "sweep"
    swept = cptbench(plugin_env, "sweep", "--suite", str(suite), "--model", "tiny-llama", "--seeds", "0",
                     "--methods", "naive,restart_every:2", "--out", str(out))
    assert swept.returncode == 0, swept.stderr
    naive_dir, toy_dir = out / "points" / "toy-methods-smoke-tiny-llama-s0", out / "points" / "toy-methods-smoke-tiny-llama-restart_every-s0"
    toy = json.loads((toy_dir / "record.json").read_text())
    naive = json.loads((naive_dir / "record.json").read_text())
    assert toy["method"] == {"name": "restart_every", "params": {"every": 2}, "order_spec": "given", "order": ["politics", "science"]}
    assert toy["matrix"][1] == naive["matrix"][1]  # stage 1 continues from the base either way
    assert toy["matrix"][2] != naive["matrix"][2]  # stage 2 restarted from the base: it never saw politics
    assert "restart_every (every=2)" in (out / "report.md").read_text()

    compared = cptbench(plugin_env, "report", str(naive_dir), str(toy_dir))
    assert compared.returncode == 0, compared.stderr
    assert "restart_every (every=2)" in compared.stdout

    boards = tmp_path / "boards"
    submitted = cptbench(plugin_env, "submit", str(toy_dir), "--name", "toy-restart", "--suite", str(suite),
                         "--leaderboards", str(boards))
    assert submitted.returncode == 0, submitted.stderr
    [board] = boards.iterdir()
    assert "restart_every (every=2)" in (board / "README.md").read_text()
