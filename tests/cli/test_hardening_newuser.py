"""What a new user trips on: the documented multi-process commands get past their checks with the
shipped multi-process recipe (``trainers/cpt_multi.yaml``), ``cptbench report NAIVE JOINT``
compares the two on the metrics they share instead of exiting 2, and ``--backend vllm`` on the
documented tiny test model is refused up front, naming its head size."""

import copy
import json
import os

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.resources import recipes_dir, tasks_dir

# docs/scale.md: one node, 8 GPUs; the model is replaced by one that resolves to nothing, so each
# command stops at the first check after the ones --processes makes (the model is resolved last)
DOCUMENTED = [
    "cptbench run --suite crossdomain --model HuggingFaceTB/SmolLM2-1.7B --recipe cpt=cpt_multi --processes 8 --accelerate-config ddp",
    "cptbench run --suite crossdomain --model meta-llama/Llama-3.1-8B --recipe cpt=cpt_multi --processes 8 --accelerate-config fsdp",
    "cptbench run --suite crossdomain --recipe cpt=cpt_multi --processes 8 --accelerate-config deepspeed_zero2",
    "cptbench run --suite crossdomain --budget smoke --model tiny-llama --recipe cpt=cpt_multi --processes 2",
]


def one_error(result, *fragments):
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def args_without_model(command: str) -> list[str]:
    args = command.split()[1:]
    if "--model" in args:
        i = args.index("--model")
        del args[i:i + 2]
    return [*args, "--model", "no-such-model"]


@pytest.mark.parametrize("command", DOCUMENTED)
def test_documented_multi_process_command_passes_its_checks(command, tmp_path, data_dir):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, [*args_without_model(command), "--out", str(out)])
    one_error(result, "--model no-such-model")  # past --processes, the recipe's batch and the Accelerate config
    assert not out.exists()


def test_multi_process_recipe_shares_its_batch_with_2_4_and_8():
    from cptbench.config.suites import load_recipe
    from cptbench.train.distributed import split_batch

    recipe = load_recipe("cpt_multi", "cpt")
    assert (recipes_dir() / "cpt_multi.yaml").is_file()
    for processes in (1, 2, 4, 8):
        per_device, accumulation = split_batch(recipe.per_device_train_batch_size, recipe.gradient_accumulation_steps, processes)
        assert per_device * accumulation * processes == 8


def test_the_one_process_recipe_is_refused_with_8(tmp_path, data_dir):
    result = CliRunner().invoke(app, ["run", "--suite", "crossdomain", "--processes", "8", "--accelerate-config", "ddp",
                                      "--out", str(tmp_path / "run")])
    one_error(result, "recipe cpt", "global batch")


# --- report NAIVE JOINT ----------------------------------------------------------------------------

SUBMISSION = tasks_dir().parent / "leaderboards" / "facts" / "submissions" / "facts-naive-s0.json"


def joint_of(naive: dict) -> dict:
    """The record a joint run has: two rows (base, joint), every stage's task aligned to the joint
    stage, one training entry; the same items scored (here: naive's first and last rows)."""
    from cptbench.core import metrics, records

    migrate = getattr(records, "migrate_record", lambda raw: raw)  # older record schemas, read as the current one

    record = copy.deepcopy(naive)
    last = len(record["matrix"]) - 1
    record["stages"] = ["joint"]
    record["tasks"] = [{**t, "stage": None if t["stage"] is None else 1} for t in record["tasks"]]
    for key in ("matrix", "details", "samples"):
        record[key] = [record[key][0], record[key][last]]
    record["training"] = [{**record["training"][-1], "stage": "joint"}]
    record["method"] = {**record["method"], "name": "joint", "order": naive["stages"]}
    record["curves"] = None
    parsed = records.RunRecord.model_validate(migrate(copy.deepcopy(record)))
    record["metrics"] = metrics.as_dict(metrics.compute_all(records.matrix_from_record(parsed)))
    return record


@pytest.fixture
def naive_and_joint(tmp_path):
    naive = json.loads(SUBMISSION.read_text())
    naive.pop("submission")
    folders = []
    for name, record in (("naive", naive), ("joint", joint_of(naive))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "record.json").write_text(json.dumps(record))
        folders.append(folder)
    return folders


def test_report_naive_joint_compares_the_metrics_they_share(naive_and_joint):
    naive, joint = naive_and_joint
    result = CliRunner().invoke(app, ["report", str(naive), str(joint)])
    assert result.exit_code == 0, result.output
    rows = {line.split("|")[1].strip(): line for line in result.output.splitlines() if line.startswith("| ")}
    final = rows["final[logprob]"].split("|")
    assert final[4].strip() not in ("", "—")  # B − A of final performance, with its interval
    assert "—" in rows["bwt[logprob]"]  # joint has no backward transfer: no delta, no verdict


# --- vLLM on the tiny model ------------------------------------------------------------------------


def test_vllm_on_the_tiny_model_is_refused_naming_its_head_size(tmp_path, data_dir, tiny_model_path):
    out = tmp_path / "run"
    env = {"CPTBENCH_VLLM_PYTHON": os.__file__, "CPTBENCH_VLLM_URL": ""}  # an environment that exists
    result = CliRunner().invoke(app, ["run", "--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama",
                                      "--backend", "vllm", "--out", str(out)], env=env)
    one_error(result, "heads of size 16", "32, 64")
    assert not out.exists()
