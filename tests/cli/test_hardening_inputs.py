"""Every bad input is one ``error:`` line and exit code 2, found before anything is written: files
cptbench reads (deep nesting, huge integers, YAML alias bombs, non-UTF-8), suite and recipe fields
of the wrong type or absurd size, data that would train or score nothing, lm-eval tasks that
cannot run, an environment the run cannot use, and command-line values out of range."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.resources import tasks_dir

SUITE = """\
name: mini
version: 1
stages:
  - {name: one, recipe: RECIPE, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {train: corpora/train.jsonl}}, splits: [train], text: "{title}: {body}"}}
tasks:
  - {name: one_bpb, kind: bpb, stage: one, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}, split: test, text: body}}
budgets:
  smoke: {train_tokens: 200, eval_docs: 2}
default_budget: smoke
"""
RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 64\n"
TRAIN = [{"title": f"t{i}", "body": f"some text {i}"} for i in range(4)]
TEST = [{"body": f"held out {i}"} for i in range(3)]
BPB_TASK = "{name: one_bpb, kind: bpb, stage: one, data: {source: hf, dataset_path: json, dataset_kwargs: {data_files: {test: corpora/test.jsonl}}, split: test, text: body}}"


def write_jsonl(path: Path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def world(tmp_path, tiny_model_path):
    (tmp_path / "corpora").mkdir()
    write_jsonl(tmp_path / "corpora" / "train.jsonl", TRAIN)
    write_jsonl(tmp_path / "corpora" / "test.jsonl", TEST)
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    (tmp_path / "suite.yaml").write_text(SUITE.replace("RECIPE", str(tmp_path / "recipe.yaml")))
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def suite_case(old, new):
    return lambda w: edit(w / "suite.yaml", old, new)


def recipe_case(extra):
    return lambda w: (w / "recipe.yaml").write_text(RECIPE + extra)


def lmeval_task(w, task_yaml: str, metric: str) -> None:
    (w / "lmeval").mkdir()
    (w / "lmeval" / "task.yaml").write_text(task_yaml)
    edit(w / "suite.yaml", BPB_TASK, BPB_TASK + f"\n  - {{name: general, kind: lmeval, stage: general, lmeval: "
                                                 f"{{task: probe_task, include: {w / 'lmeval'}, metric: {metric}, direction: lower}}}}")


HUB_TASK = "task: probe_task\ndataset_path: no-such-user/no-such-data\noutput_type: loglikelihood_rolling\ndoc_to_text: ''\ndoc_to_target: '{{text}}'\ntest_split: test\n"
LOCAL_TASK = (tasks_dir() / "lmeval" / "cptbench_reuters_bpb.yaml").read_text().replace("cptbench_reuters_bpb", "probe_task")
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))

RUN_CASES = {
    # files cptbench reads: one guarded reader
    "YAML alias bomb": (lambda w: (w / "suite.yaml").write_text(BOMB + (w / "suite.yaml").read_text()), ["suite.yaml", "values"]),
    "YAML nested 10000 deep": (lambda w: (w / "suite.yaml").write_text("x: " + "[" * 10000 + "]" * 10000 + "\n"), ["suite.yaml", "nested"]),
    "YAML integer of 5000 digits": (suite_case("version: 1", "version: 1" + "0" * 5000), ["suite.yaml"]),
    "non-UTF-8 data file": (lambda w: (w / "corpora" / "train.jsonl").write_bytes(b'{"title": "Caf\xe9", "body": "x"}\n'), ["train"]),
    # suite fields
    "budget name that is a path": (suite_case("  smoke: {", "  ../../escape: {train_tokens: 1, eval_docs: 1}\n  smoke: {"), ["suite.yaml", "budgets"]),
    "data_files of the wrong type": (suite_case("data_files: {train: corpora/train.jsonl}", "data_files: 5"), ["suite.yaml", "data_files"]),
    "data_files list of numbers": (suite_case("data_files: {train: corpora/train.jsonl}", "data_files: [1, 2]"), ["suite.yaml", "data_files"]),
    "huge format width": (suite_case('text: "{title}: {body}"', 'text: "{title:>999999999}"'), ["suite.yaml", "stages.0.data.text", "width"]),
    "split and splits both": (suite_case("splits: [train]", "splits: [train], split: train"), ["suite.yaml", "split"]),
    # recipe fields
    "recipe kind a list": (lambda w: (w / "recipe.yaml").write_text(RECIPE.replace("kind: cpt", "kind: [cpt]")), ["recipe.yaml", "kind"]),
    "recipe batch 1e29": (recipe_case("per_device_train_batch_size: 1.0e+29\n"), ["recipe.yaml", "per_device_train_batch_size"]),
    "recipe max_length 1": (lambda w: (w / "recipe.yaml").write_text(RECIPE.replace("max_length: 64", "max_length: 1")), ["recipe.yaml", "max_length"]),
    "recipe epochs a string": (recipe_case("num_train_epochs: many\n"), ["recipe.yaml", "num_train_epochs"]),
    "LoRA module that does not exist": (recipe_case("lora: {target_modules: [qproj]}\n"), ["target_modules", "'qproj'", "q_proj"]),
    # data that would train or score nothing
    "documents render empty": (lambda w: write_jsonl(w / "corpora" / "train.jsonl", [{"title": "", "body": " "}] * 3)
                               or edit(w / "suite.yaml", 'text: "{title}: {body}"', 'text: "{title}{body}"'),
                               ["suite.yaml", "stages.0.data.text", "render empty"]),
    "bpb on an empty document": (lambda w: write_jsonl(w / "corpora" / "test.jsonl", [{"body": ""}, {"body": "text"}]),
                                 ["suite.yaml", "tasks.0.data.text", "render"]),
    # lm-eval tasks that cannot run
    "lm-eval metric not reported": (lambda w: lmeval_task(w, LOCAL_TASK, "acc"), ["lmeval.metric", "'acc'", "bits_per_byte"]),
    "lm-eval Hub task offline": (lambda w: lmeval_task(w, HUB_TASK, "bits_per_byte"), ["probe_task", "no-such-user/no-such-data"]),
}


def one_error(result, *fragments):
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def run(world, *extra, env=None):
    out = world / "out"
    args = ["run", "--suite", str(world / "suite.yaml"), "--model", "tiny-llama", "--out", str(out), *extra]
    return CliRunner().invoke(app, args, env=env), out


@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_bad_input_is_one_line_before_anything_is_written(world, name):
    breaker, expected = RUN_CASES[name]
    breaker(world)
    result, out = run(world)
    one_error(result, *expected)
    assert not out.exists()


CHECK_CASES = ["documents render empty", "bpb on an empty document", "lm-eval metric not reported",
               "lm-eval Hub task offline", "data_files of the wrong type"]


@pytest.mark.parametrize("name", CHECK_CASES)
def test_suites_check_finds_what_the_run_would(world, name):
    breaker, expected = RUN_CASES[name]
    breaker(world)
    result = CliRunner().invoke(app, ["suites", "check", str(world / "suite.yaml")])
    one_error(result, *expected)


def test_sft_stage_of_empty_completions_trains_nothing(world):
    write_jsonl(world / "corpora" / "qa.jsonl", [{"q": "Why?", "a": ""}, {"q": "How?", "a": "  "}])
    stage = ("  - {name: two, kind: sft, recipe: sft, data: {source: hf, dataset_path: json, dataset_kwargs: "
             "{data_files: {train: corpora/qa.jsonl}}, splits: [train], prompt: q, completion: a}}\n")
    edit(world / "suite.yaml", "tasks:\n", stage + "tasks:\n")
    result = CliRunner().invoke(app, ["suites", "check", str(world / "suite.yaml")])
    one_error(result, "stage two", "completion", "no token")


@pytest.mark.parametrize(
    "extra,env,fragment",
    [
        (["--budget", ""], {}, "--budget ''"),
        (["--processes", "0"], {}, "'--processes'"),
        (["--eval-every", "0"], {}, "'--eval-every'"),
        ([], {"WORLD_SIZE": "abc"}, "WORLD_SIZE='abc'"),
        (["--backend", "vllm"], {"CPTBENCH_VLLM_PYTHON": "/no/such/python", "CPTBENCH_VLLM_URL": ""}, "no vLLM environment"),
    ],
)
def test_bad_option_or_environment(world, extra, env, fragment):
    result, out = run(world, *extra, env=env)
    one_error(result, fragment)
    assert not out.exists()


def test_split_and_splits_both_spellings_load(world):
    edit(world / "suite.yaml", "splits: [train]", "split: train")
    edit(world / "suite.yaml", "split: test", "splits: [test]")
    result = CliRunner().invoke(app, ["suites", "check", str(world / "suite.yaml")])
    assert result.exit_code == 0, result.output
    from cptbench.config.suites import load_suite

    edited = load_suite(str(world / "suite.yaml"))
    edit(world / "suite.yaml", "split: train", "splits: [train]")
    edit(world / "suite.yaml", "splits: [test]", "split: test")
    assert load_suite(str(world / "suite.yaml")).content_hash == edited.content_hash  # one suite, either spelling


# --- writing: one writer, an OSError is one line --------------------------------------------------

SUBMISSION = tasks_dir().parent / "leaderboards" / "facts" / "submissions" / "facts-naive-s0.json"


@pytest.fixture
def record_dir(tmp_path):
    """A real run's record (a committed facts submission without its header)."""
    record = json.loads(SUBMISSION.read_text())
    record.pop("submission")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "record.json").write_text(json.dumps(record))
    return folder


WRITERS = {
    "report": lambda run, out: ["report", str(run), "--out", str(out)],
    "baseline create": lambda run, out: ["baseline", "create", str(run), "--out", str(out / "baseline.json")],
    "submit": lambda run, out: ["submit", str(run), "--name", "x", "--leaderboards", str(out)],
    "sweep": lambda run, out: ["sweep", "--suite", "facts", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)],
    "export": lambda run, out: ["export", "--suite", "facts", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_writing_onto_a_file_is_one_line(record_dir, tmp_path, command):
    (tmp_path / "notes").write_text("mine\n")
    result = CliRunner().invoke(app, WRITERS[command](record_dir, tmp_path / "notes" / "out"))
    one_error(result, "notes is a file, not a folder")
    assert (tmp_path / "notes").read_text() == "mine\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc here")
@pytest.mark.parametrize("command", ["report", "baseline create", "submit", "sweep"])
def test_writing_where_nothing_can_be_created_is_one_line(record_dir, command):
    one_error(CliRunner().invoke(app, WRITERS[command](record_dir, Path("/proc/cptbench-out"))), "/proc/cptbench-out", "cannot write")


def test_a_full_disk_is_one_line(tmp_path, monkeypatch):
    import errno

    from cptbench.core.errors import CptbenchError
    from cptbench.core.io import write_json_atomic

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(CptbenchError, match="cannot write \\(no space left on the device\\)"):
        write_json_atomic(tmp_path / "x.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []  # the temp file is gone too
    from cptbench.run.store import RunDir

    monkeypatch.setattr(Path, "open", full)
    with pytest.raises(CptbenchError, match="run.log: cannot write \\(no space left on the device\\)"):
        RunDir(tmp_path / "run").append_log("a line the disk has no room for")


def test_a_full_disk_mid_export_is_one_line(tmp_path, monkeypatch, tiny_model_path):
    """The disk fills after the first stage's JSONL: one line naming the file, exit 2, and nothing
    half-written (neither --out nor the temp folder it was filled in)."""
    import errno

    written = []
    real = Path.write_bytes

    def fills_up(self, data):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(self.name)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", fills_up)
    out = tmp_path / "exported"
    result = CliRunner().invoke(app, WRITERS["export"](None, out))
    one_error(result, f"{out}{os.sep}2-", "cannot write (no space left on the device)")
    assert written == ["1-" + written[0][2:]] and not out.exists() and list(tmp_path.iterdir()) == []


def test_sweep_on_slurm_without_sbatch_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    out = tmp_path / "sweep"
    result = CliRunner().invoke(app, ["sweep", "--suite", "facts", "--budget", "smoke", "--model", "tiny-llama",
                                      "--executor", "slurm", "--out", str(out)])
    one_error(result, "--executor slurm", "sbatch")
    assert not out.exists()


def test_child_processes_of_lm_eval_print_nothing_outside_a_checkout(tmp_path, monkeypatch, capfd):
    """lm-eval runs `git describe` for its record: outside a git checkout, git's "fatal: not a git
    repository" went to the terminal on every evaluation."""
    import shutil
    import subprocess

    from cptbench.eval.kinds.lmeval import _stderr_to

    if shutil.which("git") is None:
        pytest.skip("no git here")
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    with _stderr_to(__import__("io").StringIO()):
        subprocess.run(["git", "describe", "--always"], check=False, stdout=subprocess.DEVNULL)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("line,fragment", [("[" * 10000 + "]" * 10000, "nested"), ('{"text": NaN}', "not finite"),
                                           ('{"text": 1' + "0" * 5000 + "}", "digits")])
def test_train_data_line_is_bounded(tmp_path, line, fragment):
    data = tmp_path / "data.jsonl"
    data.write_text('{"text": "fine"}\n' + line + "\n")
    result = CliRunner().invoke(app, ["train", "--kind", "cpt", "--data", str(data), "--model", "tiny-llama",
                                      "--out", str(tmp_path / "out")])
    one_error(result, "data.jsonl: line 2", fragment)
    assert not (tmp_path / "out").exists()
