"""Every mistake in an input: exit code 2, one line naming the file and field (or option), nothing written."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.resources import tasks_dir

SUITE = """\
name: mini
version: 1
stages:
  - {name: politics, recipe: RECIPE, data: {source: crossner, domain: politics, splits: [train]}}
tasks:
  - {name: politics_bpb, kind: bpb, stage: politics, data: {source: crossner, domain: politics, split: test}}
  - {name: news_bpb, kind: bpb, stage: general, data: {source: crossner, domain: politics, split: dev}}
budgets:
  smoke: {train_tokens: 200, eval_docs: 1}
default_budget: smoke
"""
RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\n"
NEWS_TASK = "kind: bpb, stage: general, data: {source: crossner, domain: politics, split: dev}"
LMEVAL_TASK = (f"kind: lmeval, stage: general, data: {{source: crossner, domain: politics, split: dev}}, "
               f"lmeval: {{task: no_such_task, include: {tasks_dir() / 'lmeval'}, metric: bits_per_byte, direction: lower}}")


@pytest.fixture
def world(tmp_path, data_dir, monkeypatch, tiny_model_path):
    """A small private data mirror, a suite and a recipe that all work, to be broken one at a time."""
    mirror = tmp_path / "data" / "crossner" / "politics"
    mirror.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        lines = (data_dir / "crossner" / "politics" / f"{split}.txt").read_text().splitlines()[:400]
        (mirror / f"{split}.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    (tmp_path / "suite.yaml").write_text(SUITE.replace("RECIPE", str(tmp_path / "recipe.yaml")))
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def run(world, *extra):
    out = world / "out"
    args = ["run", "--suite", str(world / "suite.yaml"), "--model", "tiny-llama", "--out", str(out), *extra]
    return CliRunner().invoke(app, args), out


def suite_case(old, new):
    return lambda w: edit(w / "suite.yaml", old, new)


def recipe_case(old, new):
    return lambda w: edit(w / "recipe.yaml", old, new)


def data_case(split, content: bytes):
    return lambda w: (w / "data" / "crossner" / "politics" / f"{split}.txt").write_bytes(content)


RUN_CASES = {
    "malformed YAML": (suite_case("name: mini", "name: [mini"), ["suite.yaml", "malformed YAML"]),
    "unknown stage field": (suite_case("recipe:", "colour: red, recipe:"), ["suite.yaml", "stages.0.colour", "unknown field"]),
    "unknown suite field": (suite_case("version: 1", "version: 1\nauthor: me"), ["suite.yaml", "author"]),
    "stage list empty": (suite_case("stages:\n  - {name: politics, recipe:", "stages: []\nx:\n  - {name: politics, recipe:"), ["suite.yaml", "stages"]),
    "duplicate task names": (suite_case("name: news_bpb", "name: politics_bpb"), ["suite.yaml", "tasks.1.name", "duplicate"]),
    "negative budget": (suite_case("train_tokens: 200", "train_tokens: -5"), ["suite.yaml", "budgets.smoke.train_tokens"]),
    "zero version": (suite_case("version: 1", "version: 0"), ["suite.yaml", "version"]),
    "task of unknown stage": (suite_case("stage: politics,", "stage: sports,"), ["suite.yaml", "tasks.0.stage"]),
    "unknown split name": (suite_case("split: test", "split: validation"), ["suite.yaml", "tasks.0.data.split"]),
    "unknown data source": (suite_case("source: crossner, domain: politics, splits", "source: imagenet, domain: politics, splits"), ["suite.yaml", "stages.0.data.source"]),
    "default budget missing": (suite_case("default_budget: smoke", "default_budget: large"), ["suite.yaml", "default_budget"]),
    "zero sentences per doc": (suite_case("version: 1", "version: 1\nsentences_per_doc: 0"), ["suite.yaml", "sentences_per_doc"]),
    "unknown domain": (suite_case("domain: politics, splits", "domain: cooking, splits"), ["cooking"]),
    "recipe unknown field": (recipe_case("max_length: 64", "max_length: 64\nlr: 0.1"), ["recipe.yaml", "lr", "unknown field"]),
    "recipe negative learning rate": (recipe_case("1.0e-3", "-1.0e-3"), ["recipe.yaml", "learning_rate"]),
    "recipe infinite learning rate": (recipe_case("1.0e-3", ".inf"), ["recipe.yaml", "learning_rate", "finite"]),
    "recipe infinite weight decay": (recipe_case("max_length: 64", "max_length: 64\nweight_decay: .inf"), ["recipe.yaml", "weight_decay", "finite"]),
    "recipe infinite LoRA alpha": (recipe_case("max_length: 64", "max_length: 64\nlora: {alpha: .inf}"), ["recipe.yaml", "lora.alpha", "finite"]),
    "recipe missing": (lambda w: (w / "recipe.yaml").unlink(), ["recipe.yaml", "not found"]),
    "recipe of another kind": (recipe_case("kind: cpt", "kind: grpo"), ["recipe.yaml", "kind: recipe is for 'grpo' stages"]),
    "recipe unknown kind": (recipe_case("kind: cpt", "kind: dpo"), ["recipe.yaml", "kind: 'dpo'"]),
    "WSD decay too long": (recipe_case("max_length: 64", "max_length: 64\nlr_scheduler_type: warmup_stable_decay\ndecay_ratio: 0.95"), ["recipe.yaml", "decay_ratio"]),
    "explanation without metric": (suite_case("kind: bpb, stage: general, data: {source: crossner, domain: politics, split: dev}", "kind: explanation, stage: general, data: {source: pubmedqa, split: test}"), ["suite.yaml", "tasks.1", "metric: required"]),
    "unknown lm-eval task": (suite_case(NEWS_TASK, LMEVAL_TASK), ["suite.yaml", "task news_bpb: lmeval.task", "'no_such_task'"]),
    "decision task on crossner": (suite_case("kind: bpb, stage: general", "kind: decision, stage: general"), ["suite.yaml", "tasks.1", "data.source"]),
    "crossner without domain": (suite_case("source: crossner, domain: politics, splits", "source: crossner, splits"), ["suite.yaml", "stages.0.data", "domain: required"]),
    "missing split file": (lambda w: (w / "data" / "crossner" / "politics" / "dev.txt").unlink(), ["politics/dev.txt"]),
    "empty domain file": (data_case("train", b""), ["politics/train.txt"]),
    "non-UTF-8 data": (data_case("test", b"Caf\xe9\tO\n"), ["politics/test.txt", "UTF-8"]),
    "malformed data line": (data_case("test", b"one\ttwo\tthree\tfour\n"), ["politics/test.txt:1"]),
}


@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_bad_run_input(world, name):
    breaker, expected = RUN_CASES[name]
    breaker(world)
    result, out = run(world)
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1, result.output
    for fragment in expected:
        assert fragment in error[0], (fragment, error[0])
    assert not out.exists()


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (["--budget", "huge"], "--budget huge"),
        (["--model", "not-a-model"], "--model not-a-model"),
        (["--seed", "abc"], "--seed"),
        (["--seed", "-1"], "--seed -1: expected an integer from 0 to 4294967295"),
        (["--seed", str(2**70)], f"--seed {2**70}: expected an integer from 0 to 4294967295"),
        (["--replay-extra"], "--replay-extra: applies with --replay only"),
        pytest.param(["--out", "/proc/cptbench-run"], "--out /proc/cptbench-run: /proc is not writable",
                     marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc here")),
        (["--method", "sgd"], "--method sgd: not a registered method"),
        (["--order", "sideways"], "--order 'sideways'"),
        (["--order", "random:x"], "--order 'random:x'"),
        (["--replay", "1.5"], "--replay 1.5"),
        (["--method", "joint", "--replay", "0.25"], "--replay 0.25: an alias of --method replay:fraction=0.25; it cannot join --method joint"),
        (["--recipe", "cpt"], "--recipe cpt: expected NAME=PATH"),
        (["--recipe", "sft=trainers/sft.yaml"], "--recipe sft=...: the suite's stages use recipes"),
        (["--backend", "tgi"], "--backend tgi: not one of hf, vllm"),
        (["--backend-option", "dtype=float32"], "--backend-option dtype: the hf backend takes no options"),
        (["--backend", "vllm", "--backend-option", "tp=2"], "--backend-option tp: not a vLLM engine setting"),
        (["--backend", "vllm", "--backend-option", "gpu_memory_utilization=lots"], "gpu_memory_utilization=lots: expected float"),
        (["--backend", "vllm", "--backend-option", "dtype"], "--backend-option dtype: expected KEY=VALUE"),
    ],
)
def test_bad_options(world, extra, fragment):
    result, out = run(world, *extra)  # a later --model overrides run()'s own
    assert result.exit_code == 2 and fragment in result.output, result.output
    assert not out.exists()


def test_out_is_a_file(world):
    out = world / "out"
    out.write_text("notes\n")
    result, _ = run(world)
    assert result.exit_code == 2 and f"--out {out}: {out} is a file, not a folder" in result.output, result.output
    assert out.read_text() == "notes\n"


def test_model_directory_without_weights(world):
    empty = world / "empty-model"
    empty.mkdir()
    result = CliRunner().invoke(app, ["run", "--suite", str(world / "suite.yaml"), "--model", str(empty), "--out", str(world / "out")])
    assert result.exit_code == 2 and "no config.json" in result.output
    assert not (world / "out").exists()


@pytest.fixture(scope="module")
def good_record(tmp_path_factory, data_dir, tiny_model_path):
    out = tmp_path_factory.mktemp("good") / "run"
    result = CliRunner().invoke(app, ["run", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "record.json").read_text())


def drop_cell(record):
    record["matrix"][2].pop()


RECORD_CASES = {
    "missing matrix cell": (drop_cell, "matrix"),
    "newer schema version": (lambda r: r.update(schema_version=3), "schema_version 3 is newer"),
    "missing field": (lambda r: r.pop("suite"), "suite: Field required"),
    "unknown field": (lambda r: r.update(colour="red"), "colour: unknown field"),
    "NaN cell": (lambda r: r["matrix"][1].__setitem__(0, float("nan")), "not finite"),
    "tampered metric": (lambda r: r["metrics"].update({"bwt[bpb]": 9.0}), "bwt[bpb]"),
}


@pytest.mark.parametrize("name", sorted(RECORD_CASES))
def test_bad_record(good_record, tmp_path, name):
    record = json.loads(json.dumps(good_record))
    change, fragment = RECORD_CASES[name]
    change(record)
    (tmp_path / "record.json").write_text(json.dumps(record))  # NaN is written as the token NaN
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "record.json" in result.output and fragment in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_malformed_record_json(tmp_path):
    (tmp_path / "record.json").write_text('{"schema_version": 1, "matrix": [')
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "malformed JSON" in result.output
