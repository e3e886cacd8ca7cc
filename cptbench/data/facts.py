"""``facts``: the generated world of invented entities (``cptbench.data.facts_world``) as a source.

Split ``train`` is a domain's training documents (``texts``), split ``test`` its probes
(``choices``). The world's parameters come from the suite's ``generator`` block (in ``DataSpec.params``):
``version`` must be this code's ``GENERATOR_VERSION``, ``seed``, ``entities`` and ``documents``
choose the world. Nothing is downloaded; the hashes are those of the generated text.
"""

from __future__ import annotations

import functools

from cptbench.core.errors import DataError
from cptbench.core.spec import DataSpec
from cptbench.data.base import DataSource
from cptbench.data.corpus import Choice, Examples, Texts
from cptbench.data.facts_world import DOMAINS, GENERATOR_VERSION, Domain, generate

PARAMS = ("version", "seed", "entities", "documents")
VIEW_OF_SPLIT = {"train": "texts", "test": "choices"}


@functools.lru_cache(maxsize=4)
def _world(seed: int, entities: int, documents: int) -> dict[str, Domain]:
    return generate(seed, entities, documents)


def world_of(data: DataSpec) -> dict[str, Domain]:
    """The world ``data``'s parameters describe (a clear error when they are missing or from another version)."""
    params = dict(data.params)
    missing = [name for name in PARAMS if name not in params]
    if missing:
        raise DataError(f"source facts: generator.{missing[0]} missing (the suite's generator block)")
    if params["version"] != GENERATOR_VERSION:
        raise DataError(f"source facts: generator.version {params['version']} is not this cptbench's "
                        f"facts generator (version {GENERATOR_VERSION})")
    return _world(params["seed"], params["entities"], params["documents"])


class Facts(DataSource):
    """``facts``: invented entities per domain (people, companies, towns, species, stars)."""

    name = "facts"
    views = frozenset({"texts", "choices"})
    needs_domain = True
    generated = True

    def texts(self, data: DataSpec, sentences_per_doc: int, *, max_items: int | None = None,
              max_bytes: int | None = None) -> Texts:
        domain = self._domain(data, "texts")
        return Texts(domain.documents, self.pinned_hashes(data))

    def choices(self, data: DataSpec, max_items: int | None = None) -> Examples:
        domain = self._domain(data, "choices")
        items = tuple(Choice(p.context, p.choices, p.answer) for p in domain.probes)
        return Examples(items, self.pinned_hashes(data))

    def pinned_hashes(self, data: DataSpec) -> dict[str, str]:
        world = world_of(data)
        return {f"facts/{data.domain}/{split}": world[data.domain].content_hash(VIEW_OF_SPLIT[split])
                for split in data.splits}

    @staticmethod
    def _domain(data: DataSpec, view: str) -> Domain:
        if data.domain not in DOMAINS:
            raise DataError(f"source facts: domain {data.domain!r} is not one of {', '.join(DOMAINS)}")
        wrong = [split for split in data.splits if VIEW_OF_SPLIT.get(split) != view]
        if wrong:
            want = [split for split, v in VIEW_OF_SPLIT.items() if v == view]
            raise DataError(f"source facts: split {wrong[0]!r} has no {view} (use split {want[0]!r})")
        return world_of(data)[data.domain]
