"""Domain-knowledge probes from NER annotations: entity cloze, scored by log-likelihood.

Each item is one test sentence with one entity left out and four candidates: the entity and
three other entities of the same type from the same domain and split. The model picks the
candidate whose sentence it finds most likely: log P(candidate + rest of sentence | sentence
before the entity). The rest of the sentence is the same for every candidate, so it only adds
context. Items depend on the suite's probe seed, never on the run seed: every run of a suite is
scored on the same items.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from cptbench.core.errors import DataError
from cptbench.data.corpus import spread
from cptbench.data.crossner import Sentence

CANDIDATES = 4


@dataclass(frozen=True)
class ClozeItem:
    context: str  # the sentence up to the entity
    candidates: tuple[str, ...]  # each followed by `rest` when scored
    rest: str
    answer: int  # index of the true entity in `candidates`


def cloze_items(sentences: Sequence[Sentence], where: str, limit: int | None, seed: int) -> tuple[ClozeItem, ...]:
    """Up to ``limit`` items spread over ``sentences`` (all when ``limit`` is None); ``where``
    (``source/domain/split``) names them in errors and, with ``seed``, seeds the choices."""
    pool: dict[str, list[str]] = {}
    for sentence in sentences:
        for entity in sentence.entities:
            names = pool.setdefault(entity.type, [])
            if entity.text not in names:
                names.append(entity.text)
    rng = random.Random(f"{seed}/{where.split('/', 1)[-1]}")  # seed/domain/split, as items were first drawn
    items = [item for sentence in sentences if (item := _item(sentence, pool, rng)) is not None]
    if not items:
        raise DataError(f"{where}: no sentence yields a cloze item (too few entities per type)")
    return spread(tuple(items), limit)


def _item(sentence: Sentence, pool: dict[str, list[str]], rng: random.Random) -> ClozeItem | None:
    if not sentence.entities:
        return None
    entity = rng.choice(sentence.entities)
    in_sentence = {e.text.lower() for e in sentence.entities}
    others = [name for name in pool[entity.type] if name.lower() not in in_sentence]
    if len(others) < CANDIDATES - 1:
        return None
    candidates = [entity.text, *rng.sample(others, CANDIDATES - 1)]
    rng.shuffle(candidates)
    return ClozeItem(
        context=sentence.text[: entity.start],
        candidates=tuple(candidates),
        rest=sentence.text[entity.end :],
        answer=candidates.index(entity.text),
    )
