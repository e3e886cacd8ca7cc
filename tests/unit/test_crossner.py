"""CrossNER loader: detokenization, entity offsets, grouping, provenance, errors, download."""

from __future__ import annotations

import functools
import hashlib
import http.server
import math
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cptbench.core.errors import ConfigError, DataError
from cptbench.data import crossner

MIRROR = Path(
    os.environ.get("CPTBENCH_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data"
)
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "crossner").is_dir(),
    reason=f"no CrossNER mirror at {MIRROR / 'crossner'} (set CPTBENCH_DATA_DIR to a local mirror)",
)

SMALL = "Jones\tB-person\n'\tO\ns\tO\nhouse\tO\n.\tO\n\nParis\tB-location\nis\tO\nbig\tO\n.\tO\n"


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(MIRROR))
    return MIRROR


@pytest.fixture
def fake_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty mirror under tmp_path; tests write crossner/<domain>/<split>.txt into it."""
    monkeypatch.setenv("CPTBENCH_DATA_DIR", str(tmp_path))
    (tmp_path / "crossner" / "ai").mkdir(parents=True)
    return tmp_path / "crossner" / "ai"


def raw_sentences(path: Path) -> list[list[tuple[str, str]]]:
    """A deliberately naive reader of the file, independent of the loader."""
    blocks = [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    return [[tuple(line.split("\t")) for line in b.strip("\n").split("\n")] for b in blocks]


def raw_entities(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(type, tokens joined without spaces) per BIO entity."""
    out: list[list[str]] = []
    previous = "O"
    for token, tag in rows:
        if tag != "O" and (tag.startswith("B-") or previous[2:] != tag[2:]):
            out.append([tag[2:], token])
        elif tag != "O":
            out[-1][1] += token
        previous = tag
    return [(kind, text) for kind, text in out]


# ------------------------------------------------------------------ detokenization


@needs_mirror
@pytest.mark.parametrize(
    ("domain", "split", "expected"),
    [
        ("literature", "test", "Two decades after Frank Herbert's death, his son Brian Herbert, along with "
         "Kevin J. Anderson, published two sequels - Hunters of Dune (2006) and Sandworms of Dune (2007) - "
         "based on notes left behind by Frank Herbert for what he referred to as Dune 7, his own planned "
         "seventh novel in the Dune series."),
        ("music", "test", "It is based on the classic song The Guns of Brixton on The Clash's London Calling "
         "and has proven to be a success on the modern rock charts."),
        ("ai", "test", "Typical generative model approaches include naive Bayes classifiers, Gaussian "
         "mixture models, variational autoencoders and others."),
        ("politics", "test", "National formed a minority government under John Key with confidence-and-supply "
         "support from the ACT New Zealand (5 seats), the Māori Party (5 seats) and United Future (1 seat)."),
        ("politics", "test", "In March 2018, it was announced Kristen Stewart, Jack O'Connell, Anthony Mackie, "
         "Margaret Qualley and Colm Meaney had joined the cast of the film."),
        ("music", "test", "Particularly noted in the UK are the Music of Newport, once labelled 'the new "
         "Seattle', and the Music of Cardiff, for which the city has recently been labelled 'Music City', for "
         "having the second highest number of independent music venues in the UK."),
        ("literature", "test", "In 2013, WordFire acquired the reprint rights to the works of Allen Drury, "
         "including his 1959 Pulitzer Prize-winning political novel Advise and Consent."),
        ("conll2003", "test", "\"As far as I am aware, there's been no new deadline,\" the source said."),
        ("conll2003", "test", "It recorded a low of $15.625 and a high of $15.725."),
        ("conll2003", "train", "And he knows that you don't go hunting with an Uzi."),
    ],
)
def test_detokenizes_real_sentences(mirror: Path, domain: str, split: str, expected: str) -> None:
    assert expected in {s.text for s in crossner.sentences(domain, split)}


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["Jones", "'", "house"], "Jones' house"),
        (["the", "Workers", "'", "Party", "'s", "leader"], "the Workers' Party's leader"),
        (["He", "said", ":", '"', "no", '"', "."], 'He said: "no".'),
        (['"', "Yes", ",", '"', "he", "said", "."], '"Yes," he said.'),
        (["costs", "(", "about", "$", "5", "%", ")", "!"], "costs (about $5%)!"),
        (["we", "ca", "n't", "go", "--", "ever"], "we can't go -- ever"),
        (["an", "a", "-", "b", "state-of-the-art", "k", "-NN"], "an a - b state-of-the-art k-NN"),
    ],
)
def test_detokenize_rules(tokens: list[str], expected: str) -> None:
    text, spans = crossner.detokenize(tokens)
    assert text == expected
    assert [text[s:e] for s, e in spans] == tokens


# ------------------------------------------------------------------ entities, documents, provenance


@needs_mirror
@pytest.mark.parametrize("domain", crossner.DOMAINS)
def test_entity_offsets_whole_file(mirror: Path, domain: str) -> None:
    path = MIRROR / "crossner" / domain / "test.txt"
    raw = raw_sentences(path)
    parsed = crossner.sentences(domain, "test")
    assert len(parsed) == len(raw)
    n_entities = 0
    for sentence, rows in zip(parsed, raw):
        assert "".join(sentence.text.split()) == "".join(token for token, _ in rows)
        for entity in sentence.entities:
            assert sentence.text[entity.start : entity.end] == entity.text
            assert entity.text == entity.text.strip() and entity.text
        got = [(e.type, e.text.replace(" ", "")) for e in sentence.entities]
        assert got == raw_entities(rows)
        n_entities += len(got)
    assert n_entities > 100


@needs_mirror
def test_document_grouping(mirror: Path) -> None:
    n = len(crossner.sentences("ai", "test"))
    docs = crossner.documents("ai", "test")
    assert len(docs) == math.ceil(n / 4)
    assert all(len(d.sentences) == 4 for d in docs[:-1])
    assert len(docs[-1].sentences) == (n % 4 or 4)
    assert all(d.text == " ".join(s.text for s in d.sentences) for d in docs)
    assert len({d.id for d in docs}) == len(docs)
    assert len(crossner.documents("ai", "test", sentences_per_doc=1)) == n
    assert len(crossner.documents("ai", "test", sentences_per_doc=7)) == math.ceil(n / 7)
    with pytest.raises(ConfigError):
        crossner.documents("ai", "test", sentences_per_doc=0)


@needs_mirror
def test_docstart_never_emitted_real(mirror: Path) -> None:
    for split in crossner.SPLITS:
        docs = crossner.documents("conll2003", split)
        assert docs and not any("DOCSTART" in d.text for d in docs)


def test_docstart_markers_split_documents(fake_mirror: Path) -> None:
    body = "-DOCSTART-\tO\n\n" + SMALL + "\n-DOCSTART- -X- -X- O\n\n" + SMALL
    (fake_mirror / "dev.txt").write_text(body, encoding="utf-8")
    docs = crossner.documents("ai", "dev", sentences_per_doc=4)
    assert [len(d.sentences) for d in docs] == [2, 2]
    assert docs[0].text == "Jones's house. Paris is big."
    assert not any("DOCSTART" in s.text for d in docs for s in d.sentences)
    assert docs[0].sentences[0].entities == (crossner.Entity("Jones", "person", 0, 5),)


@needs_mirror
def test_hash_matches_file_bytes(mirror: Path) -> None:
    path = MIRROR / "crossner" / "science" / "test.txt"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert crossner.content_hash("science", "test") == expected
    docs, sha = crossner.documents_with_hash("science", "test")
    assert sha == expected
    assert docs == crossner.documents("science", "test")


# ------------------------------------------------------------------ errors


def test_missing_file_names_path(fake_mirror: Path) -> None:
    with pytest.raises(DataError, match=re.escape(str(fake_mirror / "test.txt"))):
        crossner.sentences("ai", "test")


@pytest.mark.parametrize(
    ("domain", "split", "names"), [("biology", "test", "politics"), ("ai", "valid", "dev")]
)
def test_unknown_domain_or_split_lists_valid(
    fake_mirror: Path, domain: str, split: str, names: str
) -> None:
    with pytest.raises(DataError, match=names) as info:
        crossner.documents(domain, split)
    assert repr(domain if domain == "biology" else split) in str(info.value)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"Paris\tB-location\nis\tO\nbig thing\tO\n", "test.txt:3"),
        (b"Paris\tB-location\nis\tX-bad\n", "test.txt:2"),
        (b"Paris\tB-location\ncaf\xe9\tO\n", "UTF-8"),
        (b"\n\n   \n", "found none"),
    ],
)
def test_bad_files_raise_data_error(fake_mirror: Path, content: bytes, where: str) -> None:
    path = fake_mirror / "test.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        crossner.sentences("ai", "test")
    message = str(info.value)
    assert str(path) in message and where in message and "\n" not in message


def test_space_separator_tolerated(fake_mirror: Path) -> None:
    (fake_mirror / "train.txt").write_text("New B-location\nYork I-location\nrocks O\n", encoding="utf-8")
    (sentence,) = crossner.sentences("ai", "train")
    assert sentence.text == "New York rocks"
    assert sentence.entities == (crossner.Entity("New York", "location", 0, 8),)


# ------------------------------------------------------------------ download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, http.server.HTTPServer]]:
    """A local HTTP server standing in for upstream: the real ai/test.txt (its pinned sha256
    matches) and a tampered ai/dev.txt (it does not)."""
    root = tmp_path / "upstream"
    (root / "ai").mkdir(parents=True)
    (root / "ai" / "test.txt").write_bytes((MIRROR / "crossner" / "ai" / "test.txt").read_bytes())
    (root / "ai" / "dev.txt").write_text(SMALL, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CPTBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("CPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@needs_mirror
def test_download_then_cache(served, offline_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, root, server = served
    monkeypatch.setenv("CPTBENCH_CROSSNER_URL", url + "/")
    first = crossner.documents("ai", "test")
    cached = list((offline_env / "data" / "crossner").rglob("test.txt"))
    assert len(cached) == 1 and cached[0].read_bytes() == (root / "ai" / "test.txt").read_bytes()
    assert not [p for p in cached[0].parent.iterdir() if p.name != "test.txt"]  # no temp files left
    server.shutdown()
    server.server_close()
    crossner._load_cached.cache_clear()
    assert crossner.documents("ai", "test") == first
    assert crossner.content_hash("ai", "test") == hashlib.sha256((root / "ai" / "test.txt").read_bytes()).hexdigest()


@needs_mirror
def test_download_that_differs_from_the_pinned_hash_is_refused(served, offline_env: Path, monkeypatch) -> None:
    url, _, _ = served
    monkeypatch.setenv("CPTBENCH_CROSSNER_URL", url)
    with pytest.raises(DataError, match=r"ai/dev\.txt: sha256 .* differs from the pinned") as info:
        crossner.sentences("ai", "dev")
    assert "\n" not in str(info.value)
    assert not [p for p in offline_env.rglob("*") if p.is_file()]  # nothing kept, not even a temp file


def test_every_file_has_a_pinned_hash() -> None:
    pinned = set(crossner.UPSTREAM.sha256)
    assert pinned == {f"{d}/{s}.txt" for d in crossner.DOMAINS for s in crossner.SPLITS}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_download_failure_explains(offline_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("CPTBENCH_CROSSNER_URL", url)
    with pytest.raises(DataError) as info:
        crossner.sentences("music", "dev")
    message = str(info.value)
    assert f"{url}/music/dev.txt" in message and "CPTBENCH_DATA_DIR" in message and "\n" not in message
    assert not list(offline_env.rglob("*.txt*"))


@needs_mirror
def test_download_404_is_data_error(served, offline_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, _ = served
    monkeypatch.setenv("CPTBENCH_CROSSNER_URL", url)
    with pytest.raises(DataError, match="404"):
        crossner.sentences("politics", "train")
