"""Train one exported cpt stage with plain ``transformers.Trainer`` — no cptbench code.

It stands for "your own training stack": it reads a stage file written by ``cptbench export``
(one ``{"text": ...}`` per line), appends EOS to each document, packs the tokens into blocks and
trains a causal LM on them, then saves the model and tokenizer for ``cptbench evaluate-sequence``.

    python examples/external_trainer/train_stage.py --model BASE_DIR --data export/1-politics.jsonl --out ckpt/1
"""

from __future__ import annotations

import argparse
import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, default_data_collator


def packed_blocks(path: str, tokenizer, block: int) -> list[dict]:
    """Documents + EOS, concatenated and cut into ``block``-token examples (the last one shorter)."""
    ids: list[int] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            ids += tokenizer(json.loads(line)["text"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return [{"input_ids": ids[i : i + block], "labels": ids[i : i + block]} for i in range(0, len(ids), block)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the checkpoint to start from (a model directory)")
    parser.add_argument("--data", required=True, help="an exported stage file (JSONL of {'text'})")
    parser.add_argument("--out", required=True)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--block", type=int, default=512, help="tokens per training example")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    block = min(args.block, model.config.max_position_embeddings)
    train = packed_blocks(args.data, tokenizer, block)
    if args.batch > 1:  # equal lengths for batches: drop the short tail block
        train = [example for example in train if len(example["input_ids"]) == block]
    training = TrainingArguments(
        output_dir=f"{args.out}/trainer", learning_rate=args.learning_rate, num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch, lr_scheduler_type="cosine", warmup_steps=0.1, seed=args.seed,
        save_strategy="no", report_to=[], logging_steps=10, use_cpu=not torch.cuda.is_available(),
    )
    Trainer(model=model, args=training, train_dataset=train, data_collator=default_data_collator).train()
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    print(f"saved {args.out} ({len(train)} blocks of at most {block} tokens)")


if __name__ == "__main__":
    main()
