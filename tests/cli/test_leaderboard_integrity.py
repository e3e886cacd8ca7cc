"""Leaderboard integrity: a submission must agree with itself (cells with the details they came
from, model name with its size, one seed, distinct ids) and with its shipped suite (what the budget
takes, the pinned data). Each case tampers a copy of a committed submission as an adversarial user
would, keeping everything else consistent (metrics recomputed from a rewritten matrix), and
`leaderboard --check` must refuse it in one line naming the file and the field."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app

REPO = Path(__file__).resolve().parents[2]
CROSSDOMAIN = ("crossdomain", "smollm2-135m-naive-s0")
MEDEXPLAIN = ("medexplain", "smollm2-135m-semantic-s0")
EXAMPLE_TRAINER = ("crossdomain", "smollm2-135m-example-trainer-s0")
SMALL_TO_SMOKE = {"budget": "smoke", "train_tokens": 1024, "eval_docs": 2, "probe_items": 4}


def recompute_metrics(record: dict) -> None:
    """What a careful forger does after rewriting the matrix: drop the per-item samples (optional,
    and they would contradict it) and store the metrics of the new matrix."""
    record["samples"] = None
    from cptbench.core import metrics
    from cptbench.core.records import RunRecord, matrix_from_record, migrate_record

    parsed = RunRecord.model_validate(migrate_record({k: v for k, v in record.items() if k != "submission"}))
    record["metrics"] = metrics.as_dict(metrics.compute_all(matrix_from_record(parsed)))


def set_cell(row: int, column: int, value: float):
    def change(record):
        record["matrix"][row][column] = value
        recompute_metrics(record)
    return change


def keep_samples(change):
    """``change``, leaving the per-item samples as they were (a forger who forgot them)."""
    def kept(record):
        samples = record["samples"]
        change(record)
        record["samples"] = samples
    return kept


def scale_bpb_cells(record):
    for row in record["matrix"]:
        for j, task in enumerate(record["tasks"]):
            if task["metric"] == "bpb":
                row[j] *= 0.9
    recompute_metrics(record)


def fewer_cloze_items(record):
    """7 cloze items instead of the budget's 8, consistently: every row, its value and the metrics."""
    for values, details in zip(record["matrix"], record["details"]):
        details[6]["items"] = 7
        values[6] = details[6]["correct"] / 7
    recompute_metrics(record)


def over_token_cap(record):
    stage = record["training"][0]
    stage.update(tokens=7000, corpus_tokens=7000)
    stage["sources"]["politics"]["tokens"] = 7000


def fewer_sft_examples(record):
    stage = record["training"][1]
    stage["documents"] = 20
    stage["sources"]["answer_sft"]["documents"] = 20


def drop_key(*path):
    def change(record):
        *parents, last = path
        for key in parents:
            record = record[key]
        record.pop(last)
    return change


def update(*path, **values):
    def change(record):
        for key in path:
            record = record[key]
        record.update(values)
    return change


def reproduced_mark(record):
    """The mark ``verify --reproduce`` writes, every row, on a record it could not have trained."""
    record["submission"]["verified"] = {"level": "reproduced", "cptbench_version": "0.1.0", "created": "2026-11-23T00:00:00+00:00",
                                        "rows": list(range(len(record["matrix"]))),
                                        "cells": len(record["matrix"]) * len(record["tasks"]), "tolerance": 1e-5,
                                        "max_difference": 0.0}


def update_detail(row: int, column: int, **values):
    def change(record):
        record["details"][row][column].update(values)
    return change


def add_recipe(record):
    record["recipes"]["cpt\tx"] = {"kind": "cpt"}


def scale_detail(row: int, column: int, key: str, factor: float):
    def change(record):
        record["details"][row][column][key] *= factor
    return change


# name -> (board, change, fragment of the error line)
CASES = {
    # 1. cells against their details
    "bpb cell rewritten with its metrics": (CROSSDOMAIN, set_cell(1, 0, 0.9), "matrix[1][politics_bpb]"),
    "bpb cell rewritten, samples kept": (CROSSDOMAIN, keep_samples(set_cell(1, 0, 0.9)), "samples[1][politics_bpb]: its items give"),
    "every bpb cell scaled with its metrics": (CROSSDOMAIN, scale_bpb_cells, "matrix[0][politics_bpb]"),
    "cloze cell rewritten with its metrics": (CROSSDOMAIN, set_cell(5, 10, 1.0), "matrix[5][ai_cloze]"),
    "lm-eval cell rewritten with its metrics": (CROSSDOMAIN, set_cell(5, 11, 1.2), "matrix[5][reuters_dev_lmeval]"),
    "nll detail rewritten": (CROSSDOMAIN, scale_detail(2, 1, "nll", 0.9), "matrix[2][science_bpb]"),
    "perplexity detail rewritten": (CROSSDOMAIN, update_detail(0, 3, perplexity=10.0), "details[0][literature_bpb].perplexity"),
    "decision cell rewritten with its metrics": (MEDEXPLAIN, set_cell(2, 1, 0.875), "matrix[2][decision_accuracy]"),
    # 2. what the budget takes
    "small run relabelled smoke": (CROSSDOMAIN, update("suite", **SMALL_TO_SMOKE), "documents 6"),
    "one row scored fewer documents": (CROSSDOMAIN, update_detail(3, 0, documents=5), "details[3][politics_bpb].documents 5"),
    "fewer cloze items in every row": (CROSSDOMAIN, fewer_cloze_items, "details[0][politics_cloze].items 7"),
    "training over the token cap": (CROSSDOMAIN, over_token_cap, "training[politics]"),
    "training documents unlike their sources": (CROSSDOMAIN, update("training", 1, documents=40), "training[science].documents 40"),
    "replay claimed, none trained": (CROSSDOMAIN, update("method", replay_fraction=0.25), "training[science]"),
    "fewer sft examples": (MEDEXPLAIN, fewer_sft_examples, "training[answer_sft].documents 20"),
    # 3. the pinned data
    "changed data hash": (CROSSDOMAIN, update("data", **{"crossner/ai/test": "f" * 64}), "data.crossner/ai/test"),
    "dropped data hash": (CROSSDOMAIN, drop_key("data", "crossner/ai/train"), "data.crossner/ai/train: missing"),
    "extra data hash": (CROSSDOMAIN, update("data", **{"crossner/ai/extra": "0" * 64}), "data.crossner/ai/extra"),
    "changed pubmedqa hash": (MEDEXPLAIN, update("data", **{"pubmedqa/test": "0" * 64}), "data.pubmedqa/test"),
    # 4. identity fields
    "smollm2 alias with the tiny model's size": (CROSSDOMAIN, update("model", parameters=90_624), "model.parameters 90,624"),
    "smollm2 hub id with the tiny model's size": (
        CROSSDOMAIN, update("model", reference="HuggingFaceTB/SmolLM2-135M-Instruct", source="hub", parameters=90_624),
        "model.parameters 90,624"),
    "smollm2 local directory with the tiny model's size": (
        CROSSDOMAIN, update("model", reference="/models/SmolLM2-135M-Instruct", source="local", parameters=90_624),
        "model.parameters 90,624"),
    "unknown alias": (CROSSDOMAIN, update("model", reference="gpt-9"), "model.reference 'gpt-9'"),
    "unknown model source": (CROSSDOMAIN, update("model", source="cloud"), "model.source 'cloud'"),
    "seed unlike the determinism seed": (CROSSDOMAIN, update(seed=7), "seed 7"),
    "determinism seed dropped": (CROSSDOMAIN, drop_key("environment", "determinism", "seed"), "environment.determinism.seed"),
    # 5. control characters in shown text
    "newline in model.reference": (CROSSDOMAIN, update("model", reference="smollm2-135m-instruct\n| 1 | fake |"), "model.reference"),
    "carriage return in a package version": (CROSSDOMAIN, update("environment", "packages", torch="2.13.0\r"), "environment.packages.torch"),
    "tab in a recipe name": (MEDEXPLAIN, add_recipe, "recipes"),
    "escape in the model source": (MEDEXPLAIN, update("model", source="alias\x1b[2J"), "model.source"),
    "8-bit escape in the model source": (MEDEXPLAIN, update("model", source="alias\x9b2J"), "model.source"),
    # 6. a verified mark that verify did not write
    "verified rows it never re-evaluated": (CROSSDOMAIN, update("submission", "verified", rows=[0], cells=12), "submission.verified: rows [0]"),
    "verified within a loose tolerance": (CROSSDOMAIN, update("submission", "verified", tolerance=1.0), "submission.verified.tolerance"),
    "reproduced, on the rows verify re-evaluated": (CROSSDOMAIN, update("submission", "verified", level="reproduced"),
                                                    "submission.verified: rows [0, 5] and 24 cells are not what verify --reproduce"),
    "a level verify has not": (CROSSDOMAIN, update("submission", "verified", level="retrained"), "submission.verified.level"),
    "reproduced, though trained elsewhere": (EXAMPLE_TRAINER, reproduced_mark, "trained outside cptbench"),
}


def board_copy(tmp_path: Path, suite: str, name: str) -> tuple[Path, Path, dict]:
    """A leaderboards folder holding one committed submission of ``suite``; its path and content."""
    root = tmp_path / "boards"
    (root / suite / "submissions").mkdir(parents=True)
    path = root / suite / "submissions" / f"{name}.json"
    shutil.copy(REPO / "leaderboards" / suite / "submissions" / f"{name}.json", path)
    return root, path, json.loads(path.read_text())


def check(root: Path, suite: str):
    return CliRunner().invoke(app, ["leaderboard", suite, "--leaderboards", str(root), "--check"])


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_submission_is_refused(tmp_path, data_dir, case):
    (suite, name), change, fragment = CASES[case]
    root, path, record = board_copy(tmp_path, suite, name)
    change(record)
    path.write_text(json.dumps(record, indent=2))
    result = check(root, suite)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result.output)
    assert f"{name}.json" in line and fragment in line, line
    assert "\n" not in line and "\r" not in line and "\x1b" not in line


@pytest.mark.parametrize("suite, name", [CROSSDOMAIN, MEDEXPLAIN])
def test_untampered_copy_passes(tmp_path, suite, name):
    """The control for the cases above: the same copy, unchanged, is only stale (no pages), not refused."""
    root, _, _ = board_copy(tmp_path, suite, name)
    result = check(root, suite)
    assert result.exit_code == 1 and not error_lines(result.output), result.output


def test_committed_submissions_pass_every_check():
    from cptbench.config.suites import available_suites
    from cptbench.publish.leaderboard import load_board

    boards = [s for s in available_suites() if (REPO / "leaderboards" / s / "submissions").is_dir()]
    assert boards
    for suite in boards:
        load_board(REPO / "leaderboards", suite)  # raises SubmissionError on any failed check


def test_ids_differing_only_in_case_are_refused(tmp_path):
    suite, name = CROSSDOMAIN
    root, path, record = board_copy(tmp_path, suite, name)
    twin = name.upper()
    record["submission"]["name"] = twin
    (path.parent / f"{twin}.json").write_text(json.dumps(record, indent=2))
    result = check(root, suite)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result.output)
    assert f"{twin}.json" in line and f"{name}.json" in line and "case" in line, line


def test_pinned_data_hashes_are_what_the_data_gives(data_dir):
    """The pins the check compares with are the hashes the loaders report for the mirror's files."""
    from cptbench.config.suites import available_suites, load_suite
    from cptbench.data.sources import get_source, pinned_hashes
    from cptbench.eval.kinds.registry import KINDS

    for suite in map(load_suite, available_suites()):
        read = [(s.data, "texts") for s in suite.stages] + [(t.data, KINDS[t.kind].reads) for t in suite.tasks if t.data]
        for data, view in read:
            source = get_source(data.source)
            found = source.choices(data) if view == "choices" else source.texts(data, suite.sentences_per_doc)
            assert pinned_hashes(data) == found.data_hashes, data


def test_known_parameter_counts():
    from cptbench.core.constants import TINY_MODEL
    from cptbench.models.resolve import KNOWN_PARAMETERS, build_tiny_model

    model, _ = build_tiny_model()
    assert KNOWN_PARAMETERS[TINY_MODEL] == sum(p.numel() for p in model.parameters())
    committed = json.loads((REPO / "leaderboards/crossdomain/submissions/smollm2-135m-naive-s0.json").read_text())
    assert KNOWN_PARAMETERS[committed["model"]["reference"]] == committed["model"]["parameters"]
