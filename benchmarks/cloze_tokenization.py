"""How much the cloze tokenization fix (crossdomain v3) moves probe accuracy, on one checkpoint.

Scores the same cloze items twice: as v3 does (the context's trailing space moved into the
continuation, so SmolLM2 sees 'ĠEm', 'manuel') and as v2 did (context and candidate tokenized
apart: 'Ġ' + 'Em', 'manuel'). Prints accuracy per domain under both conventions and the paired
difference with a 95 % bootstrap interval over items (the same items in both arms).

Usage: python benchmarks/cloze_tokenization.py [--model smollm2-135m-instruct] [--items 50]
"""

from __future__ import annotations

import argparse
import random

from cptbench.cli.quiet import quiet_libraries
from cptbench.data import crossner
from cptbench.data.probes import cloze_items
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.backends.hf import HFBackend
from cptbench.models.resolve import resolve_model

DOMAINS = ("politics", "science", "music", "literature", "ai")


class SplitApart(LoglikelihoodRequest):
    """v2's convention: context and candidate tokenized as given (the space stays in the context)."""

    def __post_init__(self) -> None:
        pass


def correct_per_item(backend, items, request=LoglikelihoodRequest) -> list[int]:
    requests = [request(i.context, c + i.rest) for i in items for c in i.candidates]
    scores = [r.logprob for r in backend.loglikelihood(requests)]
    out, offset = [], 0
    for item in items:
        chunk = scores[offset : offset + len(item.candidates)]
        out.append(int(max(range(len(chunk)), key=chunk.__getitem__) == item.answer))
        offset += len(item.candidates)
    return out


def bootstrap_interval(diffs: list[int], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=len(diffs))) / len(diffs) for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--items", type=int, default=50, help="cloze items per domain (test split, probe seed 0)")
    args = parser.parse_args()
    quiet_libraries()
    backend = HFBackend.load(resolve_model(args.model).path)
    print("| domain | items | v3 accuracy (natural split) | v2 accuracy (split apart) | v3 − v2 [95 % CI] |")
    print("|---|---|---|---|---|")
    every: list[int] = []
    for domain in DOMAINS:
        items = cloze_items(crossner.sentences(domain, "test"), f"crossner/{domain}/test", args.items, 0)
        natural = correct_per_item(backend, items)
        apart = correct_per_item(backend, items, SplitApart)
        diffs = [a - b for a, b in zip(natural, apart)]
        every += diffs
        low, high = bootstrap_interval(diffs)
        print(f"| {domain} | {len(items)} | {sum(natural) / len(items):.3f} | {sum(apart) / len(items):.3f} "
              f"| {sum(diffs) / len(diffs):+.3f} [{low:+.3f}, {high:+.3f}] |")
    low, high = bootstrap_interval(every)
    print(f"| all | {len(every)} | | | {sum(every) / len(every):+.3f} [{low:+.3f}, {high:+.3f}] |")


if __name__ == "__main__":
    main()
