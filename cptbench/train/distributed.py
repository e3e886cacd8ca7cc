"""A stage trained by several processes (DDP through Accelerate) on exactly what one process trains on.

The global batch stays the recipe's, per_device_train_batch_size x gradient_accumulation_steps, for
any number of processes: the per-process micro-batch and the accumulation adapt (``split_batch``).
Optimizer step k then sees the same rows in any layout, because Accelerate hands the batches of one
sampler order round-robin to the processes.

One thing would still differ: when the stage's rows do not fill a whole number of per-process
batches, Accelerate tops the last ones up with rows from the start of the epoch, trained twice.
``train_exactly`` prevents that: the sampler yields the single-process order (the same seeded
sampler) and then filler rows, one pad token each, whose labels are masked and whose attention is
off, so they add no token, no loss and no gradient.
"""

from __future__ import annotations

import math

from cptbench.core.errors import ConfigError

FILLER = "cptbench_filler"  # a column marking filler rows; removed before the model sees a batch


def split_batch(per_device: int, accumulation: int, processes: int) -> tuple[int, int]:
    """``(per_device, accumulation)`` for ``processes`` that keep the global batch
    ``per_device x accumulation``: the largest micro-batch up to the recipe's that divides a process's
    share (a bigger one would need more memory than the recipe planned)."""
    total = per_device * accumulation
    if processes < 1 or total % processes:
        raise ConfigError(
            f"--processes {processes}: the recipe's global batch (per_device_train_batch_size {per_device} x "
            f"gradient_accumulation_steps {accumulation} = {total}) must be a multiple of the number of processes"
        )
    share = total // processes
    size = max(d for d in range(1, per_device + 1) if share % d == 0)
    return size, share // size


def padded_rows(rows: int, per_device: int, processes: int) -> int:
    """Rows plus fillers: every process gets the same number of full micro-batches."""
    whole = per_device * processes
    return math.ceil(rows / whole) * whole


def train_exactly(trainer) -> int:
    """Make a multi-process ``trainer`` train exactly the single-process rows; returns the number of
    filler rows added (0 in one process, where nothing changes)."""
    accelerator = trainer.accelerator
    if accelerator.num_processes == 1:
        return 0
    import datasets

    dataset = trainer.train_dataset
    if not isinstance(dataset, datasets.Dataset):
        raise ConfigError("--processes: the stage's training data has no length; it cannot be split exactly")
    rows = len(dataset)
    total = padded_rows(rows, trainer.args.per_device_train_batch_size, accelerator.num_processes)
    trainer._set_signature_columns_if_needed()  # the marker column must survive the unused-column removal
    trainer._signature_columns = [*trainer._signature_columns, FILLER]
    marked = dataset.add_column(FILLER, [0] * rows)
    if total > rows:
        filler = _filler_row(marked.features, dataset[0], trainer.processing_class)
        fillers = datasets.Dataset.from_list([filler] * (total - rows), features=marked.features)
        marked = datasets.concatenate_datasets([marked, fillers])
    trainer.train_dataset = marked
    trainer._get_train_sampler = lambda train_dataset=None: _SingleProcessOrder(rows, total, trainer.args.data_seed)
    trainer.data_collator = _MaskFillers(trainer.data_collator)
    return total - rows


def _filler_row(features, first: dict, tokenizer) -> dict:
    """A row of one pad token, shaped like the stage's rows."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    row = {}
    for name, value in first.items():
        if name == "input_ids":
            row[name] = [pad]
        elif name == "seq_lengths":  # packed rows: one sequence of length 1
            row[name] = [1]
        elif isinstance(value, list):
            row[name] = [-100] if name == "labels" else [0]  # masks: outside the loss
        else:
            row[name] = value
    row[FILLER] = 1
    return row


class _SingleProcessOrder:
    """The order one process would sample (Accelerate's seeded sampler over the real rows, the same
    permutation per epoch), then the filler rows. Not a RandomSampler, so Accelerate keeps it."""

    def __init__(self, rows: int, total: int, seed: int) -> None:
        from accelerate.data_loader import SeedableRandomSampler

        self.inner = SeedableRandomSampler(range(rows), data_seed=seed)
        self.rows, self.total = rows, total

    def __iter__(self):
        yield from self.inner
        yield from range(self.rows, self.total)

    def __len__(self) -> int:
        return self.total

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)


class _MaskFillers:
    """The trainer's collator, then filler rows taken out of the loss and the token count."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __call__(self, examples: list[dict]):
        fillers = [bool(example.pop(FILLER)) for example in examples]
        batch = self.inner(examples)
        if not any(fillers):
            return batch
        if batch["input_ids"].shape[0] != len(examples):
            # padding-free: one flattened row where each filler is a lone pad token at a sequence
            # start, which the collator already masks and the token count already skips
            return batch
        for index, filler in enumerate(fillers):
            if filler:
                batch["labels"][index] = -100
                if "attention_mask" in batch:
                    batch["attention_mask"][index] = 0
        return batch
