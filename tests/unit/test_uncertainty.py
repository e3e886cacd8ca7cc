"""Intervals from per-item samples: coverage on simulated data, pairing, seeds, comparisons, ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cptbench.core import metrics
from cptbench.core.errors import CptbenchError
from cptbench.core.matrix import ResultMatrix
from cptbench.core.records import RunRecord, check_samples, matrix_from_record
from cptbench.core.uncertainty import compare, metric_resamples, ranks_with_ties, summarize

TASKS = [
    {"name": "a_bpb", "metric": "bpb", "direction": "lower", "stage": 1},
    {"name": "b_bpb", "metric": "bpb", "direction": "lower", "stage": 2},
    {"name": "news_bpb", "metric": "bpb", "direction": "lower", "stage": None},
    {"name": "a_probe", "metric": "accuracy", "direction": "higher", "stage": 1},
    {"name": "b_probe", "metric": "accuracy", "direction": "higher", "stage": 2},
]


def make_record(bits: np.ndarray, nbytes: np.ndarray, hits: np.ndarray, seed: int = 0) -> RunRecord:
    """A record from per-item values: ``bits`` (rows, 3 bpb tasks, docs), ``nbytes`` (docs,),
    ``hits`` (rows, 2 probe tasks, items) of 0/1. Cells are the ratios of their sums."""
    rows = bits.shape[0]
    matrix, samples, details = [], [], []
    for t in range(rows):
        bpb = [float(bits[t, j].sum() / nbytes.sum()) for j in range(3)]
        acc = [float(hits[t, j].mean()) for j in range(2)]
        matrix.append(bpb + acc)
        samples.append([{"values": bits[t, j].tolist(), "weights": nbytes.tolist()} for j in range(3)]
                       + [{"values": hits[t, j].tolist(), "weights": None} for j in range(2)])
        details.append([{"documents": len(nbytes)}] * 3 + [{"items": hits.shape[2]}] * 2)
    raw = {
        "schema_version": 2, "method": {"name": "naive", "order": ["a", "b"][: rows - 1]}, "cptbench_version": "0.1.0", "created": "2026-01-01T00:00:00+00:00",
        "suite": {"name": "sim", "version": 1, "hash": "ab" * 32, "budget": "small", "train_tokens": 1, "eval_docs": 1},
        "model": {"reference": "sim", "source": "hub", "parameters": 1}, "seed": seed, "recipes": {},
        "backend": {}, "environment": {}, "data": {}, "stages": ["a", "b"][: rows - 1], "tasks": TASKS,
        "matrix": matrix, "details": details, "samples": samples, "metrics": {}, "training": [], "timings": {},
    }
    record = RunRecord.model_validate(raw)
    check_samples(record)
    return record.model_copy(update={"metrics": metrics.as_dict(metrics.compute_all(matrix_from_record(record)))})


def simulate(rng, docs=40, items=60, shift=(0.0, 0.05, 0.05), doc_noise=0.02, accuracy=(0.5, 0.7, 0.7), seed=0):
    """Three rows: the base and two stages. Every document has its own BPB (spread 0.15); each
    row lowers every document by ``shift[t]`` (cumulative) plus per-row noise ``doc_noise``."""
    nbytes = rng.uniform(300, 700, docs).round()
    per_doc = rng.normal(1.2, 0.15, (3, docs))
    bpb = np.stack([per_doc - sum(shift[: t + 1]) + rng.normal(0, doc_noise, (3, docs)) for t in range(3)])
    hits = np.stack([rng.random((2, items)) < accuracy[t] for t in range(3)]).astype(float)
    return make_record(bpb * nbytes, nbytes, hits, seed)


def test_resampled_metrics_equal_the_formulas_on_each_resample():
    record = simulate(np.random.default_rng(1))
    template = matrix_from_record(record)
    rng = np.random.default_rng(2)
    replicates = np.asarray(template.values)[None] + rng.normal(0, 0.05, (30, 3, 5))
    replicates[4, 1, 3] = 0.0  # an accuracy of 0: relative forms skip that reference in that resample
    replicates[5, :, 3:] = 0.0  # every reference 0: undefined (NaN) in that resample only
    resampled = metric_resamples(template, replicates)
    for b, values in enumerate(replicates):
        scalar = metrics.as_dict(metrics.compute_all(ResultMatrix(template.stages, template.tasks, tuple(map(tuple, values.tolist())))))
        for key, value in scalar.items():
            if value is None:
                assert math.isnan(resampled[key][b]), key
            else:
                assert resampled[key][b] == pytest.approx(value, rel=1e-12, abs=1e-12), (key, b)


def test_intervals_cover_the_true_value_at_about_the_nominal_rate():
    """200 simulated experiments: the true accuracy (0.7 after stage b) and the true plasticity on
    BPB (0.05: every document drops by 0.05 in its stage) fall inside about 95 % of the intervals."""
    rng = np.random.default_rng(0)
    covered_accuracy = covered_plasticity = 0
    experiments = 200
    for _ in range(experiments):
        summary = summarize([simulate(rng, items=100)], resamples=1000)
        covered_accuracy += summary.cells[2][4].low <= 0.7 <= summary.cells[2][4].high
        plasticity = summary.metrics["plasticity[bpb]"]
        covered_plasticity += plasticity.low <= 0.05 <= plasticity.high
    assert 0.92 <= covered_accuracy / experiments <= 0.98
    assert 0.92 <= covered_plasticity / experiments <= 0.98


def test_paired_interval_of_a_difference_is_much_narrower_than_unpaired():
    # documents differ a lot (0.15 BPB) and every row shifts them alike: pairing cancels the spread
    record = simulate(np.random.default_rng(3), doc_noise=0.01)
    paired = summarize([record]).metrics["plasticity[bpb]"]
    unpaired = summarize([record], paired=False).metrics["plasticity[bpb]"]
    assert paired.estimate == unpaired.estimate
    assert paired.high - paired.low < 0.25 * (unpaired.high - unpaired.low)


def test_the_same_records_give_the_same_intervals():
    record = simulate(np.random.default_rng(4))
    assert summarize([record]) == summarize([record])
    other = summarize([record], seed=1).metrics["bwt[bpb]"]
    assert other != summarize([record]).metrics["bwt[bpb]"]
    assert other.estimate == summarize([record]).metrics["bwt[bpb]"].estimate


def test_seeds_average_the_matrix_and_widen_the_interval_by_their_spread():
    rng = np.random.default_rng(5)
    base = simulate(rng, doc_noise=0.005)
    # the same documents, but the seeds' training lowered stage a's documents by different amounts
    seeds = []
    for seed, extra in enumerate([0.0, 0.03, -0.03]):
        bits = np.asarray([[s.values for s in row[:3]] for row in base.cell_samples()])
        nbytes = np.asarray(base.cell_samples()[0][0].weights)
        bits[1:, 0] -= extra * nbytes
        hits = np.asarray([[s.values for s in row[3:]] for row in base.cell_samples()])
        seeds.append(make_record(bits, nbytes, hits, seed))
    one, three = summarize(seeds[:1]), summarize(seeds)
    assert three.seeds == (0, 1, 2)
    assert three.matrix.values[1][0] == pytest.approx(np.mean([r.matrix[1][0] for r in seeds]))
    width = lambda s: s.metrics["plasticity[bpb]"].high - s.metrics["plasticity[bpb]"].low  # noqa: E731
    assert width(three) > 3 * width(one)


def test_comparison_says_whether_a_difference_is_distinguishable():
    rng = np.random.default_rng(6)
    a = simulate(rng, shift=(0.0, 0.05, 0.05))
    worse = simulate(np.random.default_rng(6), shift=(0.0, 0.05, 0.05))
    bits = np.asarray([[s.values for s in row[:3]] for row in worse.cell_samples()])
    nbytes = np.asarray(worse.cell_samples()[0][0].weights)
    hits = np.asarray([[s.values for s in row[3:]] for row in worse.cell_samples()])
    bits[2, 0] += 0.04 * nbytes  # stage b erased most of what stage a taught about a
    b = make_record(bits, nbytes, hits)
    same_again = make_record(np.asarray([[s.values for s in row[:3]] for row in a.cell_samples()]) + rng.normal(0, 0.3, (3, 3, 40)),
                             nbytes, hits)
    result = compare([a], [b])
    assert result.paired
    assert result.metrics["bwt[bpb]"].distinguishable and result.metrics["bwt[bpb]"].interval.high < 0
    assert not result.metrics["plasticity[bpb]"].distinguishable  # untouched: stage a still taught the same
    assert not compare([a], [same_again]).metrics["bwt[bpb]"].distinguishable


def test_ranks_share_a_place_unless_significantly_better():
    rng = np.random.default_rng(7)
    good = simulate(rng, shift=(0.0, 0.08, 0.08))
    twin = make_record(np.asarray([[s.values for s in row[:3]] for row in good.cell_samples()]) + rng.normal(0, 0.2, (3, 3, 40)),
                       np.asarray(good.cell_samples()[0][0].weights), np.asarray([[s.values for s in row[3:]] for row in good.cell_samples()]))
    bad = simulate(np.random.default_rng(7), shift=(0.0, 0.0, 0.0))
    # final[bpb] is lower (better) for good and its twin; bad learned nothing
    assert ranks_with_ties([[good], [twin], [bad]], "final[bpb]", higher_is_better=False) == [1, 1, 3]
    assert ranks_with_ties([[bad], [good]], "final[bpb]", higher_is_better=False) == [2, 1]


def test_a_record_without_samples_has_no_document_interval_but_seeds_give_one():
    record = simulate(np.random.default_rng(8)).model_copy(update={"samples": None})
    assert summarize([record]).metrics["bwt[bpb]"] is None
    other = record.model_copy(update={"seed": 1, "matrix": [[v + 0.01 * (t == 2) for v in row] for t, row in enumerate(record.matrix)]})
    other = other.model_copy(update={"metrics": metrics.as_dict(metrics.compute_all(matrix_from_record(other)))})
    assert summarize([record, other]).metrics["bwt[bpb]"] is not None


def test_samples_that_disagree_with_their_cell_are_refused():
    record = simulate(np.random.default_rng(9))
    samples = [list(row) for row in record.samples]
    samples[1][0] = samples[1][0].model_copy(update={"values": [v * 1.01 for v in samples[1][0].values]})
    with pytest.raises(CptbenchError, match=r"samples\[1\]\[a_bpb\]: its items give"):
        check_samples(record.model_copy(update={"samples": samples}))
