"""Runs side by side: every metric, and each later run's delta against the first."""

from __future__ import annotations

from cptbench.core import metrics
from cptbench.core.records import RunRecord, matrix_from_record
from cptbench.publish.format import DASH, markdown_table, number
from cptbench.run.plan import method_label


def _label(record: RunRecord) -> str:
    return (f"{record.model.reference} s{record.seed} ({record.suite.name} {record.suite.budget}, "
            f"{method_label(record.method, record.recipes)})")


def _verdict(delta: float | None, higher_is_better: bool) -> str:
    if delta is None:
        return DASH
    return "same" if delta == 0 else ("better" if (delta > 0) == higher_is_better else "worse")


def compare_markdown(*records: RunRecord) -> str:
    """Every metric any run has, one column per run, and each later run's delta against the first
    (A) with whether it is better (direction-aware)."""
    a, others = records[0], records[1:]
    names = [chr(ord("A") + i) for i in range(len(records))]
    directions = {}
    for record in records:
        for value in metrics.compute_all(matrix_from_record(record)):
            directions[value.key] = value.higher_is_better
    header = ["metric", *names, *(f"{n} − A" for n in names[1:]), *(f"{n} is" for n in names[1:])]
    rows = []
    for key, higher in directions.items():
        values = [r.metrics.get(key) for r in records]
        deltas = [None if values[0] is None or v is None else v - values[0] for v in values[1:]]
        rows.append([
            key, *(number(v, zero_sign=True) for v in values),
            *(number(d, signed=True, zero_sign=True) for d in deltas), *(_verdict(d, higher) for d in deltas),
        ])
    text = "\n".join([*(f"- **{n}**: {_label(r)}" for n, r in zip(names, records)), "", markdown_table(header, rows)])
    if any(r.suite.hash != a.suite.hash or r.suite.budget != a.suite.budget for r in others):
        text += "\nNote: the runs differ in suite version or budget; compare with care.\n"
    return text
