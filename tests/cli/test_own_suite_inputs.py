"""A suite of one's own (``source: hf``) with each mistake a newcomer makes: ``suites check`` and
``run`` exit 2 with one line naming the suite file and the field, and ``run`` writes nothing."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app

SUITE = """\
name: mine
version: 1
stages:
  - {name: one, recipe: RECIPE, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {train: corpora/train.jsonl}}, splits: [train], text: "{title}: {body}"}}
  - {name: two, kind: sft, recipe: sft, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {train: corpora/qa.jsonl}}, splits: [train], prompt: q, completion: a}}
tasks:
  - {name: one_bpb, kind: bpb, stage: one, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}, split: test, text: body}}
  - {name: one_probe, kind: choice, stage: one, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/probes.jsonl}}, split: test, context: q, choices: opts, answer: gold}}
budgets:
  smoke: {train_tokens: 200, eval_docs: 2, probe_items: 2, train_examples: 2}
default_budget: smoke
"""
RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\n"
FILES = {
    "train.jsonl": [{"title": f"t{i}", "body": f"some text {i}"} for i in range(4)],
    "test.jsonl": [{"body": f"held out {i}"} for i in range(3)],
    "probes.jsonl": [{"q": "The sky is", "opts": ["blue", "green"], "gold": 0}, {"q": "Grass is", "opts": ["blue", "green"], "gold": "green"}],
    "qa.jsonl": [{"q": "Why?", "a": "Because."}, {"q": "How?", "a": "Slowly."}],
}


@pytest.fixture
def world(tmp_path, tiny_model_path):
    folder = tmp_path / "suite"
    (folder / "corpora").mkdir(parents=True)
    for name, records in FILES.items():
        write(folder / "corpora" / name, records)
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    (folder / "suite.yaml").write_text(SUITE.replace("RECIPE", str(tmp_path / "recipe.yaml")))
    return folder


def write(path: Path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def edit(old, new):
    def breaker(folder: Path) -> None:
        text = (folder / "suite.yaml").read_text()
        assert old in text, old
        (folder / "suite.yaml").write_text(text.replace(old, new))
    return breaker


def data(name, records):
    return lambda folder: write(folder / "corpora" / name, records)


CASES = {
    "missing file": (edit("corpora/test.jsonl", "corpora/nope.jsonl"), ["tasks.0.data.dataset_kwargs.data_files", "corpora/nope.jsonl not found"]),
    "unknown builder": (edit("{source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test", "{source: hf, dataset_path: jsonl, dataset_kwargs: {data_files: {test: corpora/test"), ["tasks.0.data.dataset_path", "'jsonl' could not be loaded"]),
    "hub id offline": (edit("dataset_path: json, dataset_kwargs: {data_files: {train: corpora/qa", "dataset_path: someone/qa, dataset_kwargs: {data_files: {train: corpora/qa"), ["stages.1.data.dataset_path", "'someone/qa'", "network"]),
    "unknown split": (edit("split: test, text", "split: validation, text"), ["tasks.0.data.split", "validation"]),
    "field the template names is missing": (edit('text: "{title}: {body}"', 'text: "{title}: {text}"'), ["stages.0.data.text", "record 0", "no field 'text'"]),
    "field name missing": (edit("split: test, text: body", "split: test, text: content"), ["tasks.0.data.text", "no field 'content'"]),
    "empty split": (lambda f: (f / "corpora" / "test.jsonl").write_text(""), ["tasks.0.data", "split 'test' holds no records"]),
    "non-string field": (data("test.jsonl", [{"body": ["a", "list"]}]), ["tasks.0.data.text", "field 'body' is list, not a string"]),
    "answer outside the choices": (data("probes.jsonl", [{"q": "x", "opts": ["a", "b"], "gold": 2}]), ["tasks.1.data", "answer 2", "neither an index below 2"]),
    "answer text not a choice": (data("probes.jsonl", [{"q": "x", "opts": ["a", "b"], "gold": "c"}]), ["tasks.1.data", "answer 'c'"]),
    "choices not a list": (data("probes.jsonl", [{"q": "x", "opts": "a b", "gold": 0}]), ["tasks.1.data.choices", "list of at least two strings"]),
    "hf without dataset_path": (edit("source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}", "source: hf, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}"), ["tasks.0.data", "dataset_path: required"]),
    "hf field on a built-in source": (edit("source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}, split: test, text: body", "source: crossner, domain: politics, split: test, text: body"), ["tasks.0.data", "text: only for source 'hf'"]),
    "bpb without text": (edit("split: test, text: body", "split: test"), ["tasks.0", "data.text: required for kind 'bpb'"]),
    "sft stage without completion": (edit("prompt: q, completion: a", "prompt: q"), ["stages.1", "data.completion: required for a sft stage"]),
    "template with an index": (edit('text: "{title}: {body}"', 'text: "{title[0]}: {body}"'), ["stages.0.data.text", "must name a field"]),
}


def one_error(result) -> str:
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_the_unbroken_suite_checks(world):
    result = CliRunner().invoke(app, ["suites", "check", str(world / "suite.yaml")])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output and "one_probe" in result.output


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_own_suite(world, tmp_path, name):
    breaker, expected = CASES[name]
    breaker(world)
    checked = CliRunner().invoke(app, ["suites", "check", str(world / "suite.yaml")])
    assert checked.exit_code == 2, checked.output
    out = tmp_path / "out"
    ran = CliRunner().invoke(app, ["run", "--suite", str(world / "suite.yaml"), "--model", "tiny-llama", "--out", str(out)])
    assert ran.exit_code == 2, ran.output
    for error in (one_error(checked), one_error(ran)):
        assert "suite.yaml" in error or "corpora" in error, error
        for fragment in expected:
            assert fragment in error, (fragment, error)
    assert not out.exists()
