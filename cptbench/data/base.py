"""What every data source is: one data set behind up to three views.

Views: ``texts`` (documents: CPT stages, bits-per-byte tasks), ``examples`` (labelled questions:
SFT/GRPO stages, question tasks), ``sentences`` (sentences with entity spans: cloze probes).
"""

from __future__ import annotations

from cptbench.core.errors import DataError
from cptbench.core.spec import DataSpec
from cptbench.data.corpus import Examples, Texts


class DataSource:
    """One data set behind the three views; a view it lacks raises one ``DataError`` line."""

    name: str = ""
    views: frozenset[str] = frozenset()
    needs_domain: bool = False  # whether a suite must name ``data.domain``

    def texts(self, data: DataSpec, sentences_per_doc: int) -> Texts:
        raise self._lacks("texts")

    def examples(self, data: DataSpec) -> Examples:
        raise self._lacks("examples")

    def sentences(self, domain: str, split: str) -> tuple[tuple, str]:
        """``(sentences with entity spans, sha256 of the file)``."""
        raise self._lacks("sentences")

    def pinned_hashes(self, data: DataSpec) -> dict[str, str]:
        """The hashes a view of ``data`` reports (keys ``source/domain/split``, as in a run record's
        ``data``) for the pinned upstream files, known without reading them: a record with other
        hashes was made from other data."""
        raise NotImplementedError

    def _lacks(self, view: str) -> DataError:
        return DataError(f"data source {self.name!r} has no {view} (it provides: {', '.join(sorted(self.views))})")
