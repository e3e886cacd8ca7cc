"""PubMedQA PQA-L (1,000 expert-labelled questions) and the text formats every stage shares.

Public API
----------
``SPLITS``, ``DECISIONS``, ``COMMIT``      what exists, and the pinned upstream commit
``Example(id, question, contexts, long_answer, decision)``   one labelled question (frozen)
``source_path(name)``                   mirror file (``CPTBENCH_DATA_DIR``) or cached download
``examples(split)``                     the split's examples, sorted by id
``examples_with_hash(split)``           ``(examples, content_hash(split))`` from a single read
``content_hash(split)``                 sha256 (hex) of the split name and the raw bytes read
``clear_cache()``                       forget parsed files (tests that swap mirrors)
``CONTEXT_WORDS``, ``DECISION_CHOICES`` prompt truncation and the log-likelihood choices
``abstract(ex)``, ``user_prompt(ex)``, ``completion_text(ex)``,
``decision_context(ex)``                the text formats (training and evaluation share them)

Splits: ``test`` is the 500 ids of ``test_ground_truth.json``; ``train`` is the other 500 of
``ori_pqal.json`` (upstream's train/dev pool). Files come from ``$CPTBENCH_DATA_DIR/pubmedqa/``
when that variable is set, otherwise from GitHub ``pubmedqa/pubmedqa`` at ``COMMIT`` (base URL
overridable with ``CPTBENCH_PUBMEDQA_URL``), downloaded once into ``data_cache_dir()``. Every
problem raises ``DataError`` with a one-line message naming the file and id or field.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import DataError
from cptbench.core.io import parse_json
from cptbench.core.spec import DataSpec
from cptbench.data.base import DataSource
from cptbench.data.cache import Upstream
from cptbench.data.corpus import Examples, Texts

COMMIT = "1cbae8e92f72f20c8d3747cbb3bf5bc53554d997"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/pubmedqa/pubmedqa/{COMMIT}/data"
SPLITS = ("train", "test")
DECISIONS = ("yes", "no", "maybe")
QUESTIONS_FILE = "ori_pqal.json"
LABELS_FILE = "test_ground_truth.json"
UPSTREAM = Upstream(
    title="PubMedQA", folder="pubmedqa", commit=COMMIT, base_url=DEFAULT_BASE_URL,
    url_env="CPTBENCH_PUBMEDQA_URL", layout=f"{QUESTIONS_FILE} and pubmedqa/{LABELS_FILE}",
    sha256={  # the files at COMMIT: a download must match them byte for byte
        QUESTIONS_FILE: "8b3276be8942ebbd77f3ddcda12c1749bf0e490045a736fd8438ee40cf37a41d",
        LABELS_FILE: "939fe566f09017d13b1ca64d2ddfee0bc2374b366048152997669cccedc44d51",
    },
)

# content_hash(split) of the files pinned above (a hash of both files' bytes and the split name,
# so not derivable from their sha256): what a record made from the pinned data holds.
SPLIT_SHA256 = {
    "train": "156d074f277f624cecf8a05ec6dc374dc1f36fb5c44548343475709ab379f558",
    "test": "bf155f447dfc16d44f74bf5ba9800c72375acdac597592f72fcaaea1ab50f158",
}

# Abstracts average ~200 words; cutting prompts to 160 keeps prompt + answer within 512 tokens,
# which is what a 2-core CPU can train and evaluate on in reasonable time.
CONTEXT_WORDS = 160
DECISION_CHOICES = (" yes", " no", " maybe")


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    contexts: tuple[str, ...]
    long_answer: str
    decision: str

    # the ``cptbench.data.corpus.Question`` fields, which stages and tasks read from any source
    @property
    def prompt(self) -> str:
        return user_prompt(self)

    @property
    def completion(self) -> str:
        return completion_text(self)

    @property
    def reference(self) -> str:
        return self.long_answer

    @property
    def label(self) -> str:
        return self.decision


def clear_cache() -> None:
    _load_cached.cache_clear()


def source_path(name: str) -> Path:
    """The local copy of ``name`` (one of the two upstream files): the mirror's or the cache's."""
    return UPSTREAM.path(name)


def _read_json(path: Path) -> tuple[dict, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read PubMedQA file {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: expected UTF-8 text, invalid byte at offset {exc.start}") from exc
    data = parse_json(text, path, DataError)  # the one guarded reader: depth, integers, NaN bounded
    if not isinstance(data, dict) or not data:
        raise DataError(f"{path}: expected a non-empty JSON object mapping ids to entries")
    return data, raw


def _field(entry: object, key: str, path: Path, qid: str) -> object:
    if not isinstance(entry, dict):
        raise DataError(f"{path}: id {qid}: expected an object, got {type(entry).__name__}")
    if key not in entry:
        raise DataError(f"{path}: id {qid}: missing field {key!r}")
    return entry[key]


def _text(entry: object, key: str, path: Path, qid: str) -> str:
    value = _field(entry, key, path, qid)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{path}: id {qid}: field {key!r} must be a non-empty string")
    return value.strip()


def _example(qid: str, entry: object, path: Path) -> Example:
    contexts = _field(entry, "CONTEXTS", path, qid)
    if not (isinstance(contexts, list) and contexts and all(isinstance(c, str) for c in contexts)):
        raise DataError(f"{path}: id {qid}: field 'CONTEXTS' must be a non-empty list of strings")
    decision = _text(entry, "final_decision", path, qid).lower()
    if decision not in DECISIONS:
        raise DataError(f"{path}: id {qid}: final_decision {decision!r} is not yes, no or maybe")
    return Example(
        id=qid,
        question=_text(entry, "QUESTION", path, qid),
        contexts=tuple(c.strip() for c in contexts),
        long_answer=_text(entry, "LONG_ANSWER", path, qid),
        decision=decision,
    )


def _test_ids(labels: dict, by_id: dict[str, Example], path: Path) -> set[str]:
    """The test ids; each label must exist in the question file and agree with it."""
    for qid, label in labels.items():
        if qid not in by_id:
            raise DataError(f"{path}: id {qid}: not in {QUESTIONS_FILE}")
        if not isinstance(label, str) or label.lower() != by_id[qid].decision:
            raise DataError(
                f"{path}: id {qid}: label {label!r} disagrees with final_decision "
                f"{by_id[qid].decision!r} in {QUESTIONS_FILE}"
            )
    return set(labels)


@functools.lru_cache(maxsize=8)
def _load_cached(questions: str, labels: str, _stamp: tuple) -> dict[str, tuple[tuple, str]]:
    """split -> (examples, sha256); ``_stamp`` (mtimes and sizes) keys the cache by file version."""
    q_path, l_path = Path(questions), Path(labels)
    q_data, q_raw = _read_json(q_path)
    l_data, l_raw = _read_json(l_path)
    by_id = {qid: _example(qid, entry, q_path) for qid, entry in q_data.items()}
    test = _test_ids(l_data, by_id, l_path)
    ids = {"test": sorted(test), "train": sorted(set(by_id) - test)}
    if not ids["train"]:
        raise DataError(f"{q_path}: no ids left for 'train' after the {LABELS_FILE} test ids")
    # Both files define both splits, so both (length-prefixed) go into every split's hash.
    raw = b"".join(len(r).to_bytes(8, "big") + r for r in (q_raw, l_raw))
    digest = {split: hashlib.sha256(f"{split}\0".encode() + raw).hexdigest() for split in SPLITS}
    return {split: (tuple(by_id[i] for i in ids[split]), digest[split]) for split in SPLITS}


def _load(split: str) -> tuple[tuple[Example, ...], str]:
    if split not in SPLITS:
        raise DataError(f"unknown PubMedQA split {split!r}; expected one of {', '.join(SPLITS)}")
    paths = [source_path(QUESTIONS_FILE), source_path(LABELS_FILE)]
    try:
        stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    except OSError as exc:
        raise DataError(f"cannot read PubMedQA file {exc.filename}: {exc.strerror}") from exc
    return _load_cached(str(paths[0]), str(paths[1]), stamp)[split]


def examples_with_hash(split: str) -> tuple[tuple[Example, ...], str]:
    """``examples(split)`` and ``content_hash(split)`` from a single read."""
    return _load(split)


def examples(split: str) -> tuple[Example, ...]:
    """The split's examples, sorted by id (as strings)."""
    return _load(split)[0]


def content_hash(split: str) -> str:
    """sha256 (hex) of the split name and the raw bytes of both files (both define each split)."""
    return _load(split)[1]


# --- text formats ------------------------------------------------------------------------------


def _first_words(text: str, n: int = CONTEXT_WORDS) -> str:
    words = text.split()
    return " ".join(words) if len(words) <= n else " ".join(words[:n]) + "..."


def abstract(example: Example) -> str:
    """The full abstract (contexts joined by a space): CPT text and bits-per-byte documents."""
    return " ".join(example.contexts)


def user_prompt(example: Example) -> str:
    return (
        f"Question: {example.question}\n\nAbstract: {_first_words(abstract(example))}\n\n"
        "Explain the answer in a few sentences, then end with a line "
        "'Answer: yes', 'Answer: no' or 'Answer: maybe'."
    )


def completion_text(example: Example) -> str:
    """The target completion: reference explanation, then the answer line."""
    return f"{example.long_answer}\nAnswer: {example.decision}"


def decision_context(example: Example) -> str:
    """Plain-text context for yes/no/maybe by log-likelihood (lm-eval's pubmedqa layout)."""
    return f"Abstract: {_first_words(abstract(example))}\nQuestion: {example.question}\nAnswer:"


class PubMedQA(DataSource):
    """``pubmedqa``: PQA-L abstracts (``texts``) and labelled questions (``examples``, and as
    ``decisions``: the decision kind reads the same examples through ``examples``)."""

    name = "pubmedqa"
    views = frozenset({"texts", "examples", "decisions"})

    def texts(self, data: DataSpec, sentences_per_doc: int, *, max_items: int | None = None,
              max_bytes: int | None = None) -> Texts:
        examples = self.examples(data)
        return Texts(tuple(abstract(e) for e in examples.items), examples.data_hashes)

    def examples(self, data: DataSpec) -> Examples:
        items: list[Example] = []
        hashes: dict[str, str] = {}
        for split in data.splits:
            found, sha = examples_with_hash(split)
            items.extend(found)
            hashes[f"pubmedqa/{split}"] = sha
        return Examples(tuple(items), hashes)

    def pinned_hashes(self, data: DataSpec) -> dict[str, str]:
        unknown = [split for split in data.splits if split not in SPLIT_SHA256]
        if unknown:
            raise DataError(f"unknown PubMedQA split {unknown[0]!r}; expected one of {', '.join(SPLITS)}")
        return {f"pubmedqa/{split}": SPLIT_SHA256[split] for split in data.splits}
