"""CrossNER (CoNLL ``token<TAB>tag`` files) as natural text with entity spans, in documents.

Public API
----------
``DOMAINS``, ``SPLITS``, ``COMMIT``      what exists, and the pinned upstream commit
``Entity(text, type, start, end)``       character span in its sentence's text (frozen)
``Sentence(text, entities)``             one detokenized sentence (frozen)
``Document(id, text, sentences)``        consecutive sentences joined by one space (frozen)
``source_path(domain, split)``           mirror file (``CPTBENCH_DATA_DIR``) or cached download
``sentences(domain, split)``             every sentence of a file, in file order
``documents(domain, split, sentences_per_doc=4)``            sentences grouped into documents
``documents_with_hash(domain, split, sentences_per_doc=4)``  ``(documents, sha256 of raw bytes)``
``content_hash(domain, split)``          sha256 (hex) of the raw bytes the loader read
``detokenize(tokens)``                   ``(text, per-token (start, end))``

Data comes from ``$CPTBENCH_DATA_DIR/crossner/<domain>/<split>.txt`` when that variable is set,
otherwise from GitHub ``zliucr/CrossNER`` at ``COMMIT`` (base URL overridable with
``CPTBENCH_CROSSNER_URL``), downloaded once into ``data_cache_dir()``. Every problem raises
``DataError`` with a one-line message naming the file or URL. Parsed files are cached per
process (keyed by path, mtime and size).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import ConfigError, DataError
from cptbench.core.spec import DataSpec
from cptbench.data.base import DataSource
from cptbench.data.cache import Upstream
from cptbench.data.corpus import Texts

COMMIT = "2e7ba2a7798c961e3f29fbc51252c5a8d40224bf"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/zliucr/CrossNER/{COMMIT}/ner_data"
DOMAINS = ("politics", "science", "music", "literature", "ai", "conll2003")
SPLITS = ("train", "dev", "test")
DOCSTART = "-DOCSTART-"
UPSTREAM = Upstream(
    title="CrossNER", folder="crossner", commit=COMMIT, base_url=DEFAULT_BASE_URL,
    url_env="CPTBENCH_CROSSNER_URL", layout="<domain>/<split>.txt",
    sha256={  # the files at COMMIT: a download must match them byte for byte
        "ai/dev.txt": "b47ffda6de5901a454a873feac1bebe782e54ce7edf9deb729cab3d769212eee",
        "ai/test.txt": "7595ad386e0a98067100fe47f86811b38867a236011fee97cfaa90f778c37bcf",
        "ai/train.txt": "484217a660f52927bd5157507c22fc103b36306364329f62f80fc8acb897b187",
        "conll2003/dev.txt": "c8869cec4f419e7b635843aae285990581bf4685b7193c81696d87e1939f0c63",
        "conll2003/test.txt": "18d9d738defc506ebc5d6748cb580245327ef5c4357b026d7d9ba7c6e55fe841",
        "conll2003/train.txt": "098791b165293cac55aa60ea5395b48ed441bc962c00278aa4789dce68624bf8",
        "literature/dev.txt": "99281a51943cf7e3c2a58b3dc45c0e5ab6d329624ebf2ba6b4801c428396162f",
        "literature/test.txt": "77267f8b3e8afe993865c64cfc605f65671f6a0ac9cba65de970f12180fed20e",
        "literature/train.txt": "0647e403a85040742c2f4041cf002146a81aa2e13adda19d0e82a8bcd493c18b",
        "music/dev.txt": "e256f1949df52a61a3bb60095a0f41c1060843f1014b0f3d22d8371611b72e78",
        "music/test.txt": "c66e345f959ac65593f76c6b1bd8c6d75f2a6f0bc197389b2e6700d101fd094c",
        "music/train.txt": "3774c38e0ebbeb4b98dbfae137071e4911e8764cdb7f247599009841f68d9fb5",
        "politics/dev.txt": "4f1f30eb832f4c5fe474f67ca45e875d863bddf0bbe432262d272ef13639fa8f",
        "politics/test.txt": "05cadc5e129d394f7f92b4a052cf4b6ea4c60878d32a833e500cf046c297455f",
        "politics/train.txt": "1d8be31abb58463349496fe21b13d70114cf015294a9ff9cce77af9b83e8aa84",
        "science/dev.txt": "87ec141c7b41b3b52ec861737c4030d65c6e53954ed3d8106baca8603bbf8f24",
        "science/test.txt": "3616d59d4d2b9dbf4c1126f8d8ba47ff97886223c95f93649bfd527343e64ced",
        "science/train.txt": "8f6a26096cc7be6790b5790bf5f5b5c8928d8b73d4632e7d45dc8bffad0504ac",
    },
)


@dataclass(frozen=True)
class Entity:
    text: str
    type: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    text: str
    entities: tuple[Entity, ...]


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    sentences: tuple[Sentence, ...]


_OPEN_BRACKETS = frozenset("( [ {".split())
_NO_SPACE_BEFORE = frozenset(", . ; : ! ? ) ] } % ... .. /".split())
_NO_SPACE_AFTER = _OPEN_BRACKETS | {"$", "£", "€", "/"}
_CLITICS = frozenset("'s 't n't 're 've 'll 'd 'm".split())
_SPLIT_PREFIX = re.compile(r"[-'][^\W\d_]")  # "Prize -winning", "O 'Connell", "d 'Or"


def _glues_left(prev: str, tok: str) -> bool:
    """True when ``tok`` (not a quote) is written without a space after ``prev``."""
    if tok in _NO_SPACE_BEFORE or tok.lower() in _CLITICS:
        return True
    if tok == "s":  # plural split off a wiki link ("model s"), or "Clash ' s"
        return prev[-1:].isalpha() or prev == "'"
    if tok == "n":  # demonym split off a wiki link: "Australia n" -> "Australian"
        return prev[:1].isupper() and prev.endswith("a")
    return bool(_SPLIT_PREFIX.match(tok)) and prev[-1:].isalnum()


def _glues_right(tok: str) -> bool:
    """True when the token after ``tok`` is written without a space ("(x", "$5", "C$5")."""
    return tok in _NO_SPACE_AFTER or (tok.endswith("$") and len(tok) <= 3)


def _quote_role(tokens: Sequence[str], i: int, is_open: bool | None) -> str:
    """``open``, ``close`` or ``apostrophe`` (possessive: no quote state change) for a quote.

    ``is_open`` is None for the first double quote of a sentence with an odd number of them
    (news quotes span sentences): then punctuation before it decides, as it does in 93% of the
    balanced sentences of the corpus.
    """
    tok, prev = tokens[i], tokens[i - 1] if i else ""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok == "'" and prev[-1:].isalpha():
        if nxt == "s" or (not is_open and prev[-1] in "sS"):
            return "apostrophe"  # "Society ' s", "Workers ' Party"
    if not prev or prev in _OPEN_BRACKETS:
        return "open"
    if not nxt or nxt in _NO_SPACE_BEFORE:
        return "close"
    if is_open is None:
        return "close" if prev in (",", ".", "!", "?") else "open"
    return "close" if is_open else "open"


def detokenize(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join CoNLL tokens into natural text; return it and each token's ``(start, end)`` in it.

    Straight quotes alternate open/close, with the sentence edges and neighbouring punctuation
    deciding first; ``' '`` (two single quotes written for a double quote) stays together.
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    state: dict[str, bool | None] = {'"': False if tokens.count('"') % 2 == 0 else None, "'": False}
    pos, attach = 0, True
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        if tok == "'" and prev == "'":
            glue, after = True, attach
        elif tok in state:
            role = _quote_role(tokens, i, state[tok])
            glue, after = (attach, True) if role == "open" else (True, False)
            if role != "apostrophe":
                state[tok] = role == "open"
        else:
            glue, after = attach or _glues_left(prev, tok), _glues_right(tok)
        if not glue:
            parts.append(" ")
            pos += 1
        spans.append((pos, pos + len(tok)))
        parts.append(tok)
        pos += len(tok)
        attach = after
    return "".join(parts), spans


_LINE = re.compile(r"(\S+)[\t ](O|[BI]-\S+)")
_Segments = tuple[tuple[Sentence, ...], ...]  # sentences, split at -DOCSTART- markers


def _entities(
    text: str, tags: Sequence[str], spans: Sequence[tuple[int, int]]
) -> tuple[Entity, ...]:
    """BIO tags to entities; an ``I-x`` not continuing an ``x`` entity starts a new one."""
    found: list[list] = []
    current: list | None = None
    for tag, (start, end) in zip(tags, spans):
        if tag == "O":
            current = None
            continue
        kind = tag[2:]
        if tag.startswith("B-") or current is None or current[0] != kind:
            current = [kind, start, end]
            found.append(current)
        else:
            current[2] = end
    return tuple(Entity(text[s:e], kind, s, e) for kind, s, e in found)


def _split_line(line: str, path: Path, lineno: int) -> tuple[str, str]:
    if line.startswith(DOCSTART):
        return DOCSTART, "O"  # "-DOCSTART-<TAB>O" or the original "-DOCSTART- -X- -X- O"
    match = _LINE.fullmatch(line.rstrip())
    if match is None:
        raise DataError(
            f"{path}:{lineno}: expected 'token<TAB>tag' with tag O, B-<type> or I-<type>, "
            f"got {line!r}"
        )
    return match.group(1), match.group(2)


def _token_blocks(text: str, path: Path) -> list[list[tuple[str, str]]]:
    """Blank-line separated blocks of ``(token, tag)``; a ``-DOCSTART-`` block is ``[]``."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if current:
                blocks.append(current)
            current = []
            continue
        token, tag = _split_line(line, path, lineno)
        if token == DOCSTART:
            if current:
                blocks.append(current)
            blocks.append([])
            current = []
        else:
            current.append((token, tag))
    if current:
        blocks.append(current)
    return blocks


def _parse(raw: bytes, path: Path) -> _Segments:
    """Raw CoNLL bytes to sentences, split into segments at ``-DOCSTART-`` markers."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: expected UTF-8 text, invalid byte at offset {exc.start}") from exc
    segments: list[list[Sentence]] = [[]]
    for block in _token_blocks(text, path):
        if not block:  # document marker
            segments.append([])
            continue
        tokens, tags = [t for t, _ in block], [g for _, g in block]
        sentence_text, spans = detokenize(tokens)
        segments[-1].append(Sentence(sentence_text, _entities(sentence_text, tags, spans)))
    result = tuple(tuple(seg) for seg in segments if seg)
    if not result:
        raise DataError(f"{path}: expected CoNLL sentences ('token<TAB>tag' lines), found none")
    return result


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int, size: int) -> tuple[_Segments, str]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read CrossNER file {path}: {exc.strerror or exc}") from exc
    return _parse(raw, Path(path)), hashlib.sha256(raw).hexdigest()


def _load(path: Path) -> tuple[_Segments, str]:
    """Parsed segments and the sha256 of the raw bytes, read once per process per file version."""
    try:
        info = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read CrossNER file {path}: {exc.strerror or exc}") from exc
    return _load_cached(str(path), info.st_mtime_ns, info.st_size)


def _check(domain: str, split: str) -> None:
    if domain not in DOMAINS:
        raise DataError(f"unknown CrossNER domain {domain!r}; expected one of {', '.join(DOMAINS)}")
    if split not in SPLITS:
        raise DataError(f"unknown CrossNER split {split!r}; expected one of {', '.join(SPLITS)}")


def source_path(domain: str, split: str) -> Path:
    """The local file for ``domain``/``split``: the mirror's, or the cache's (downloaded once)."""
    _check(domain, split)
    return UPSTREAM.path(f"{domain}/{split}.txt")


def sentences(domain: str, split: str) -> tuple[Sentence, ...]:
    """Every sentence of the file, in order (``-DOCSTART-`` markers dropped)."""
    segments, _ = _load(source_path(domain, split))
    return tuple(s for segment in segments for s in segment)


def content_hash(domain: str, split: str) -> str:
    """sha256 (hex) of the raw bytes of the file the loader reads."""
    return _load(source_path(domain, split))[1]


def documents_with_hash(
    domain: str, split: str, sentences_per_doc: int = 4
) -> tuple[list[Document], str]:
    """``documents(...)`` and the sha256 of the file they came from, from a single read."""
    if sentences_per_doc < 1:
        raise ConfigError(f"sentences_per_doc must be at least 1, got {sentences_per_doc}")
    segments, sha = _load(source_path(domain, split))
    docs: list[Document] = []
    for segment in segments:  # groups never cross a -DOCSTART- marker
        for i in range(0, len(segment), sentences_per_doc):
            group = segment[i : i + sentences_per_doc]
            doc_id = f"crossner/{domain}/{split}/{len(docs):05d}"
            docs.append(Document(doc_id, " ".join(s.text for s in group), group))
    return docs, sha


def documents(domain: str, split: str, sentences_per_doc: int = 4) -> list[Document]:
    """Consecutive sentences grouped ``sentences_per_doc`` at a time (the last may be shorter)."""
    return documents_with_hash(domain, split, sentences_per_doc)[0]


class CrossNER(DataSource):
    """``crossner``: a domain's splits as documents (``texts``) and as annotated ``sentences``."""

    name = "crossner"
    views = frozenset({"texts", "sentences"})
    needs_domain = True

    def texts(self, data: DataSpec, sentences_per_doc: int, *, max_items: int | None = None,
              max_bytes: int | None = None) -> Texts:
        texts: list[str] = []
        hashes: dict[str, str] = {}
        for split in data.splits:
            docs, sha = documents_with_hash(data.domain, split, sentences_per_doc)
            texts.extend(d.text for d in docs)
            hashes[f"crossner/{data.domain}/{split}"] = sha
        if not texts:
            raise DataError(f"crossner/{data.domain}: splits {list(data.splits)} hold no documents")
        return Texts(tuple(texts), hashes)

    def sentences(self, domain: str, split: str) -> tuple[tuple[Sentence, ...], str]:
        return sentences(domain, split), content_hash(domain, split)

    def pinned_hashes(self, data: DataSpec) -> dict[str, str]:
        for split in data.splits:
            _check(data.domain, split)
        # the views hash a file's raw bytes: the download pins are the same quantity
        return {f"crossner/{data.domain}/{split}": UPSTREAM.sha256[f"{data.domain}/{split}.txt"] for split in data.splits}
