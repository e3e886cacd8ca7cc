"""What every data source is: one data set behind up to three views.

Views: ``texts`` (documents: CPT stages, bits-per-byte tasks), ``examples`` (questions with the
``Question`` fields: SFT/GRPO stages, explanation tasks), ``choices`` (multiple-choice items),
``sentences`` (sentences with entity spans: cloze probes), ``decisions`` (PubMedQA's examples as
yes/no/maybe questions over an abstract: decision tasks).
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
    generated: bool = False  # made by code from the suite's parameters: no files, nothing to download

    def texts(self, data: DataSpec, sentences_per_doc: int, *, max_items: int | None = None,
              max_bytes: int | None = None) -> Texts:
        """Every document (``max_items``/``max_bytes`` bound only what a streaming source reads)."""
        raise self._lacks("texts")

    def examples(self, data: DataSpec) -> Examples:
        raise self._lacks("examples")

    def choices(self, data: DataSpec, max_items: int | None = None) -> Examples:
        """Multiple-choice items (``cptbench.data.corpus.Choice``)."""
        raise self._lacks("choices")

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
