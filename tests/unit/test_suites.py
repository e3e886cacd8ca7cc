"""Every shipped suite loads; malformed suites fail with one line naming the file and field."""

import pytest

from cptbench.config.suites import available_suites, load_recipe, load_suite
from cptbench.core.errors import ConfigError
from cptbench.core.resources import recipes_dir

GOOD = """
name: mini
version: 1
stages:
  - {name: a, data: {source: crossner, domain: politics, splits: [train]}}
tasks:
  - {name: a_bpb, kind: bpb, stage: a, data: {source: crossner, domain: politics, split: test}}
budgets:
  smoke: {train_tokens: 10, eval_docs: 1}
default_budget: smoke
"""


@pytest.mark.parametrize("name", available_suites())
def test_shipped_suite_loads(name):
    suite = load_suite(name)
    assert suite.stages and suite.tasks and suite.default_budget in suite.budgets
    for stage in suite.stages:
        assert load_recipe(stage.recipe, stage.kind).kind == stage.kind


@pytest.mark.parametrize("path", sorted(recipes_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_recipe_loads(path):
    assert load_recipe(str(path)).kind in ("cpt", "sft", "grpo")


def test_recipe_of_another_kind_is_refused():
    with pytest.raises(ConfigError, match=r"grpo\.yaml: kind: recipe is for 'grpo' stages, the stage is 'cpt'"):
        load_recipe("grpo", "cpt")


def test_schema_changes_leave_the_published_crossdomain_hash_alone():
    """Fields added after crossdomain was published are hash-neutral at their defaults, and the
    registries' validation hashes the same fields as the schema's literals did: results filed
    under the hash stay valid (the value is the hash of the published v3 suite file)."""
    assert load_suite("crossdomain").content_hash.startswith("db7a9227f4d0")


def test_crossdomain_order_and_general_reference():
    suite = load_suite("crossdomain")
    assert [s.name for s in suite.stages] == ["politics", "science", "music", "literature", "ai"]
    general = [t for t in suite.tasks if t.stage is None]
    assert [t.data.domain for t in general] == ["conll2003", "conll2003"]  # ours and lm-eval's
    assert {t.kind for t in general} == {"bpb", "lmeval"}
    for stage in suite.stages:  # every stage has its own BPB column and knowledge probe
        assert sorted(t.kind for t in suite.tasks if t.stage == stage.index) == ["bpb", "cloze"]
    assert set(suite.budgets) >= {"smoke", "small", "full"}


def test_hash_changes_with_content(tmp_path):
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(GOOD)
    two.write_text(GOOD.replace("train_tokens: 10", "train_tokens: 11"))
    assert load_suite(str(one)).content_hash != load_suite(str(two)).content_hash


@pytest.mark.parametrize(
    "change,field",
    [
        (("version: 1", "version: -1"), "version"),
        (("kind: bpb,", "kind: bpb, colour: red,"), "tasks.0.colour"),
        (("stage: a,", "stage: nowhere,"), "tasks.0.stage"),
        (("default_budget: smoke", "default_budget: huge"), "default_budget"),
        (("train_tokens: 10", "train_tokens: -5"), "budgets.smoke.train_tokens"),
        (("splits: [train]", "splits: [validation]"), "stages.0.data.splits.0"),
        (("kind: bpb", "kind: vibes"), "tasks.0.kind"),
        (("  - {name: a, data", "  - {name: a, data: {source: crossner, domain: politics, splits: [train]}}\n  - {name: a, data"), "stages.1.name"),
    ],
)
def test_malformed_suite_names_file_and_field(tmp_path, change, field):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert str(path) in message and field in message and "\n" not in message


def test_malformed_yaml_and_unknown_suite(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_suite(str(path))
    with pytest.raises(ConfigError, match="no such suite.*crossdomain"):
        load_suite("does-not-exist")
