"""The measurements of the GPU check, one per process (benchmarks/gpu_check.py starts each under a
timeout). Each writes its result as JSON to ``--result``.

    python benchmarks/gpu_steps.py env --result FILE
    python benchmarks/gpu_steps.py throughput --result FILE [--tiny] [--data DIR] [--docs N] [--repeats R]
    python benchmarks/gpu_steps.py train --result FILE --size smollm2-135m|llama-1b|tiny|tiny-wide --seq S --batch B --steps N --work DIR

Models are built from configs with random weights (no weights travel to the GPU machine): the
SmolLM2-135M architecture, a Llama-3.2-1B-shaped model, and two tiny ones for CPU runs; every one
uses cptbench's byte-level tokenizer (one token per UTF-8 byte), so a document's tokens are its bytes.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

from gpu_suites import find_data, synthetic_documents

# (hidden, intermediate, layers, heads, kv heads, vocab, context, rope theta)
ARCHITECTURES = {
    "smollm2-135m": (576, 1536, 30, 9, 3, 49152, 8192, 100000.0),  # HuggingFaceTB/SmolLM2-135M
    "llama-1b": (2048, 8192, 16, 32, 8, 128256, 4096, 500000.0),  # meta-llama/Llama-3.2-1B (context cut to 4096)
    "tiny": (64, 128, 2, 4, 2, None, 256, 10000.0),  # cptbench's tiny-llama shape
    "tiny-wide": (128, 256, 2, 4, 2, None, 256, 10000.0),
}
# dense bf16 peak of each card, TFLOP/s (NVIDIA data sheets; SXM unless named)
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4), ("H200", 989.4), ("GH200", 989.4),
                    ("A100", 312.0), ("L40S", 362.0), ("B200", 2250.0))
PACKAGES = ("torch", "transformers", "trl", "datasets", "accelerate", "peft", "lm_eval", "pydantic", "huggingface_hub",
            "pyarrow", "sentence-transformers", "typer")


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.machine()})"


def peak_tflops(name: str) -> float | None:
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in name), None)


def env_step(args) -> dict:
    from importlib import metadata

    import torch

    from cptbench.models.resolve import resolve_model

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(), "packages": versions, "cuda": cuda, "device": device_name(),
        "cuda_version": torch.version.cuda, "capability": list(torch.cuda.get_device_capability(0)) if cuda else None,
        "bf16_supported": bool(cuda and torch.cuda.is_bf16_supported()), "cpu_count": torch.get_num_threads(),
        "tiny_model": str(resolve_model("tiny-llama").path),  # built from a config here, shared by the runs after
    }


def build_model(size: str, device: str):
    """(model, tokenizer): ``size``'s architecture with random weights from seed 0, on ``device``
    (bf16 on CUDA unless CPTBENCH_CUDA_DTYPE says float32, fp32 on CPU, as cptbench loads models)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from cptbench.models.resolve import build_byte_tokenizer, cuda_dtype

    hidden, intermediate, layers, heads, kv, vocab, context, theta = ARCHITECTURES[size]
    tokenizer = build_byte_tokenizer()
    tokenizer.model_max_length = context
    config = LlamaConfig(vocab_size=vocab or len(tokenizer), hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                         max_position_embeddings=context, rope_theta=theta, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    dtype = getattr(torch, cuda_dtype()) if device == "cuda" else torch.float32
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    return model.eval(), tokenizer


def flops_per_token(model, seq: int) -> tuple[float, int]:
    """Training FLOPs per token, PaLM's appendix-B count: 6 N + 12 L H S, N the weights of every
    matrix multiply (the tied LM head counted once, the embedding lookup not at all), L layers, H
    the hidden size, S the sequence length. Returns (flops, N)."""
    config = model.config
    total = sum(p.numel() for p in model.parameters())  # tied embeddings: one tensor
    embedding = config.vocab_size * config.hidden_size
    matmul = total if config.tie_word_embeddings else total - embedding
    return 6.0 * matmul + 12.0 * config.num_hidden_layers * config.hidden_size * seq, matmul


def documents(data: Path | None, count: int) -> tuple[list[str], str]:
    """``count`` test documents (4 sentences each): CrossNER's six domains in turn, or synthetic."""
    if data is None:
        return synthetic_documents("news", count, seed=3), "synthetic"
    import os

    os.environ["CPTBENCH_DATA_DIR"] = str(data)
    from cptbench.core.spec import DataSpec
    from cptbench.data.corpus import spread
    from cptbench.data.sources import load_texts

    domains = ("politics", "science", "music", "literature", "ai", "conll2003")
    pools = [load_texts(DataSpec("crossner", d, ("test",)), 4).texts for d in domains]
    mixed = [doc for group in zip(*pools) for doc in group] + [doc for pool in pools for doc in pool]
    return list(spread(tuple(dict.fromkeys(mixed)), count)), "crossner test, 6 domains"


def throughput_step(args) -> dict:
    """Rolling BPB tokens/s: cptbench's HF backend and lm-eval's HFLM on the same documents, model
    and first token (the backend's prefix token), medians of ``--repeats`` alternating calls."""
    import torch
    from paired_timing import measure

    from cptbench.cli.quiet import quiet_libraries
    from cptbench.core.matrix import Direction
    from cptbench.core.resources import tasks_dir
    from cptbench.core.spec import LmEvalRef
    from cptbench.eval.backends.hf import HFBackend
    from cptbench.eval.kinds.bpb import bits_per_byte
    from cptbench.eval.kinds.lmeval import evaluate_lmeval

    quiet_libraries()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = build_model("tiny" if args.tiny else "smollm2-135m", device)
    texts, origin = documents(find_data(args.data), args.docs)
    tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])
    task = LmEvalRef("cptbench_reuters_bpb", "bits_per_byte", Direction.LOWER, tasks_dir() / "lmeval")
    sides = {}
    for batch_tokens in args.batch_tokens:
        backend = HFBackend(model, tokenizer, batch_tokens=batch_tokens)
        sides[f"cptbench hf, {batch_tokens} tokens/batch"] = (lambda b=backend: bits_per_byte(b.loglikelihood_rolling(texts)))
    reference = HFBackend(model, tokenizer)
    for batch in args.lmeval_batch:
        sides[f"lm-eval HFLM, batch {batch}"] = (lambda n=batch: evaluate_lmeval(reference, task, texts, batch_size=n).value)
    runs = measure(sides, args.repeats)
    rows = {side: {"bpb": value, "seconds": seconds, "tokens_per_second": tokens / seconds} for side, (value, seconds, _) in runs.items()}
    ours = max((r for s, r in rows.items() if s.startswith("cptbench")), key=lambda r: r["tokens_per_second"])
    theirs = max((r for s, r in rows.items() if s.startswith("lm-eval")), key=lambda r: r["tokens_per_second"])
    bpbs = [r["bpb"] for r in rows.values()]
    return {"device": device_name(), "model": "tiny" if args.tiny else "smollm2-135m (random weights)",
            "dtype": str(next(model.parameters()).dtype).removeprefix("torch."), "documents": len(texts), "origin": origin,
            "tokens": tokens, "repeats": args.repeats, "sides": rows,
            "ratio_best": ours["tokens_per_second"] / theirs["tokens_per_second"],
            "bpb_max_relative_difference": (max(bpbs) - min(bpbs)) / abs(min(bpbs))}


def train_step(args) -> dict:
    """tokens/s and MFU of cptbench's cpt trainer (TRL SFTTrainer, packed) on a random model."""
    import torch

    from cptbench.cli.quiet import quiet_libraries
    from cptbench.models.resolve import save_atomically
    from cptbench.train.cpt import train_cpt
    from cptbench.train.recipes import CPTRecipe

    quiet_libraries()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = build_model(args.size, device)
    flops, matmul = flops_per_token(model, args.seq)
    attention = model.config._attn_implementation
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    folder = args.work / f"train-{args.size}"
    shutil.rmtree(folder, ignore_errors=True)
    save_atomically(model, tokenizer, folder / "start")
    del model
    per_doc = 2000  # byte tokens (+ the EOS the trainer appends): packed rows cut across documents, as in a real corpus
    need = args.steps * args.batch * args.seq  # tokens for exactly ``--steps`` full optimizer steps
    count = -(-need // (per_doc + 1))
    texts = [t[:per_doc] for t in synthetic_documents("news", count, sentences=40)]
    texts[-1] = texts[-1][:need - (count - 1) * (per_doc + 1) - 1]
    recipe = CPTRecipe(learning_rate=1e-4, warmup_ratio=0.0, per_device_train_batch_size=args.batch, max_length=args.seq,
                       lr_scheduler_type="constant")
    stamps: list[float] = []
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def progress(step: int, total: int) -> None:
        if device == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    result = train_cpt(folder / "start", texts, recipe, folder / "end", seed=0, work_dir=folder / "work", progress=progress)
    warm = min(2, len(stamps) - 2)
    steady = (len(stamps) - 1 - warm) * args.batch * args.seq / (stamps[-1] - stamps[warm]) if len(stamps) > warm + 1 else None
    peak = peak_tflops(device_name())
    shutil.rmtree(folder, ignore_errors=True)
    return {"device": device_name(), "size": args.size, "parameters_matmul": matmul, "dtype": dtype, "attention": attention,
            "seq": args.seq, "batch": args.batch, "steps": result.steps, "tokens": result.tokens, "seconds": result.seconds,
            "tokens_per_second_all": result.tokens / result.seconds, "tokens_per_second_steady": steady,
            "steady_steps": len(stamps) - 1 - warm, "flops_per_token": flops, "peak_tflops": peak,
            "mfu": steady * flops / (peak * 1e12) if (peak and steady) else None,
            "max_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
            "final_loss": result.final_loss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("env", "throughput", "train"))
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--data")
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-tokens", type=int, nargs="+", default=[1024])
    parser.add_argument("--lmeval-batch", type=int, nargs="+", default=[8])
    parser.add_argument("--size", choices=tuple(ARCHITECTURES), default="tiny")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpu-check-work"))
    args = parser.parse_args()
    started = time.perf_counter()
    result = {"env": env_step, "throughput": throughput_step, "train": train_step}[args.step](args)
    result["step_seconds"] = time.perf_counter() - started
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
