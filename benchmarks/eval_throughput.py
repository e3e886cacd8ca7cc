"""Rolling log-likelihood throughput: cptbench's HF backend against lm-eval's, same model and texts.

Usage (CPU, 2 threads by default):
    CPTBENCH_DATA_DIR=../shared/data python benchmarks/eval_throughput.py \
        [--model smollm2-135m-instruct] [--domain politics] [--docs 24] [--lmeval-batch 8]

Both sides score the same documents with the same first-token convention (cptbench's prefix
token), so their bits-per-byte must agree; the script prints both values, the tokens/s of each
(tokens = the documents' tokens, timed around the scoring call, after one warm-up call each;
median of --repeats alternating calls) and the ratio. lm-eval's time includes its per-call set-up (task and dataset building), which is part
of what a user of it pays.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from cptbench.cli.quiet import quiet_libraries
from cptbench.core.matrix import Direction
from cptbench.core.resources import tasks_dir
from cptbench.core.spec import DataSpec, LmEvalRef
from cptbench.data.corpus import spread
from cptbench.data.sources import load_texts
from cptbench.eval.backends.hf import HFBackend
from cptbench.eval.kinds.bpb import bits_per_byte
from cptbench.eval.kinds.lmeval import evaluate_lmeval
from cptbench.models.resolve import load_model, resolve_model

TASK = LmEvalRef("cptbench_reuters_bpb", "bits_per_byte", Direction.LOWER, tasks_dir() / "lmeval")


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--domain", default="politics")
    parser.add_argument("--docs", type=int, default=24)
    parser.add_argument("--lmeval-batch", type=int, default=8)
    parser.add_argument("--batch-tokens", type=int, default=1024, help="cptbench's batch size in tokens (default: the runner's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side, alternating; the median is reported")
    args = parser.parse_args()
    quiet_libraries()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model(resolve_model(args.model).path)
    texts = spread(load_texts(DataSpec("crossner", args.domain, ("test",)), 4).texts, args.docs)
    tokens = sum(len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"])
    backend = HFBackend(model, tokenizer, batch_tokens=args.batch_tokens)

    def ours():
        return bits_per_byte(backend.loglikelihood_rolling(texts))

    def theirs():
        cell = evaluate_lmeval(backend, TASK, texts, batch_size=args.lmeval_batch)
        return cell.value

    ours(), theirs()  # warm-up
    runs_ours, runs_theirs = [], []
    for _ in range(args.repeats):  # alternate, so slow phases of the machine hit both sides
        runs_ours.append(timed(ours))
        runs_theirs.append(timed(theirs))
    bpb_ours, seconds_ours = runs_ours[0][0], statistics.median(s for _, s in runs_ours)
    bpb_theirs, seconds_theirs = runs_theirs[0][0], statistics.median(s for _, s in runs_theirs)
    print("| model | docs | tokens | cptbench batch tokens | cptbench tok/s | lm-eval batch | lm-eval tok/s | ratio | BPB cptbench | BPB lm-eval |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.model} | {len(texts)} | {tokens} | {args.batch_tokens} | {tokens / seconds_ours:.1f} "
        f"| {args.lmeval_batch} | {tokens / seconds_theirs:.1f} "
        f"| {seconds_theirs / seconds_ours:.2f}x | {bpb_ours:.6f} | {bpb_theirs:.6f} |"
    )


if __name__ == "__main__":
    main()
