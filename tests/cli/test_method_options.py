"""``--method NAME[:key=value,...]`` through the CLI: every wrong name, key, type or range, and
every setting a method cannot run in, is one line naming the option, exit 2, nothing written."""

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app

SMOKE = ["--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama"]


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "sgd"], "--method sgd: not a registered method (naive, joint, dapt, replay, l2, ewc, distill, merge;"),
    (["--method", "ewc:lambda=-1"], "--method ewc: lambda: Input should be greater than or equal to 0"),
    (["--method", "ewc:lambda=big"], "--method ewc: lambda: Input should be a valid number"),
    (["--method", "ewc:beta=1"], "--method ewc: beta: Extra inputs are not permitted"),
    (["--method", "merge:alpha=inf"], "--method merge: alpha: Input should be a finite number"),
    (["--method", "merge:alpha=0.5,alpha=0.6"], "'alpha=0.6': expected key=value, each key once"),
    (["--method", "Naive"], "--method Naive: expected NAME[:key=value,...]"),
    (["--replay", "nan"], "--replay nan: a fraction in (0, 1)"),
    (["--replay", "0.25", "--method", "dapt"], "--replay 0.25: an alias of --method replay:fraction=0.25; it cannot join --method dapt"),
    (["--replay-extra"], "--replay-extra: applies with --replay only"),
    (["--replay", "0.25"], "--method replay (fraction 0.25): stage science would replay no document"),
    (["--method", "l2", "--recipe", "cpt=trainers/cpt_lora.yaml"], "--method l2: its loss term reads the full model's weights"),
    (["--method", "distill", "--processes", "2", "--recipe", "cpt=BATCH2"], "--method distill: its loss term is applied in the launching process only"),
])
def test_a_bad_method_is_one_line_and_writes_nothing(tmp_path, data_dir, tiny_model_path, args, message):
    out = tmp_path / "run"
    (tmp_path / "batch2.yaml").write_text("kind: cpt\nper_device_train_batch_size: 2\n")
    args = [a.replace("BATCH2", str(tmp_path / "batch2.yaml")) for a in args]
    result = CliRunner().invoke(app, ["run", *SMOKE, *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("error:")]  # (progress lines may come first)
    assert message in error and result.output.strip().endswith(error), result.output
    assert not out.exists()


def test_methods_refuse_stage_kinds_they_do_not_train(tmp_path, data_dir):
    result = CliRunner().invoke(app, ["run", "--suite", "medexplain", "--method", "ewc", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "--method ewc: needs cpt stages only, suite medexplain has grpo/sft stages" in result.output
    assert not (tmp_path / "run").exists()


def test_export_refuses_a_method_that_changes_how_cptbench_trains(tmp_path, data_dir, tiny_model_path):
    result = CliRunner().invoke(app, ["export", *SMOKE, "--method", "merge:0.5", "--out", str(tmp_path / "export")])
    assert result.exit_code == 2
    assert "--method merge: changes how cptbench trains, not what it trains on" in result.output
    assert not (tmp_path / "export").exists()


def test_methods_lists_every_method_with_its_parameters():
    result = CliRunner().invoke(app, ["methods"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines() if line and not line.startswith((" ", "use:"))]
    assert names == ["naive", "joint", "dapt", "replay", "l2", "ewc", "distill", "merge"]
    assert "lambda: float = 100000.0  [>= 0, <= 1e+12]  (NAME:VALUE sets it)" in result.output
    assert "[hooks: loss, after_stage]" in result.output  # ewc
    assert CliRunner().invoke(app, ["methods", "nope"]).exit_code == 2
