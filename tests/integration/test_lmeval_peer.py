"""cptbench's bits-per-byte equals lm-eval's for the same model, documents and first-token convention.

Reproduce by hand: `pytest tests/integration/test_lmeval_peer.py -q` (tiny model, Reuters test
documents from the CrossNER mirror, lm-eval 0.4 through its Python API with prefix_token_id set to
cptbench's prefix token).
"""

import pytest

from cptbench.core.errors import ConfigError
from cptbench.core.matrix import Direction
from cptbench.core.resources import tasks_dir
from cptbench.core.spec import DataSpec, LmEvalRef
from cptbench.data.corpus import spread
from cptbench.data.sources import load_texts
from cptbench.eval.backends.hf import HFBackend
from cptbench.eval.kinds.bpb import bits_per_byte
from cptbench.eval.kinds.lmeval import evaluate_lmeval

REUTERS = LmEvalRef("cptbench_reuters_bpb", "bits_per_byte", Direction.LOWER, tasks_dir() / "lmeval")


@pytest.fixture(scope="module")
def documents(data_dir):
    return spread(load_texts(DataSpec("crossner", "conll2003", ("test",)), 4).texts, 6)


def test_bits_per_byte_equals_lm_eval(tiny, documents):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer)
    ours = bits_per_byte(backend.loglikelihood_rolling(documents))
    theirs = evaluate_lmeval(backend, REUTERS, documents)
    assert abs(theirs.value - ours) / ours <= 1e-4


def test_windowed_documents_equal_lm_eval_too(tiny, documents):
    """Documents longer than the window: both score every token once in disjoint windows."""
    model, tokenizer = tiny
    long_documents = [" ".join(documents)] * 2  # > 256 byte tokens: several windows each
    backend = HFBackend(model, tokenizer)
    assert len(tokenizer(long_documents[0])["input_ids"]) > 3 * backend.max_length
    ours = bits_per_byte(backend.loglikelihood_rolling(long_documents))
    theirs = evaluate_lmeval(backend, REUTERS, long_documents)
    assert abs(theirs.value - ours) / ours <= 1e-4


def test_unknown_metric_names_what_the_task_reports(tiny, documents):
    model, tokenizer = tiny
    wrong = LmEvalRef(REUTERS.task, "accuracy", Direction.HIGHER, REUTERS.include)
    with pytest.raises(ConfigError, match="bits_per_byte"):
        evaluate_lmeval(HFBackend(model, tokenizer, prefix_token_id=0), wrong, documents[:1])
