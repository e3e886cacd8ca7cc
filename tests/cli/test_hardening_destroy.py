"""Nothing destroyed, nothing resumed from a run directory cptbench did not write: an empty
``--out`` and ``--force`` on a folder that holds no run are refused; a run directory whose files
were changed by hand (config.json, attempts.json, eval and train files, a checkpoint cut short, a
``.lock`` that is a folder) is one line naming the file and ``--force`` (exit 2), never resumed."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app

SUITE = """\
name: mini
version: 1
stages:
  - {name: politics, recipe: RECIPE, data: {source: crossner, domain: politics, splits: [train]}}
tasks:
  - {name: politics_bpb, kind: bpb, stage: politics, data: {source: crossner, domain: politics, split: test}}
budgets:
  smoke: {train_tokens: 120, eval_docs: 1}
default_budget: smoke
"""
RECIPE = "kind: cpt\nlearning_rate: 1.0e-3\nmax_length: 32\n"


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory, data_dir, tiny_model_path):
    folder = tmp_path_factory.mktemp("suite")
    (folder / "recipe.yaml").write_text(RECIPE)
    (folder / "suite.yaml").write_text(SUITE.replace("RECIPE", str(folder / "recipe.yaml")))
    return folder / "suite.yaml"


def run(suite_file, out, *extra):
    result = CliRunner().invoke(app, ["run", "--suite", str(suite_file), "--model", "tiny-llama", "--out", str(out), *extra])
    return result


def one_error(result, *fragments, code=2):
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == code and len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def finished(suite_file, tmp_path_factory):
    """One finished tiny run (one stage, one task): copied and tampered with by each test."""
    out = tmp_path_factory.mktemp("finished") / "run"
    result = run(suite_file, out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def resumable(finished, tmp_path):
    """A copy of the finished run without its record: rerunning the command resumes it."""
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    (copy / "record.json").unlink()
    return copy


# --- nothing destroyed ---------------------------------------------------------------------------


def test_empty_out_is_refused_and_the_current_folder_kept(suite_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    for extra in ([], ["--force"]):
        one_error(run(suite_file, "", *extra), "--out", "name a run directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_export_to_empty_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["export", "--suite", "crossdomain", "--budget", "smoke", "--out", ""])
    one_error(result, "--out")
    assert list(tmp_path.iterdir()) == []


def test_force_refuses_a_folder_that_holds_no_run(suite_file, tmp_path):
    folder = tmp_path / "thesis"
    (folder / "chapters").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine\n")
    (folder / "config.json").write_text("{}")  # a model folder has one too
    one_error(run(suite_file, folder, "--force"), f"--force {folder}", "not a cptbench run directory")
    assert sorted(p.name for p in folder.iterdir()) == ["chapters", "config.json", "notes.txt"]


def test_force_accepts_an_empty_folder_and_a_run_directory(suite_file, tmp_path, resumable):
    empty = tmp_path / "empty"
    empty.mkdir()
    # --model that resolves to nothing: the refusal comes after --out and --force were accepted
    for out in (empty, resumable):
        result = CliRunner().invoke(app, ["run", "--suite", str(suite_file), "--model", "no-such-model", "--out", str(out), "--force"])
        one_error(result, "--model no-such-model")


# --- a run directory changed by hand ---------------------------------------------------------------


def tamper_config(run_dir):
    (run_dir / "config.json").write_text('{"hash": "abc", "fingerp')


def tamper_attempts(run_dir):
    (run_dir / "attempts.json").write_text(json.dumps({"attempts": [{"started": "now", "seconds": "a lot"}]}))


def tamper_eval(run_dir):
    path = next((run_dir / "eval").glob("1-*/*.json"))
    path.write_text(json.dumps({"value": 1.0}))


def tamper_train(run_dir):
    path = next((run_dir / "train").glob("*.json"))
    saved = json.loads(path.read_text())
    saved["tokens"] = "many"
    path.write_text(json.dumps(saved))


def tamper_backend(run_dir):
    (run_dir / "backend.json").write_text("[1, 2]")


def tamper_lock(run_dir):
    (run_dir / ".lock").unlink(missing_ok=True)
    (run_dir / ".lock").mkdir()


def tamper_deep(run_dir):
    path = next((run_dir / "eval").glob("0-*/*.json"))
    path.write_text("[" * 100_000 + "]" * 100_000)


def tamper_digits(run_dir):
    path = next((run_dir / "eval").glob("0-*/*.json"))
    path.write_text('{"value": 1' + "0" * 5000 + "}")


TAMPERED = {
    "config.json unreadable": (tamper_config, ["config.json", "--force"]),
    "attempts.json of another shape": (tamper_attempts, ["attempts.json", "seconds", "--force"]),
    "eval file without details": (tamper_eval, ["politics_bpb.json", "details", "--force"]),
    "train file of another type": (tamper_train, ["train/1-politics.json", "tokens", "--force"]),
    "backend.json not an object": (tamper_backend, ["backend.json", "--force"]),
    "eval file nested too deeply": (tamper_deep, ["politics_bpb.json", "nested", "--force"]),
    "eval file with a 5000-digit number": (tamper_digits, ["politics_bpb.json", "--force"]),
    ".lock is a folder": (tamper_lock, [".lock", "folder"]),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_tampered_run_directory_is_refused(suite_file, resumable, name):
    tamper, fragments = TAMPERED[name]
    tamper(resumable)
    before = sorted(p.relative_to(resumable) for p in resumable.rglob("*") if p.name != "attempts.json")
    one_error(run(suite_file, resumable), *fragments)
    assert not (resumable / "record.json").exists()
    after = sorted(p.relative_to(resumable) for p in resumable.rglob("*") if p.name != "attempts.json")
    assert after == before


def test_config_json_unreadable_resumes_only_with_force(suite_file, resumable):
    tamper_config(resumable)
    result = run(suite_file, resumable, "--force")
    assert result.exit_code == 0, result.output
    assert json.loads((resumable / "config.json").read_text())["hash"] != "abc"


def test_truncated_checkpoint_at_resume_is_one_line(suite_file, resumable):
    for path in (resumable / "eval").glob("1-*/*.json"):
        path.unlink()  # the final row must be evaluated again, from the kept checkpoint
    weights = next((resumable / "checkpoints").glob("*/model.safetensors"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    one_error(run(suite_file, resumable), "model.safetensors", "--force")
    assert not (resumable / "record.json").exists()


def test_truncated_checkpoint_at_verify_is_one_line(suite_file, finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    weights = next((copy / "checkpoints").glob("*/model.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    result = CliRunner().invoke(app, ["verify", str(copy), "--suite", str(suite_file)])
    one_error(result, "model.safetensors")
    assert not (copy / "verification.json").exists()


def test_train_force_replaces_only_a_checkpoint_folder(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"text": "some text"}\n')
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    result = CliRunner().invoke(app, ["train", "--kind", "cpt", "--data", str(data), "--model", "tiny-llama",
                                      "--out", str(folder), "--force"])
    one_error(result, f"--force {folder}", "not a checkpoint folder")
    assert (folder / "notes.txt").read_text() == "mine\n"
