"""Rolling log-likelihood throughput: cptbench's HF backend against lm-eval's, same model and texts.

Usage (CPU, 2 threads by default):
    CPTBENCH_DATA_DIR=../shared/data python benchmarks/eval_throughput.py \
        [--model smollm2-135m-instruct] [--domain politics] [--docs 24] [--lmeval-batch 8] [--vllm] \
        [--generate 8 --new-tokens 64]

Both sides score the same documents with the same first-token convention (cptbench's prefix
token), so their bits-per-byte must agree; the script prints both values, the tokens/s of each
(tokens = the documents' tokens, timed around the scoring call, after one warm-up call each;
median of --repeats alternating calls) and the ratio. lm-eval's time includes its per-call set-up (task and dataset building), which is part
of what a user of it pays. ``--vllm`` adds a third column: cptbench's ``vllm`` backend (a managed
server from ./.venv-vllm, see scripts/setup-vllm.sh) on the same documents, timed after the other
two because a running vLLM CPU engine keeps a core busy even when idle; its engine start is
reported apart and not counted in its tokens/s. ``--generate N`` adds a generation table: greedy
answers to N PubMedQA chat prompts (the explanation task's format) from hf and, with ``--vllm``,
from vLLM; tokens/s counts generated tokens (re-tokenized answers), and the table says how many
answers are identical to hf's.
"""

from __future__ import annotations

import argparse

import torch
from paired_timing import measure, timed

from cptbench.cli.quiet import quiet_libraries
from cptbench.core.matrix import Direction
from cptbench.core.resources import tasks_dir
from cptbench.core.spec import DataSpec, LmEvalRef
from cptbench.data.corpus import spread, user_turn
from cptbench.data.sources import load_examples, load_texts
from cptbench.eval.backends.base import GenerateRequest
from cptbench.eval.backends.hf import HFBackend
from cptbench.eval.kinds.bpb import bits_per_byte
from cptbench.eval.kinds.lmeval import evaluate_lmeval
from cptbench.models.resolve import load_model, resolve_model

TASK = LmEvalRef("cptbench_reuters_bpb", "bits_per_byte", Direction.LOWER, tasks_dir() / "lmeval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--domain", default="politics")
    parser.add_argument("--docs", type=int, default=24)
    parser.add_argument("--lmeval-batch", type=int, default=8)
    parser.add_argument("--batch-tokens", type=int, default=1024, help="cptbench's batch size in tokens (default: the runner's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side, alternating; the median is reported")
    parser.add_argument("--vllm", action="store_true", help="also time the vllm backend (needs ./.venv-vllm)")
    parser.add_argument("--generate", type=int, default=0, help="also time greedy generation for this many prompts")
    parser.add_argument("--new-tokens", type=int, default=64, help="new tokens per generated answer")
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

    prompts = [backend.chat_prompt(user_turn(e)) for e in
               spread(load_examples(DataSpec("pubmedqa", "", ("test",))).items, args.generate)] if args.generate else []
    requests = [GenerateRequest(p, max_new_tokens=args.new_tokens) for p in prompts]
    runs = measure({"cptbench hf": ours, "lm-eval": theirs}, args.repeats)
    generations = measure({"cptbench hf": lambda: backend.generate(requests)}, args.repeats) if requests else {}
    if args.vllm:  # timed after the others: an idle vLLM CPU engine still keeps a core busy
        from cptbench.eval.backends.vllm import VLLMBackend

        engine, start_seconds, _ = timed(lambda: VLLMBackend.load(resolve_model(args.model).path))
        print(f"vLLM engine start: {start_seconds:.1f} s ({engine.describe().get('vllm_version')})")
        try:
            runs |= measure({"cptbench vllm": lambda: bits_per_byte(engine.loglikelihood_rolling(texts))}, args.repeats)
            if requests:
                generations |= measure({"cptbench vllm": lambda: engine.generate(requests)}, args.repeats)
        finally:
            engine.close()
    print(f"{args.model}: {len(texts)} documents, {tokens} tokens; cptbench batch {args.batch_tokens} tokens, "
          f"lm-eval batch {args.lmeval_batch}; {args.threads} torch threads")
    print("| side | tok/s | seconds (median) | time vs cptbench hf | BPB |")
    print("|---|---|---|---|---|")
    reference = runs["cptbench hf"][1]
    for side, (bpb, seconds, _) in runs.items():
        print(f"| {side} | {tokens / seconds:.1f} | {seconds:.2f} | {seconds / reference:.2f}x | {bpb:.6f} |")
    if generations:
        print(f"\ngeneration: {len(requests)} PubMedQA chat prompts, greedy, at most {args.new_tokens} new tokens each")
        print("| side | generated tok/s | seconds (median) | generated tokens | answers identical to hf's |")
        print("|---|---|---|---|---|")
        answers_hf = generations["cptbench hf"][0]
        for side, (answers, seconds, _) in generations.items():
            generated = sum(len(ids) for ids in tokenizer(list(answers), add_special_tokens=False)["input_ids"])
            same = sum(a == b for a, b in zip(answers, answers_hf))
            print(f"| {side} | {generated / seconds:.1f} | {seconds:.2f} | {generated} | {same}/{len(answers)} |")


if __name__ == "__main__":
    main()
