"""``source: hf``: templates, splits, hashes and streaming budgets on small local JSONL files."""

import hashlib
import json
import textwrap

import pytest

from cptbench.config.suites import load_suite
from cptbench.core.errors import CptbenchError
from cptbench.data.sources import load_choices, load_examples, load_texts


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def suite_with(tmp_path, stage_data: str, task_data: str, kind: str = "bpb", stage_kind: str = "cpt"):
    path = tmp_path / "suite" / "suite.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(f"""\
        name: mine
        version: 1
        stages:
          - name: one
            kind: {stage_kind}
            recipe: {stage_kind}
            data: {stage_data}
        tasks:
          - name: t
            kind: {kind}
            stage: one
            data: {task_data}
        budgets:
          smoke: {{train_tokens: 100, eval_docs: 2, probe_items: 2}}
        default_budget: smoke
        """))
    return load_suite(str(path))


DOCS = [{"title": f"T{i}", "body": f"body {i} " * (i + 1), "year": 1900 + i} for i in range(6)]
TEXT = '{source: hf, dataset_path: json, dataset_kwargs: {data_files: {train: data/docs.jsonl}}, splits: [train], text: "{title} ({year}): {body}"}'
EVAL = "{source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: data/docs.jsonl}}, split: test, text: body}"


def test_templates_fill_from_fields_relative_to_the_suite_file(tmp_path):
    data_file = write_jsonl(tmp_path / "suite" / "data" / "docs.jsonl", DOCS)
    suite = suite_with(tmp_path, TEXT, EVAL)
    texts = load_texts(suite.stages[0].data, 4)
    assert texts.texts == tuple(f"{d['title']} ({d['year']}): {d['body']}" for d in DOCS)
    # one local file: the record holds that file's own sha256, under a key naming dataset, file and split
    assert texts.data_hashes == {"hf/json:data/docs.jsonl/train": hashlib.sha256(data_file.read_bytes()).hexdigest()}
    assert load_texts(suite.tasks[0].data, 4).texts == tuple(d["body"] for d in DOCS)


def test_streaming_reads_only_what_the_budget_takes(tmp_path):
    write_jsonl(tmp_path / "suite" / "data" / "docs.jsonl", DOCS)
    stream = TEXT.replace("splits:", "streaming: true, splits:")
    suite = suite_with(tmp_path, stream, EVAL.replace("split:", "streaming: true, split:"))
    whole = load_texts(suite.stages[0].data, 4).texts
    assert len(whole) == len(DOCS)  # no cap: everything
    capped = load_texts(suite.stages[0].data, 4, max_bytes=40).texts
    assert capped == whole[: len(capped)] and sum(len(t.encode()) for t in capped) >= 40
    assert sum(len(t.encode()) for t in capped[:-1]) < 40  # stopped at the first document that meets the cap
    assert len(load_texts(suite.tasks[0].data, 4, max_items=2).texts) == 2
    # a non-streaming source hands out everything whatever the caps (eval spreads over all of it)
    assert len(load_texts(suite_with(tmp_path, TEXT, EVAL).stages[0].data, 4, max_bytes=40).texts) == len(DOCS)


def test_choice_items_take_an_index_or_the_text_of_a_choice(tmp_path):
    write_jsonl(tmp_path / "suite" / "data" / "docs.jsonl", DOCS)
    write_jsonl(tmp_path / "suite" / "data" / "mc.jsonl", [
        {"q": "Capital of France is", "opts": ["Paris", "Rome"], "gold": 0},
        {"q": "Two plus two is", "opts": ["three", "four"], "gold": "four"},
    ])
    task = ("{source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: data/mc.jsonl}}, split: test, "
            "context: q, choices: opts, answer: gold}")
    items = load_choices(suite_with(tmp_path, TEXT, task, kind="choice").tasks[0].data).items
    assert [(i.context, i.choices, i.answer, i.delimiter) for i in items] == [
        ("Capital of France is", ("Paris", "Rome"), 0, " "), ("Two plus two is", ("three", "four"), 1, " ")]
    templated = task.replace("choices: opts", 'choices: ["{q} yes", "{q} no"], target_delimiter: "\\n"').replace(
        "data/mc.jsonl", "data/mc2.jsonl")
    write_jsonl(tmp_path / "suite" / "data" / "mc2.jsonl", [{"q": "A", "gold": 1}])
    item = load_choices(suite_with(tmp_path, TEXT, templated, kind="choice").tasks[0].data).items[0]
    assert item.choices == ("A yes", "A no") and item.answer == 1 and item.delimiter == "\n"


def test_questions_map_prompt_completion_reference_and_label(tmp_path):
    write_jsonl(tmp_path / "suite" / "data" / "docs.jsonl", DOCS)
    write_jsonl(tmp_path / "suite" / "data" / "qa.jsonl", [{"q": "Why?", "a": "Because.", "y": "Yes"}])
    stage = ("{source: hf, dataset_path: json, dataset_kwargs: {data_files: {train: data/qa.jsonl}}, splits: [train], "
             'prompt: "Q: {q}", completion: "{a}\\nAnswer: {y}", reference: a, label: y}')
    suite = suite_with(tmp_path, stage, EVAL, stage_kind="sft")
    (question,) = load_examples(suite.stages[0].data).items
    assert (question.prompt, question.completion, question.reference, question.label) == (
        "Q: Why?", "Because.\nAnswer: Yes", "Because.", "yes")


def test_the_hash_of_a_suite_without_hf_fields_is_unchanged():
    # the hf fields are hash-neutral: published results stay filed under the same suite hash
    from pathlib import Path

    from cptbench.publish.submissions import load_submission

    repo = Path(__file__).resolve().parents[2]
    submission = next((repo / "leaderboards" / "crossdomain" / "submissions").glob("*.json"))
    assert load_submission(submission).suite.hash == load_suite("crossdomain").content_hash


def test_an_edited_file_is_read_again(tmp_path):
    path = write_jsonl(tmp_path / "suite" / "data" / "docs.jsonl", DOCS)
    suite = suite_with(tmp_path, TEXT, EVAL)
    first = load_texts(suite.tasks[0].data, 4)
    write_jsonl(path, DOCS[:2])
    second = load_texts(suite.tasks[0].data, 4)
    assert len(second.texts) == 2 and second.data_hashes != first.data_hashes


def test_a_hub_id_offline_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    write_jsonl(tmp_path / "suite" / "data" / "docs.jsonl", DOCS)
    suite = suite_with(tmp_path, TEXT.replace("dataset_path: json", "dataset_path: someone/not-here"), EVAL)
    with pytest.raises(CptbenchError, match=r"stages\.0\.data\.dataset_path: 'someone/not-here' could not be loaded"):
        load_texts(suite.stages[0].data, 4)
