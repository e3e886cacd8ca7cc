"""Learning-rate schedules per stage, read back from the trainer's log (tiny model, a few steps)."""

import itertools
import math
from pathlib import Path

import pytest

from cptbench.train.common import common_arguments
from cptbench.train.cpt import train_cpt
from cptbench.train.recipes import CPTRecipe

# 63 bytes + EOS = 64 tokens per document (byte-level tokenizer): one packed chunk each, 20 steps.
TEXTS = [f"Document {i:02d}: the committee met in Brussels and voted on it all." for i in range(20)]
PEAK = 1e-3
WARMUP = 0.2


def _rates(tiny_model_path, tmp_path, *, first_stage=True, **fields):
    recipe = CPTRecipe(max_length=64, learning_rate=PEAK, warmup_ratio=WARMUP, **fields)
    result = train_cpt(tiny_model_path, TEXTS, recipe, tmp_path / "ckpt", seed=0, first_stage=first_stage)
    assert len(result.learning_rates) == result.steps
    return [lr / PEAK for lr in result.learning_rates]


def _warms_up(rates, steps):
    """Starts at 0 and rises linearly to the peak over the first ``steps`` steps."""
    assert rates[: steps + 1] == pytest.approx([i / steps for i in range(steps + 1)], abs=1e-9)


def test_texts_make_twenty_steps(tiny):
    _, tokenizer = tiny
    assert {len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in TEXTS} == {64}


def test_cosine_warms_up_then_decays_to_zero(tiny_model_path, tmp_path):
    rates = _rates(tiny_model_path, tmp_path, lr_scheduler_type="cosine")
    warmup = math.ceil(WARMUP * len(rates))
    _warms_up(rates, warmup)
    after = rates[warmup:]
    assert all(a > b for a, b in itertools.pairwise(after))  # strictly decreasing after the peak
    assert rates[-1] < 0.02  # ~0 at the end of the stage
    middle = warmup + (len(rates) - warmup) // 2
    assert rates[middle] == pytest.approx(0.5, abs=0.01)  # a half cosine, not linear to a floor


def test_constant_with_warmup_stays_flat(tiny_model_path, tmp_path):
    rates = _rates(tiny_model_path, tmp_path, lr_scheduler_type="constant_with_warmup")
    warmup = math.ceil(WARMUP * len(rates))
    _warms_up(rates, warmup)
    assert rates[warmup:] == pytest.approx([1.0] * (len(rates) - warmup))


@pytest.mark.parametrize("accumulation", [1, 2])
def test_warmup_stable_decay_decays_over_the_last_steps(tiny_model_path, tmp_path, accumulation):
    rates = _rates(
        tiny_model_path, tmp_path, lr_scheduler_type="warmup_stable_decay", decay_ratio=0.3,
        gradient_accumulation_steps=accumulation,
    )
    steps = len(rates)
    assert steps == 20 // accumulation  # optimizer steps, not batches
    warmup, decay = math.ceil(WARMUP * steps), math.ceil(0.3 * steps)
    _warms_up(rates, warmup)
    stable_end = steps - decay  # the decay's first step still runs at the peak (progress 0)
    assert rates[warmup : stable_end + 1] == pytest.approx([1.0] * (stable_end + 1 - warmup))
    tail = rates[stable_end:]
    assert all(a > b for a, b in itertools.pairwise(tail))
    # transformers' WSD decays by a half cosine: the last step is (decay - 1) / decay of the way down
    assert rates[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * (decay - 1) / decay)))


def test_no_rewarm_skips_warmup_after_the_first_stage(tiny_model_path, tmp_path):
    rates = _rates(tiny_model_path, tmp_path, first_stage=False, lr_scheduler_type="cosine", rewarm=False)
    assert rates[0] == pytest.approx(1.0)  # starts at the peak
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[-1] < 0.02


def test_rewarm_flag_decides_warmup_per_stage():
    def warmup(rewarm, first_stage):
        recipe = CPTRecipe(warmup_ratio=WARMUP, rewarm=rewarm)
        return common_arguments(recipe, Path("unused"), seed=0, first_stage=first_stage)["warmup_steps"]

    assert warmup(rewarm=False, first_stage=True) == WARMUP
    assert warmup(rewarm=False, first_stage=False) == 0.0
    assert warmup(rewarm=True, first_stage=False) == WARMUP
