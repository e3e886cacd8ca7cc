"""Splitting a stage over processes: the global batch kept, the padded row count, and the one-line
refusals of what ``--processes`` cannot do. (The 2-process training itself: tests/integration/test_processes.py.)"""

import dataclasses

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.config.suites import load_recipe, load_suite
from cptbench.core.errors import ConfigError
from cptbench.run.processes import accelerate_config_path, check_processes
from cptbench.train.distributed import padded_rows, split_batch


@pytest.mark.parametrize(("per_device", "accumulation", "processes", "expected"), [
    (1, 2, 2, (1, 1)),
    (4, 1, 2, (2, 1)),  # the micro-batch shrinks rather than the accumulation growing memory
    (2, 4, 2, (2, 2)),
    (8, 2, 4, (4, 1)),
    (3, 4, 2, (3, 2)),
    (1, 8, 1, (1, 8)),
])
def test_split_batch_keeps_the_global_batch(per_device, accumulation, processes, expected):
    size, steps = split_batch(per_device, accumulation, processes)
    assert (size, steps) == expected
    assert size * steps * processes == per_device * accumulation
    assert size <= per_device


def test_a_global_batch_the_processes_cannot_share_is_one_line():
    with pytest.raises(ConfigError, match=r"--processes 2: the recipe's global batch .* = 1\) must be a multiple"):
        split_batch(1, 1, 2)


@pytest.mark.parametrize(("rows", "per_device", "processes", "expected"), [(7, 1, 2, 8), (8, 1, 2, 8), (5, 2, 2, 8), (1, 4, 3, 12)])
def test_padded_rows_give_every_process_whole_batches(rows, per_device, processes, expected):
    total = padded_rows(rows, per_device, processes)
    assert total == expected and total % (per_device * processes) == 0 and 0 <= total - rows < per_device * processes


def test_check_processes_refusals():
    crossdomain = load_suite("crossdomain")
    cpt = {"cpt": load_recipe("cpt")}  # global batch 1
    with pytest.raises(ConfigError, match="recipe cpt: --processes 2: the recipe's global batch"):
        check_processes(2, None, cpt, crossdomain, crossdomain.budget("smoke"))
    medexplain = load_suite("medexplain")
    grpo = next(stage.name for stage in medexplain.stages if stage.kind == "grpo")
    with pytest.raises(ConfigError, match=f"stage {grpo} is a grpo stage"):
        check_processes(2, None, {}, medexplain, medexplain.budget(None))
    facts = load_suite("facts")
    with pytest.raises(ConfigError, match="eval_every"):
        check_processes(2, None, {}, facts, dataclasses.replace(facts.budget("smoke"), eval_every=2))
    with pytest.raises(ConfigError, match="--accelerate-config /nowhere.yaml: no such file"):
        check_processes(1, accelerate_config_path("/nowhere.yaml"), {}, crossdomain, crossdomain.budget("smoke"))


def test_shipped_accelerate_configs_resolve_by_name():
    for name in ("ddp", "fsdp", "deepspeed_zero2"):
        assert accelerate_config_path(name).is_file()


def test_run_started_by_a_launcher_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = CliRunner().invoke(app, ["run", "--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama"])
    assert result.exit_code == 2
    assert "WORLD_SIZE=2: start cptbench run once, with --processes 2" in result.output
