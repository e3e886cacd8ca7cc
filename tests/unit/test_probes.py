"""Entity-cloze probes built from the real CrossNER annotations."""

import pytest

from cptbench.data import crossner
from cptbench.data.probes import CANDIDATES
from cptbench.data.probes import cloze_items as items_from


def cloze_items(domain, split, limit, seed):
    return items_from(crossner.sentences(domain, split), f"crossner/{domain}/{split}", limit, seed)


@pytest.mark.parametrize("domain", ["politics", "science", "music", "literature", "ai"])
def test_items_reassemble_a_real_sentence(data_dir, domain):
    texts = {s.text for s in crossner.sentences(domain, "test")}
    items = cloze_items(domain, "test", 20, seed=0)
    assert len(items) == 20
    for item in items:
        assert len(item.candidates) == CANDIDATES == len(set(item.candidates))
        assert item.context + item.candidates[item.answer] + item.rest in texts
        for j, candidate in enumerate(item.candidates):
            if j != item.answer:
                assert candidate.lower() not in (item.context + item.rest).lower() or len(candidate) < 4


def test_distractors_share_the_entity_type(data_dir):
    types = {}
    for sentence in crossner.sentences("music", "test"):
        for entity in sentence.entities:
            types.setdefault(entity.text, set()).add(entity.type)
    for item in cloze_items("music", "test", 30, seed=0):
        gold = types[item.candidates[item.answer]]
        assert all(types[c] & gold for c in item.candidates)


def test_items_are_deterministic_by_seed_and_spread_over_the_split(data_dir):
    assert cloze_items("ai", "test", 10, seed=0) == cloze_items("ai", "test", 10, seed=0)
    assert cloze_items("ai", "test", 10, seed=0) != cloze_items("ai", "test", 10, seed=1)
    everything = cloze_items("ai", "test", None, seed=0)
    assert len(everything) > 100
    assert [everything.index(i) for i in cloze_items("ai", "test", 4, seed=0)] == [0, len(everything) // 4, len(everything) // 2, 3 * len(everything) // 4]
    answers = {item.answer for item in everything}
    assert answers == set(range(CANDIDATES))  # the answer position is shuffled
