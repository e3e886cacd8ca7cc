"""The board trusts nothing it can recompute: a record edited so that it still agrees with itself
(cells, details, metrics) is refused at ``submit`` when its per-item samples, its model's name and
tokenizer, or its recipe and trainer claims disagree with what follows from the suite. Each edit
starts from a committed submission (a real run's record), so each case fails for one reason.

What no static check can see (items shuffled with the same sums) is caught by ``cptbench verify``,
which compares the re-evaluated rows' samples too (tests/integration/test_verify.py)."""

import json

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.resources import tasks_dir

BOARDS = tasks_dir().parent / "leaderboards"
FACTS = BOARDS / "facts" / "submissions" / "facts-naive-s0.json"
CROSSDOMAIN = BOARDS / "crossdomain" / "submissions" / "smollm2-135m-naive-s0.json"


def record_of(submission):
    record = json.loads(submission.read_text())
    record.pop("submission")
    return record


def column(record, name):
    return [t["name"] for t in record["tasks"]].index(name)


def halves(record):
    """Accuracy hits 1, 0 turned into 0.5, 0.5: the same sum, a wider interval."""
    cell = record["samples"][1][column(record, "people_acc")]
    ones, zeros = cell["values"].index(1.0), cell["values"].index(0.0)
    cell["values"][ones] = cell["values"][zeros] = 0.5


def positive_logprob(record):
    cell = record["samples"][1][column(record, "people_logprob")]
    a, b = cell["values"][:2]
    cell["values"][:2] = [0.5, a + b - 0.5]


def moved_bytes(record):
    cell = record["samples"][0][column(record, "politics_bpb")]
    cell["weights"][0] += 7
    cell["weights"][1] -= 7


def negative_bits(record):
    cell = record["samples"][0][column(record, "politics_bpb")]
    a, b = cell["values"][:2]
    cell["values"][:2] = [a + b + 1.0, -1.0]


def relabelled_tiny(record):
    record["model"].update(reference="tiny-llama", source="alias", parameters=90_624)


def relabelled_seed(record):
    """Seed 0's run relabelled as seed 7, both places that name it: it would join seed 0 as a
    "two-seed" row. The data order of every stage follows from the seed."""
    record["seed"] = 7
    record["environment"]["determinism"]["seed"] = 7


def model(name):
    return lambda r: r["model"].update(reference=name, source="hub")


CASES = {
    "accuracy items of 0.5": (FACTS, halves, ["samples[1][people_acc]", "0 or 1"]),
    "a positive log-probability": (FACTS, positive_logprob, ["samples[1][people_logprob]", "at most 0"]),
    "bytes moved between documents": (CROSSDOMAIN, moved_bytes, ["samples[0][politics_bpb]", "weights: item 0", "bytes"]),
    "negative bits": (CROSSDOMAIN, negative_bits, ["samples[0][politics_bpb]", "at least 0"]),
    "SmolLM2's run relabelled as the tiny model": (CROSSDOMAIN, relabelled_tiny, ["tokens", "tiny-llama's tokenizer"]),
    "a Cyrillic letter in the model's name": (FACTS, model("HuggingFaceTB/SmolLM2-135M-Instru\u0441t"), ["model.reference", "mixes the scripts"]),
    "a bidirectional override in the model's name": (FACTS, model("HuggingFaceTB/\u202eSmolLM2"), ["model.reference", "U+202E"]),
    "a zero-width space in the model's name": (FACTS, model("HuggingFaceTB/Smol\u200bLM2"), ["model.reference", "U+200B"]),
    "a fullwidth letter in the model's name": (FACTS, model("HuggingFaceTB/\uff33molLM2"), ["model.reference", "NFKC"]),
    "seed 0 relabelled as seed 7": (FACTS, relabelled_seed, ["data_order_hash", "seed 7"]),
    "a recipe field of the wrong type": (FACTS, lambda r: r["recipes"][next(iter(r["recipes"]))].update(learning_rate="fast"),
                                         ["recipes.", "learning_rate"]),
    "a made-up recipe field": (FACTS, lambda r: r["recipes"][next(iter(r["recipes"]))].update(turbo=True), ["recipes.", "turbo"]),
    "a made-up trainer block": (FACTS, lambda r: r.update(trainer={"kind": "external", "declared": "my stack",
                                                                    "manifest_sha256": "0" * 64, "checkpoints": ["a"]}),
                                ["trainer", "cptbench's own trainer"]),
}


def submit(record, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "record.json").write_text(json.dumps(record))
    boards = tmp_path / "leaderboards"
    return CliRunner().invoke(app, ["submit", str(run), "--name", "edited", "--leaderboards", str(boards)]), boards


@pytest.mark.parametrize("submission", [FACTS, CROSSDOMAIN], ids=["facts", "crossdomain"])
def test_the_committed_records_pass(submission, tmp_path, data_dir):
    result, _ = submit(record_of(submission), tmp_path)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def smollm2_tokenizer():
    """The committed records are SmolLM2's: their cpt stages' data order needs its tokenizer (no weights)."""
    from cptbench.publish.integrity import alias_tokenizer

    return alias_tokenizer("smollm2-135m-instruct")


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_edit_that_agrees_with_itself_is_refused(name, tmp_path, data_dir, smollm2_tokenizer):
    submission, change, fragments = CASES[name]
    if "seed" in name and smollm2_tokenizer is None:
        pytest.skip("SmolLM2 is not on this machine (cptbench models pull smollm2-135m-instruct)")
    record = record_of(submission)
    change(record)
    result, boards = submit(record, tmp_path)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert not boards.exists()
