"""Cloze scoring with and without shared contexts: the HF backend's KV-cached context pass against
scoring every candidate's whole sequence, same model and items.

Usage (CPU, 2 threads by default):
    CPTBENCH_DATA_DIR=../shared/data python benchmarks/cloze_kv.py \
        [--model smollm2-135m-instruct] [--suite crossdomain] [--budget small] [--items N] [--repeats 3]

The items are one evaluation row's entity-cloze probes: every ``cloze`` task of the suite (the
crossdomain suite's five domains) at the budget's ``probe_items`` (8 at ``small``), or ``--items``
per task. Each item is 4 requests with one context (``cptbench.eval.kinds.cloze``), scored in one
``loglikelihood`` call per side, as the runner does. The table gives each side's median seconds
over --repeats alternating calls (after one warm-up call each), wall and this process's CPU
time, the tokens its forward passes take in (unpadded; contexts once when shared), and, against
the unshared side, the largest absolute and relative difference of log-probs (float32 noise: the
unshared path itself moves by ~1e-5 on sums near -160 when its batches are composed differently)
and how many items pick the same answer. On a machine another job keeps busy, 2 OpenMP threads
wait on each other at every kernel, which penalises the shared side's extra (small) context
passes: measure on an idle machine, or compare with --threads 1 as well.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from paired_timing import measure

from cptbench.cli.quiet import quiet_libraries
from cptbench.config.suites import load_suite
from cptbench.eval.backends.base import LoglikelihoodRequest, scored_tokens
from cptbench.eval.backends.hf import HFBackend, shared_contexts
from cptbench.eval.kinds.registry import get_kind
from cptbench.models.resolve import load_model, resolve_model


def cloze_groups(suite_name: str, budget_name: str, items: int | None) -> list[list[LoglikelihoodRequest]]:
    """Per cloze item of the suite's row, its requests (one per candidate), as the cloze kind makes them."""
    suite = load_suite(suite_name)
    budget = suite.budget(budget_name)
    if items is not None:
        budget = dataclasses.replace(budget, probe_items=items)
    kind = get_kind("cloze")
    groups = []
    for task in (t for t in suite.tasks if t.kind == "cloze"):
        for item in kind.inputs(task, suite, budget).items:
            groups.append([LoglikelihoodRequest(item.context, c + item.rest) for c in item.candidates])
    return groups


def input_tokens(backend: HFBackend, requests, share: bool) -> int:
    """Tokens fed to the model: whole sequences, or each shared context once plus the rows on it."""
    items = [(i, *scored_tokens(r, backend.tokenizer, backend.prefix_token_id, backend.max_length))
             for i, r in enumerate(requests)]
    groups, alone = shared_contexts(items) if share else ([], items)
    shared = sum(len(g[0][1]) - g[0][2] - 1 + sum(n for _, _, n in g) for g in groups)
    return shared + sum(len(x) - 1 for _, x, _ in alone)


def chosen(results, groups) -> list[int]:
    """Per item, the index of its most likely candidate (as ``choice_accuracy`` picks it)."""
    picks, offset = [], 0
    for group in groups:
        logprobs = [r.logprob for r in results[offset : offset + len(group)]]
        picks.append(max(range(len(logprobs)), key=logprobs.__getitem__))
        offset += len(group)
    return picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--suite", default="crossdomain")
    parser.add_argument("--budget", default="small")
    parser.add_argument("--items", type=int, default=None, help="cloze items per task (default: the budget's)")
    parser.add_argument("--batch-tokens", type=int, default=1024, help="batch size in tokens (default: the runner's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side, alternating; the median is reported")
    args = parser.parse_args()
    quiet_libraries()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model(resolve_model(args.model).path)
    groups = cloze_groups(args.suite, args.budget, args.items)
    requests = [r for g in groups for r in g]
    backends = {"shared context": HFBackend(model, tokenizer, batch_tokens=args.batch_tokens, share_context=True),
                "whole sequences": HFBackend(model, tokenizer, batch_tokens=args.batch_tokens, share_context=False)}
    runs = measure({side: (lambda b=b: b.loglikelihood(requests)) for side, b in backends.items()}, args.repeats)
    print(f"{args.model}: {len(groups)} cloze items ({args.suite}, {args.budget}"
          f"{f', {args.items} per task' if args.items else ''}), {len(requests)} requests; "
          f"batch {args.batch_tokens} tokens; {args.threads} torch threads; median of {args.repeats}")
    print("| side | seconds (median) | CPU seconds (median) | requests/s | input tokens | time vs whole "
          "| max abs Δ log-prob | max rel Δ | same answer |")
    print("|---|---|---|---|---|---|---|---|---|")
    reference, reference_seconds, _ = runs["whole sequences"]
    for side, (results, seconds, cpu) in runs.items():
        delta = max(abs(a.logprob - b.logprob) for a, b in zip(results, reference))
        relative = max(abs(a.logprob - b.logprob) / max(abs(b.logprob), 1e-12) for a, b in zip(results, reference))
        same = sum(a == b for a, b in zip(chosen(results, groups), chosen(reference, groups)))
        tokens = input_tokens(backends[side], requests, backends[side].share_context)
        print(f"| {side} | {seconds:.2f} | {cpu:.2f} | {len(requests) / seconds:.1f} | {tokens} "
              f"| {seconds / reference_seconds:.2f}x | {delta:.2e} | {relative:.1e} | {same}/{len(groups)} |")


if __name__ == "__main__":
    main()
