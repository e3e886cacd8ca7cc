"""Run plans: which stages train on which data, from where, in which order (no training here)."""

import pytest

from cptbench.config.suites import load_suite
from cptbench.core.errors import ConfigError
from cptbench.core.records import MethodRef
from cptbench.run.plan import make_plan, method_label, reorder

CROSSDOMAIN = ["politics", "science", "music", "literature", "ai"]


def method(**fields):
    return MethodRef(**{"order": CROSSDOMAIN, **fields})


def test_naive_chains_stages_and_replays_only_earlier_ones():
    plan = make_plan(load_suite("crossdomain"), method(name="replay", params={"fraction": 0.25}))
    assert [p.stage.name for p in plan.stages] == CROSSDOMAIN
    assert [[s.name for s in p.replay] for p in plan.stages] == [CROSSDOMAIN[:i] for i in range(5)]
    assert not any(p.from_base for p in plan.stages)


def test_dapt_starts_every_stage_from_the_base():
    plan = make_plan(load_suite("crossdomain"), method(name="dapt"))
    assert all(p.from_base and not p.replay for p in plan.stages)


def test_joint_is_one_stage_owning_every_aligned_task():
    plan = make_plan(load_suite("crossdomain"), method(name="joint"))
    [joint] = plan.stages
    assert joint.stage.name == "joint" and [s.name for s in joint.sources] == CROSSDOMAIN
    assert {t.stage for t in plan.suite.tasks} == {1, None}


def test_reorder_moves_task_alignment_with_the_stages():
    suite = reorder(load_suite("crossdomain"), tuple(reversed(CROSSDOMAIN)))
    aligned = {t.name: t.stage for t in suite.tasks if t.stage is not None}
    assert aligned["ai_bpb"] == 1 and aligned["ai_cloze"] == 1 and aligned["politics_bpb"] == 5
    with pytest.raises(ConfigError, match="not a permutation"):
        reorder(load_suite("crossdomain"), ("politics", "science"))


def test_joint_needs_cpt_stages():
    suite = load_suite("medexplain")
    with pytest.raises(ConfigError, match="--method joint: needs cpt stages only, suite medexplain has grpo/sft stages"):
        make_plan(suite, MethodRef(name="joint", order=[s.name for s in suite.stages]))


def test_replay_skips_sft_and_grpo_stages():
    suite = load_suite("medexplain")
    plan = make_plan(suite, MethodRef(name="replay", params={"fraction": 0.5}, order=[s.name for s in suite.stages]))
    assert [p.replay for p in plan.stages] == [(), (), ()]


def test_method_label_names_method_parameters_order_and_schedule():
    label = method_label(method(name="replay", params={"fraction": 0.25}, order_spec="reversed"), {"cpt": {"kind": "cpt", "lr_scheduler_type": "warmup_stable_decay"}})
    assert label == "naive + replay 25% (budget-neutral), order reversed, lr warmup_stable_decay"
    assert method_label(None) == "naive"
    grpo = {"kind": "grpo", "rewards": {"rouge": 1.0, "correctness": 1.0}}
    assert method_label(method(), {"grpo": grpo}) == "naive, GRPO reward rouge+correctness"
