"""Methods, orders and replay with the tiny model: the matrices they produce, their records, and
the leaderboard's checks of them. A three-domain suite keeps the runs short."""

import pytest

from cptbench.config.suites import load_suite
from cptbench.core.records import load_verified_record
from cptbench.publish.submissions import check_record
from cptbench.run.runner import RunConfig, run_suite

STAGES = ["politics", "science", "music"]
MINI = "\n".join([
    "name: mini3",
    "version: 1",
    "stages:",
    *(f"  - {{name: {d}, data: {{source: crossner, domain: {d}, splits: [train]}}}}" for d in STAGES),
    "tasks:",
    *(f"  - {{name: {d}_bpb, kind: bpb, stage: {d}, data: {{source: crossner, domain: {d}, split: test}}}}" for d in STAGES),
    "  - {name: reuters_bpb, kind: bpb, stage: general, data: {source: crossner, domain: conll2003, split: test}}",
    "budgets:",
    "  # documents are long in bytes, and the tiny model's tokens are bytes: room for several per stage",
    "  test: {train_tokens: 4096, eval_docs: 2}",
    "default_budget: test",
])


@pytest.fixture(scope="module")
def run_method(tmp_path_factory, data_dir, tiny_model_path):
    folder = tmp_path_factory.mktemp("methods")
    (folder / "mini3.yaml").write_text(MINI + "\n")
    suite = load_suite(str(folder / "mini3.yaml"))
    made = {}

    def run(method="naive", order="given"):
        key = (method, order)
        if key not in made:
            out = folder / f"{method.replace(':', '-').replace('=', '')}-{order.replace(':', '')}"
            config = RunConfig(suite=suite, budget=suite.budget(None), model="tiny-llama", seed=0, out_dir=out,
                               method=method, order=order)
            run_suite(config)
            made[key] = load_verified_record(out)
        return made[key]

    return run


def test_joint_is_one_stage_on_every_domain(run_method):
    record = run_method("joint")
    assert record.stages == ["joint"] and len(record.matrix) == 2
    assert {t.stage for t in record.tasks} == {1, None}
    [stage] = record.training
    assert list(stage.sources) == STAGES
    naive = run_method("naive")
    for own in naive.training:  # the same documents per domain as the sequence sees
        assert stage.sources[own.stage]["tokens"] == own.tokens
    assert stage.tokens == sum(s.tokens for s in naive.training)
    assert record.metrics["bwt[bpb]"] is None and record.metrics["plasticity[bpb]"] is not None
    assert record.method.name == "joint"


def test_dapt_trains_every_stage_from_the_base(run_method):
    naive, dapt = run_method("naive"), run_method("dapt")
    assert dapt.stages == STAGES and len(dapt.matrix) == 4
    assert dapt.matrix[1] == naive.matrix[1]  # stage 1 starts from the base in both methods
    # after stage 2, dapt's model has never seen politics; naive's has
    assert dapt.matrix[2][0] > naive.matrix[2][0]
    assert [list(s.sources) for s in dapt.training] == [[name] for name in STAGES]


def test_reversed_order_realigns_tasks(run_method):
    record = run_method("naive", order="reversed")
    assert record.stages == STAGES[::-1]
    assert {t.name: t.stage for t in record.tasks} == {"music_bpb": 1, "science_bpb": 2, "politics_bpb": 3, "reuters_bpb": None}
    assert record.method.order == STAGES[::-1] and record.method.order_spec == "reversed"


def test_replay_mixes_earlier_stages_into_later_ones(run_method):
    record = run_method("replay:fraction=0.25")
    first, *later = record.training
    assert list(first.sources) == ["politics"]  # nothing to replay before the first stage
    for stage in later:
        replayed = sum(v["tokens"] for k, v in stage.sources.items() if k != stage.stage)
        assert 0 < replayed <= 0.25 * 4096 + 1 and stage.tokens <= 4096  # budget-neutral
        assert set(stage.sources) == set(STAGES[: STAGES.index(stage.stage) + 1])
    assert record.method.name == "replay" and record.method.params == {"fraction": 0.25, "budget_neutral": True}
    naive = run_method("naive")
    assert record.matrix[1] == naive.matrix[1]  # stage 1 is the same run


def test_leaderboard_accepts_a_joint_record_of_the_shipped_suite(tmp_path, data_dir, tiny_model_path):
    suite = load_suite("crossdomain")
    run_suite(RunConfig(suite=suite, budget=suite.budget("smoke"), model="tiny-llama", seed=0, out_dir=tmp_path,
                        method="joint"))
    record = load_verified_record(tmp_path)
    check_record(record, "record.json")  # raises on any inconsistency
    assert record.stages == ["joint"]
