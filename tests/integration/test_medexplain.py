"""The medexplain suite (CPT -> SFT -> GRPO on PubMedQA) on its smoke budget with the tiny model."""

import math

import pytest

from cptbench.config.suites import load_suite
from cptbench.core.records import load_verified_record
from cptbench.core.resources import recipes_dir
from cptbench.publish.submissions import check_record
from cptbench.run.runner import RunConfig, run_suite


@pytest.fixture(scope="module")
def record(tmp_path_factory, data_dir, tiny_long_model_path):
    if not (data_dir / "pubmedqa").is_dir():
        pytest.skip("PubMedQA mirror not found")
    suite = load_suite("medexplain")
    out = tmp_path_factory.mktemp("runs") / "medexplain"
    # byte tokens: a PubMedQA prompt and its answer are ~1,500 tokens for the tiny model
    sft = out.parent / "sft_long.yaml"
    sft.write_text((recipes_dir() / "sft.yaml").read_text().replace("max_length: 768", "max_length: 2048"))
    run_suite(RunConfig(suite=suite, budget=suite.budget("smoke"), model=str(tiny_long_model_path), seed=0, out_dir=out,
                        recipe_overrides=(("sft", str(sft)),)))
    return load_verified_record(out)


def test_three_kinds_of_stage_run_in_order(record):
    assert record.stages == ["pubmed_cpt", "answer_sft", "explain_grpo"]
    assert [s.kind for s in record.training] == ["cpt", "sft", "grpo"]
    cpt, sft, grpo = record.training
    assert cpt.documents == 1  # an abstract is ~1,500 byte tokens: over the 512 cap, and at least one is taken
    assert sft.documents == 2 and grpo.documents == 2  # train_examples / rl_prompts of the smoke budget
    assert set(grpo.rewards) >= {"semantic", "correctness"}
    assert all(math.isfinite(v) for v in grpo.rewards.values())


def test_matrix_has_every_task_after_every_stage(record):
    names = [t.name for t in record.tasks]
    assert names[:4] == ["pubmed_bpb", "decision_accuracy", "explanation_rougeL", "explanation_cosine"]
    assert len(record.matrix) == 4 and all(len(row) == len(names) for row in record.matrix)
    decision = names.index("decision_accuracy")
    assert all(row[decision] in (0.0, 0.5, 1.0) for row in record.matrix)  # 2 questions
    for name in ("explanation_rougeL", "explanation_cosine"):
        j = names.index(name)
        assert all(-1.0 <= row[j] <= 1.0 for row in record.matrix)
        assert all(d[j]["items"] == 2 for d in record.details)
    pubmed = names.index("pubmed_bpb")
    assert record.matrix[1][pubmed] < record.matrix[0][pubmed]  # CPT on abstracts lowers medical BPB


def test_explanation_tasks_share_one_generation(record):
    names = [t.name for t in record.tasks]
    rouge, cosine = names.index("explanation_rougeL"), names.index("explanation_cosine")
    for row in record.details:  # the same answers were scored twice: same parsed decisions and lengths
        assert row[rouge]["decision_accuracy"] == row[cosine]["decision_accuracy"]
        assert row[rouge]["mean_chars"] == row[cosine]["mean_chars"]


def test_train_files_keep_per_step_logs(record, tmp_path_factory):
    import json

    out = next(tmp_path_factory.getbasetemp().glob("runs*/medexplain"))
    grpo = json.loads((out / "train" / "3-explain_grpo.json").read_text())
    assert len(grpo["losses"]) == len(grpo["learning_rates"]) == grpo["steps"] == 2
    assert set(grpo["reward_steps"]) >= {"semantic", "correctness", "reward"}
    assert grpo["rewards"] == record.training[2].rewards  # the stage means stay beside the per-step values


def test_recipe_override_is_recorded(record):
    assert record.recipes["sft"]["max_length"] == 2048 and record.recipes["grpo"]["kind"] == "grpo"


def test_record_is_a_valid_leaderboard_entry(record):
    assert record.suite.train_examples == 2 and record.suite.generation_items == 2
    check_record(record, "record.json")
