"""Bring your own domains: a suite over local JSONL files runs end to end on the tiny model, and
reading a corpus through ``source: hf`` gives the same documents and matrix as the built-in source."""

import json
import runpy
import shutil
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.config.suites import load_suite
from cptbench.data import crossner
from cptbench.data.sources import load_texts

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "own_suite"


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_example_suite_runs_reports_and_gets_its_own_leaderboard(tmp_path, data_dir, tiny_model_path):
    folder = tmp_path / "my-suite"  # the suite folder moved elsewhere: its relative paths still resolve
    folder.mkdir()
    shutil.copy(EXAMPLE / "suite.yaml", folder / "suite.yaml")
    runpy.run_path(str(EXAMPLE / "make_corpora.py"), run_name="make")["main"](folder / "corpora")
    suite_file = folder / "suite.yaml"

    checked = invoke("suites", "check", suite_file, "--budget", "smoke")
    assert "politics_probe" in checked and "ok:" in checked

    run_dir = tmp_path / "run"
    invoke("run", "--suite", suite_file, "--budget", "smoke", "--model", "tiny-llama", "--out", run_dir)
    record = json.loads((run_dir / "record.json").read_text())
    assert record["stages"] == ["politics", "science", "music"]
    assert [t["name"] for t in record["tasks"]][-1] == "music_probe"
    assert set(record["data"]) == {f"hf/json:corpora/{d}_{s}.jsonl/{s if s != 'probes' else 'test'}"
                                   for d in ("politics", "science", "music") for s in ("train", "test", "probes")}
    assert all(row[3]["items"] == 4 and 0 <= row[3]["correct"] <= 4 for row in record["details"])  # smoke: 4 probes

    invoke("report", run_dir)
    assert (run_dir / "report.md").is_file()

    boards = tmp_path / "leaderboards"
    refused = CliRunner().invoke(app, ["submit", str(run_dir), "--name", "mine", "--leaderboards", str(boards)])
    assert refused.exit_code == 2 and "--suite FILE" in refused.output
    invoke("submit", run_dir, "--name", "mine", "--leaderboards", boards, "--suite", suite_file)
    board = boards / f"own-example-{load_suite(str(suite_file)).content_hash[:12]}"
    assert (board / "submissions" / "mine.json").is_file()
    assert "mine" in invoke("leaderboard", suite_file, "--leaderboards", boards)

    # the board pins the data the suite file points at: other bytes under the same names are refused
    probes = folder / "corpora" / "music_probes.jsonl"
    probes.write_text(probes.read_text().replace('"gold": 0', '"gold": 1', 1))
    stale = CliRunner().invoke(app, ["leaderboard", str(suite_file), "--leaderboards", str(boards)])
    assert stale.exit_code == 2 and "music_probes.jsonl" in stale.output


def test_a_domain_read_through_hf_equals_crossner(tmp_path, data_dir, tiny_model_path):
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    for split in ("train", "test"):
        docs = crossner.documents("politics", split, 4)
        (corpora / f"{split}.jsonl").write_text("".join(json.dumps({"text": d.text}) + "\n" for d in docs))
    suites = {}
    for name, stage, task in (
        ("builtin", "{source: crossner, domain: politics, splits: [train]}", "{source: crossner, domain: politics, split: test}"),
        ("hf", "{source: hf, dataset_path: json, dataset_kwargs: {data_files: {train: corpora/train.jsonl}}, splits: [train], text: text}",
         "{source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}, split: test, text: text}"),
    ):
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(f"""\
            name: same-{name}
            version: 1
            stages:
              - {{name: politics, data: {stage}}}
            tasks:
              - {{name: politics_bpb, kind: bpb, stage: politics, data: {task}}}
            budgets:
              smoke: {{train_tokens: 2000, eval_docs: 6}}
            default_budget: smoke
            """))
        suites[name] = load_suite(str(path))
    for part in ("stages", "tasks"):
        builtin, hf = (getattr(suites[n], part)[0].data for n in ("builtin", "hf"))
        assert load_texts(builtin, 4).texts == load_texts(hf, 4).texts

    matrices = {}
    for name, suite in suites.items():
        out = tmp_path / f"run-{name}"
        invoke("run", "--suite", suite.path, "--model", "tiny-llama", "--out", out)
        record = json.loads((out / "record.json").read_text())
        matrices[name] = record["matrix"]
        assert record["training"][0]["tokens"] > 0
    assert matrices["hf"] == matrices["builtin"]  # the same documents in, the same numbers out, to the bit
