"""Per-item values of one matrix cell, kept so that its uncertainty can be computed from the record.

Every cell cptbench computes is a ratio of sums over the items it scored:
``value = sum(values) / sum(weights)`` (weights all 1 when ``weights`` is None). Bits-per-byte
keeps each document's bits (NLL / ln 2) as the value and its UTF-8 bytes as the weight, so a
resample of documents gives corpus-level BPB exactly as lm-eval aggregates it; accuracy keeps
1/0 per item; a mean score keeps each item's score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import model_validator

from cptbench.core.io import Strict


@dataclass(frozen=True)
class Samples:
    values: tuple[float, ...]
    weights: tuple[float, ...] | None = None  # None: every item weighs 1

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a cell's samples need at least one item")
        if self.weights is not None and len(self.weights) != len(self.values):
            raise ValueError(f"{len(self.values)} values but {len(self.weights)} weights")

    @classmethod
    def of(cls, values: Sequence[float], weights: Sequence[float] | None = None) -> Samples:
        return cls(tuple(float(v) for v in values), None if weights is None else tuple(float(w) for w in weights))

    def __len__(self) -> int:
        return len(self.values)

    def value(self) -> float:
        """The cell these items determine: sum of values / sum of weights."""
        total_weight = len(self.values) if self.weights is None else math.fsum(self.weights)
        return math.fsum(self.values) / total_weight

    def to_json(self) -> dict[str, list[float] | None]:
        return {"values": list(self.values), "weights": None if self.weights is None else list(self.weights)}


class SamplesModel(Strict):
    """``Samples`` in a record or an evaluation file."""

    # At least one item, finite values, and weights (when given) one per value, finite,
    # non-negative and not all zero (they divide the sum): checked in a validator, so the published
    # submission schema (built from the fields and this docstring) stays what it was.

    values: list[float]
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _determines_a_cell(self) -> SamplesModel:
        if not self.values:
            raise ValueError("values: no items (a cell's samples need at least one)")
        if not all(math.isfinite(v) for v in self.values):
            raise ValueError("values: not all finite")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights: {len(self.weights)} for {len(self.values)} values")
            if not all(math.isfinite(w) and w >= 0 for w in self.weights):
                raise ValueError("weights: not all finite and non-negative")
            if not math.fsum(self.weights) > 0:
                raise ValueError("weights: all zero (a cell is the sum of values over the sum of weights)")
        return self

    def samples(self) -> Samples:
        return Samples.of(self.values, self.weights)


def read_samples(raw: object) -> Samples | None:
    """Samples stored in an evaluation file (None when it predates them)."""
    return None if raw is None else SamplesModel.model_validate(raw).samples()
