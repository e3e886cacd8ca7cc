"""PubMedQA loader on the real mirror: splits, labels, provenance, formats, errors."""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from cptbench.core.errors import DataError
from cptbench.data import pubmedqa
from cptbench.data.corpus import user_turn
from cptbench.eval.answers import split_answer


@pytest.fixture(scope="module")
def mirror() -> Path:
    path = Path(os.environ.get("CPTBENCH_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
    if not (path / "pubmedqa" / "ori_pqal.json").is_file():
        pytest.skip(f"PubMedQA mirror not found at {path / 'pubmedqa'} (set CPTBENCH_DATA_DIR)")
    return path


@pytest.fixture
def real(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(mirror))
    return mirror


def test_split_sizes_disjoint_and_sorted(real):
    train, test = pubmedqa.examples("train"), pubmedqa.examples("test")
    assert (len(train), len(test)) == (500, 500)
    assert not {e.id for e in train} & {e.id for e in test}
    for split in (train, test):
        ids = [e.id for e in split]
        assert ids == sorted(ids)
    assert all(e.decision in pubmedqa.DECISIONS and e.contexts for e in train + test)


def test_test_decisions_match_ground_truth(real):
    truth = json.loads((real / "pubmedqa" / "test_ground_truth.json").read_text(encoding="utf-8"))
    assert {e.id: e.decision for e in pubmedqa.examples("test")} == truth


def test_content_hash_stable_and_per_split(real):
    first = pubmedqa.content_hash("train")
    pubmedqa.clear_cache()
    assert pubmedqa.content_hash("train") == first
    assert pubmedqa.content_hash("test") != first
    examples, sha = pubmedqa.examples_with_hash("test")
    assert sha == pubmedqa.content_hash("test") and examples == pubmedqa.examples("test")
    assert len(first) == 64


def test_completion_round_trips_through_split_answer(real):
    for ex in pubmedqa.examples("train"):
        assert split_answer(pubmedqa.completion_text(ex)) == (ex.long_answer, ex.decision), ex.id


def test_text_formats(real):
    ex = pubmedqa.examples("train")[0]
    assert pubmedqa.abstract(ex) == " ".join(ex.contexts)
    prompt = pubmedqa.user_prompt(ex)
    assert prompt.startswith(f"Question: {ex.question}") and "'Answer: maybe'" in prompt
    assert user_turn(ex) == [{"role": "user", "content": prompt}]  # the Question fields every stage reads
    assert (ex.prompt, ex.completion, ex.reference, ex.label) == (prompt, pubmedqa.completion_text(ex), ex.long_answer, ex.decision)
    context = pubmedqa.decision_context(ex)
    assert context.startswith("Abstract: ") and context.endswith(f"\nQuestion: {ex.question}\nAnswer:")
    words = len(context.split("\nQuestion:")[0].split()) - 1  # minus "Abstract:"
    assert words == min(pubmedqa.CONTEXT_WORDS, len(pubmedqa.abstract(ex).split()))
    assert pubmedqa.DECISION_CHOICES == (" yes", " no", " maybe")


def test_long_abstracts_are_cut_in_prompts(real):
    ex = max(pubmedqa.examples("train"), key=lambda e: len(pubmedqa.abstract(e).split()))
    assert len(pubmedqa.abstract(ex).split()) > pubmedqa.CONTEXT_WORDS
    assert "..." in pubmedqa.user_prompt(ex) and "..." in pubmedqa.decision_context(ex)


def test_truncated_mirror_is_a_data_error_naming_the_file(mirror, tmp_path, monkeypatch):
    folder = tmp_path / "pubmedqa"
    folder.mkdir()
    raw = (mirror / "pubmedqa" / "ori_pqal.json").read_bytes()
    (folder / "ori_pqal.json").write_bytes(raw[: len(raw) // 2])
    (folder / "test_ground_truth.json").write_bytes((mirror / "pubmedqa" / "test_ground_truth.json").read_bytes())
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(tmp_path))
    pubmedqa.clear_cache()
    with pytest.raises(DataError, match=r"ori_pqal\.json: malformed JSON") as info:
        pubmedqa.examples("train")
    assert "\n" not in str(info.value)


def test_missing_field_names_id_and_field(mirror, tmp_path, monkeypatch):
    folder = tmp_path / "pubmedqa"
    folder.mkdir()
    data = json.loads((mirror / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    victim = sorted(data)[3]
    del data[victim]["LONG_ANSWER"]
    (folder / "ori_pqal.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "test_ground_truth.json").write_bytes((mirror / "pubmedqa" / "test_ground_truth.json").read_bytes())
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=rf"ori_pqal\.json: id {victim}: missing field 'LONG_ANSWER'"):
        pubmedqa.examples("test")


def test_disagreeing_test_label_is_a_data_error(mirror, tmp_path, monkeypatch):
    folder = tmp_path / "pubmedqa"
    folder.mkdir()
    (folder / "ori_pqal.json").write_bytes((mirror / "pubmedqa" / "ori_pqal.json").read_bytes())
    truth = json.loads((mirror / "pubmedqa" / "test_ground_truth.json").read_text(encoding="utf-8"))
    victim = min(truth)
    truth[victim] = "no" if truth[victim] != "no" else "yes"
    (folder / "test_ground_truth.json").write_text(json.dumps(truth), encoding="utf-8")
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=rf"test_ground_truth\.json: id {victim}: label .* disagrees"):
        pubmedqa.examples("train")


def test_missing_mirror_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=r"PubMedQA file not found: .*ori_pqal\.json"):
        pubmedqa.examples("train")


def test_download_then_cache(mirror, tmp_path, monkeypatch):
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(mirror / "pubmedqa")
    )
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("CPTBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("CPTBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CPTBENCH_PUBMEDQA_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        first = pubmedqa.examples_with_hash("test")
    finally:
        server.shutdown()
        server.server_close()
    cached = sorted(p.name for p in (tmp_path / "data" / "pubmedqa").rglob("*") if p.is_file())
    assert cached == ["ori_pqal.json", "test_ground_truth.json"]
    pubmedqa.clear_cache()
    assert pubmedqa.examples_with_hash("test") == first  # server gone: read from the cache
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(mirror))
    assert pubmedqa.content_hash("test") == first[1]


@pytest.mark.parametrize("split", ["dev", "validation", ""])
def test_unknown_split(split):
    with pytest.raises(DataError, match=rf"unknown PubMedQA split {split!r}; expected one of train, test"):
        pubmedqa.examples(split)
