"""The vLLM backend on the real default model (SmolLM2-135M-Instruct, 64-wide heads, 8,192
positions): the same bits per byte and the same cloze choices as ``hf``. Marked ``vllm``."""

import pytest

from cptbench.core.spec import DataSpec
from cptbench.data.corpus import spread
from cptbench.data.probes import cloze_items
from cptbench.data.sources import get_source, load_texts
from cptbench.eval.backends.base import LoglikelihoodRequest
from cptbench.eval.backends.hf import HFBackend
from cptbench.eval.backends.vllm import VLLMBackend
from cptbench.eval.backends.vllm_server import vllm_python

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def backends(data_dir):
    from cptbench.models.resolve import load_model, resolve_model

    vllm_python()
    path = resolve_model("smollm2-135m-instruct").path
    engine = VLLMBackend.load(path)
    try:
        yield HFBackend(*load_model(path)), engine
    finally:
        engine.close()


def test_bits_per_byte_equals_hf(backends):
    hf, vllm = backends
    documents = spread(load_texts(DataSpec("crossner", "science", ("test",)), 4).texts, 4)
    for a, b in zip(vllm.loglikelihood_rolling(documents), hf.loglikelihood_rolling(documents)):
        assert (a.num_tokens, a.num_bytes) == (b.num_tokens, b.num_bytes)
        assert a.nll == pytest.approx(b.nll, rel=1e-5)


def test_cloze_choices_equal_hf(backends):
    hf, vllm = backends
    sentences, _ = get_source("crossner").sentences("music", "test")
    for item in cloze_items(sentences, "crossner/music/test", 6, seed=0):
        requests = [LoglikelihoodRequest(item.context, c + item.rest) for c in item.candidates]
        ours = [r.logprob for r in vllm.loglikelihood(requests)]
        theirs = [r.logprob for r in hf.loglikelihood(requests)]
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-4)
        assert ours.index(max(ours)) == theirs.index(max(theirs))
