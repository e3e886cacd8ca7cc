"""The facts world: deterministic, collision-free, probes on held-out templates, and the suite
file's checks on generated sources."""

import re

import pytest

from cptbench.config.schemas import SuiteModel
from cptbench.config.suites import load_suite
from cptbench.core.errors import ConfigError, DataError
from cptbench.core.io import load_yaml
from cptbench.core.spec import DataSpec
from cptbench.data.facts import Facts
from cptbench.data.facts_world import CHOICES, DOMAINS, GENERATOR_VERSION, generate


def _everything(world):
    return [(d.documents, d.probes, d.entities) for d in world.values()]


def test_the_same_seed_makes_the_same_world_byte_for_byte():
    first, again = generate(0, 12, 4), generate(0, 12, 4)
    assert _everything(first) == _everything(again)
    assert [d.content_hash(v) for d in first.values() for v in ("texts", "choices")] == \
        [d.content_hash(v) for d in again.values() for v in ("texts", "choices")]
    other = generate(1, 12, 4)
    assert all(first[name].documents != other[name].documents for name in DOMAINS)


def test_no_two_entities_share_a_name_word_in_any_domain():
    world = generate(0, 40, 1)
    words = [w.lower() for d in world.values() for e in d.entities for w in e.name.split()
             if w not in ("Works", "Industries", "Holdings", "Manufacturing")]
    assert len(words) == len(set(words)) == 5 * 40 + 40  # people have two invented words
    names = [e.name for d in world.values() for e in d.entities]
    for name in names:  # nor is one name inside another (a probe for one would match the other)
        assert sum(re.search(rf"\b{re.escape(name)}\b", other) is not None for other in names) == 1


def test_documents_state_every_fact_with_every_training_template():
    world = generate(3, 6, 4)
    for domain, attributes in DOMAINS.items():
        for entity in world[domain].entities:
            docs = [d for d in world[domain].documents if entity.name in d]
            assert len(docs) == 4
            values = dict(entity.values)
            for attribute, _, templates, _ in attributes:
                for template in templates:  # four documents rotate through the four templates
                    sentence = template.format(name=entity.name, value=values[attribute])
                    assert any(sentence[1:] in doc for doc in docs), (domain, sentence)


def test_probes_use_held_out_templates_and_fair_distractors():
    world = generate(0, 12, 4)
    training = " ".join(doc for d in world.values() for doc in d.documents)
    for domain, attributes in DOMAINS.items():
        by_name = {e.name: dict(e.values) for e in world[domain].entities}
        pools = {attribute: pool for attribute, pool, _, _ in attributes}
        for _, _, templates, probe_template in attributes:
            assert probe_template not in templates
        assert len(world[domain].probes) == 12 * len(attributes)
        for probe in world[domain].probes:
            assert probe.context not in training  # the question never appears in what is trained on
            assert probe.choices[probe.answer] == by_name[probe.entity][probe.attribute]
            assert len(set(probe.choices)) == CHOICES
            assert set(probe.choices) <= set(pools[probe.attribute])
            held = {values[probe.attribute] for values in by_name.values()}
            # distractors are other entities' values where there are enough: learning the words alone does not help
            assert len(set(probe.choices) & held) >= min(CHOICES, len(held))


def test_too_few_entities_for_distractors_is_refused():
    with pytest.raises(ValueError, match="at least 4"):
        generate(0, 3, 1)


def test_the_source_checks_version_domain_and_split():
    params = (("version", GENERATOR_VERSION), ("seed", 0), ("entities", 4), ("documents", 1))
    source = Facts()
    assert len(source.texts(DataSpec("facts", "stars", ("train",), params=params), 4).texts) == 4
    with pytest.raises(DataError, match="generator.version 99"):
        source.texts(DataSpec("facts", "stars", ("train",), params=(("version", 99), *params[1:])), 4)
    with pytest.raises(DataError, match="split 'test' has no texts"):
        source.texts(DataSpec("facts", "stars", ("test",), params=params), 4)
    with pytest.raises(DataError, match="generator.seed missing"):
        source.choices(DataSpec("facts", "stars", ("test",), params=params[:1]))


def test_shipped_suite_hash_holds_the_generator(tmp_path):
    shipped = load_suite("facts")
    text = shipped.path.read_text()
    changed = tmp_path / "facts.yaml"
    changed.write_text(text.replace("seed: 0, entities: 10", "seed: 1, entities: 10"))
    assert load_suite(str(changed)).content_hash != shipped.content_hash


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("generator: {name: facts, version: 1, seed: 0, entities: 10, documents: 4}\n", ""),
     "generator: required by stages.0.data"),
    (lambda t: t.replace("domain: people,    splits", "domain: planets,   splits"), "stages.0.data.domain: 'planets' is not a facts domain"),
    (lambda t: t.replace("curve_tasks: [people_logprob", "curve_tasks: [nobody"), "curve_tasks.0: 'nobody' is not a task name"),
    (lambda t: t.replace("entities: 10", "entities: 2"), "generator.entities"),
])
def test_suite_file_mistakes_name_the_field(tmp_path, edit, message):
    bad = tmp_path / "facts.yaml"
    bad.write_text(edit(load_suite("facts").path.read_text()))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_yaml(bad, SuiteModel)
