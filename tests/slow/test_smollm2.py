"""The real default model, SmolLM2-135M-Instruct, through the whole pipeline (marked slow)."""

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.publish.report import load_record

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "smollm2-smoke"
    result = CliRunner().invoke(app, ["run", "--budget", "smoke", "--model", "smollm2-135m-instruct", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return load_record(out)


def test_smollm2_resolves_from_gguf_and_has_its_tokenizer_conventions():
    from cptbench.models.resolve import load_model, resolve_model

    model, tokenizer = load_model(resolve_model("smollm2-135m-instruct").path)
    assert model.config.num_hidden_layers == 30 and model.config.vocab_size == 49152
    assert tokenizer.convert_ids_to_tokens(0) == "<|endoftext|>"
    assert tokenizer.model_max_length == 8192


def test_smoke_run_matrix_is_plausible(smollm2_run):
    record = smollm2_run
    assert record.model.parameters > 100_000_000
    for j, task in enumerate(record.tasks):
        if task.metric in ("bpb", "bits_per_byte"):
            assert 0.5 < record.matrix[0][j] < 3.0  # BPB of a real 135M model on English text
        else:
            assert 0.0 <= record.matrix[0][j] <= 1.0 and record.details[0][j]["chance"] == 0.25
    for stage in record.training:
        assert stage.tokens == stage.corpus_tokens


def test_own_domain_bpb_drops_below_base(smollm2_run):
    record = smollm2_run
    for j, task in enumerate(record.tasks):
        if task.stage is not None and task.metric == "bpb":
            assert record.matrix[task.stage][j] < record.matrix[0][j], task.name


def test_lmeval_general_column_agrees_in_scale_with_ours(smollm2_run):
    """Reuters test (ours) and Reuters dev (through lm-eval) are both BPB of the same news source."""
    record = smollm2_run
    names = [t.name for t in record.tasks]
    ours, theirs = record.matrix[0][names.index("reuters_bpb")], record.matrix[0][names.index("reuters_dev_lmeval")]
    assert 0.5 < theirs < 3.0 and 0.5 < ours < 3.0


def test_medexplain_smoke_on_smollm2(tmp_path, data_dir):
    """CPT -> SFT -> GRPO with the real model: every stage trains and the matrix is complete."""
    out = tmp_path / "medexplain"
    result = CliRunner().invoke(app, ["run", "--suite", "medexplain", "--budget", "smoke", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = load_record(out)
    assert [s.kind for s in record.training] == ["cpt", "sft", "grpo"]
    assert set(record.training[2].rewards) >= {"semantic", "correctness", "reward"}
    cosine = [t.name for t in record.tasks].index("explanation_cosine")
    assert all(0.0 <= row[cosine] <= 1.0 for row in record.matrix)
    assert all(row[cosine]["items"] == 2 and 0 <= row[cosine]["answered"] <= 2 for row in record.details)
    pubmed = [t.name for t in record.tasks].index("pubmed_bpb")
    assert 0.5 < record.matrix[0][pubmed] < 2.0  # a real 135M model on biomedical English


def test_cloze_candidates_are_scored_as_tokenized_in_running_text():
    """The context's trailing space belongs to the candidate: SmolLM2 sees 'ĠEm', 'manuel', the
    tokens of the whole sentence, and the log-probability is the whole sentence's tail."""
    import torch

    from cptbench.eval.backends.base import LoglikelihoodRequest
    from cptbench.eval.backends.hf import HFBackend
    from cptbench.models.resolve import load_model, resolve_model

    model, tokenizer = load_model(resolve_model("smollm2-135m-instruct").path)
    backend = HFBackend(model, tokenizer)
    context, continuation = "Talks in Paris were led by the French president , ", "Emmanuel Macron ."
    ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    whole = ids(context + continuation)
    tail = ids(" " + continuation)
    assert tokenizer.convert_ids_to_tokens(tail[:2]) == ["ĠEm", "manuel"]
    assert whole == ids(context.rstrip()) + tail  # the split matches the whole sentence's tokens
    assert ids(continuation)[0] != tail[0]  # the trap: apart, the candidate starts with 'Em'
    x = torch.tensor([[backend.prefix_token_id, *whole]])
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(x).logits.float(), dim=-1)[0, :-1]
    expected = logprobs[-len(tail):].gather(-1, x[0, -len(tail):, None]).sum().item()
    [result] = backend.loglikelihood([LoglikelihoodRequest(context, continuation)])
    assert result.logprob == pytest.approx(expected, abs=1e-3)


def test_invented_facts_names_are_not_words_of_smollm2():
    from transformers import AutoTokenizer

    from cptbench.data.facts_world import generate, known_words
    from cptbench.models.resolve import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct").path)
    assert known_words(generate(0, 10, 4), tokenizer.get_vocab()) == []  # the shipped facts world
    assert known_words(generate(0, 10, 4), {"ĠLisbon": 1, "ĠKeslul": 2}) == ["Keslul"]  # the check can fail
