"""``hf``: any Hugging Face ``datasets`` source (local JSON/JSONL/CSV/Parquet/text files or a Hub
data set) behind the same views as the built-in sources, with lm-eval's field names.

A suite maps the records' fields onto what a view hands out with templates: a field's name
(``text: body``) or a ``str.format`` template over the fields (``text: "{title}\\n\\n{body}"``).
Relative ``data_files`` resolve against the suite file's folder. ``streaming: true`` reads a split
from its start and stops when the budget is met (documents for a task, UTF-8 bytes >= the token cap
for a stage: a token is at least one byte), so a large corpus is never read whole.

What a record holds for each split (key ``hf/<dataset>[:<config>][:<files>]/<split>``): the sha256
of the local files it read (one file: that file's sha256), or for Hub data its revision and the
dataset's fingerprint. Every problem is one ``DataError`` line naming the suite file and field.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import string
from collections.abc import Iterable, Iterator
from pathlib import Path

from cptbench.core.errors import DataError
from cptbench.core.spec import DataSpec, HfData
from cptbench.data.base import DataSource
from cptbench.data.corpus import Choice, Examples, Question, Texts

_SCALARS = (str, int, float)


class HuggingFace(DataSource):
    """``hf``: documents (``texts``), questions (``examples``) and multiple-choice items (``choices``)."""

    name = "hf"
    views = frozenset({"texts", "examples", "choices"})

    def texts(self, data: DataSpec, sentences_per_doc: int, *, max_items: int | None = None,
              max_bytes: int | None = None) -> Texts:
        hf = _spec(data)
        texts: list[str] = []
        for split in data.splits:
            records = _records(hf, split)
            if hf.streaming:
                records = _budgeted(records, max_items, max_bytes, hf, "text")
            texts.extend(render(hf, "text", r, i, split) for i, r in records)
        return Texts(tuple(texts), self.data_hashes(data))

    def examples(self, data: DataSpec) -> Examples:
        hf = _spec(data)
        items = [_question(hf, record, i, split) for split in data.splits for i, record in _records(hf, split)]
        return Examples(tuple(items), self.data_hashes(data))

    def choices(self, data: DataSpec, max_items: int | None = None) -> Examples:
        hf = _spec(data)
        split = data.splits[0]
        records = _records(hf, split)
        if hf.streaming and max_items is not None:
            records = _budgeted(records, max_items, None, hf, "context")
        return Examples(tuple(_choice(hf, r, i, split) for i, r in records), self.data_hashes(data))

    def data_hashes(self, data: DataSpec) -> dict[str, str]:
        hf = _spec(data)
        return {f"hf/{_label(hf, split)}/{split}": _split_hash(hf, split) for split in data.splits}

    def pinned_hashes(self, data: DataSpec) -> dict[str, str]:
        # no upstream pins: a suite of one's own is pinned to the data its file points at now
        return self.data_hashes(data)


def _spec(data: DataSpec) -> HfData:
    if data.hf is None:
        raise DataError("source 'hf' needs dataset_path (and its templates) in the suite's data section")
    return data.hf


# --- reading ------------------------------------------------------------------------------


def _kwargs(hf: HfData) -> dict:
    return json.loads(hf.kwargs)


def _split_files(hf: HfData, split: str) -> list[Path]:
    """The local files of ``split`` (``data_files`` as a string or list means split ``train``, as
    ``datasets`` reads it), resolved against the suite's folder; each must exist."""
    data_files = _kwargs(hf).get("data_files")
    if data_files is None:
        return []
    if isinstance(data_files, dict):
        chosen = data_files.get(split, [])
    else:
        chosen = data_files if split == "train" else []
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    files = []
    for name in names:
        path = Path(name) if Path(name).is_absolute() else hf.base_dir / name
        if not path.is_file():
            raise DataError(f"{hf.origin}.dataset_kwargs.data_files: {name} not found (looked for {path})")
        files.append(path)
    return files


def _resolved_kwargs(hf: HfData) -> dict:
    kwargs = _kwargs(hf)
    data_files = kwargs.get("data_files")
    if isinstance(data_files, dict):
        kwargs["data_files"] = {split: _resolve_names(hf, names) for split, names in data_files.items()}
    elif data_files is not None:
        kwargs["data_files"] = _resolve_names(hf, data_files)
    return kwargs


def _resolve_names(hf: HfData, names: str | list[str]) -> str | list[str]:
    if isinstance(names, str):
        return names if Path(names).is_absolute() else str(hf.base_dir / names)
    return [_resolve_names(hf, name) for name in names]


def _load(hf: HfData, split: str):
    """The split as ``datasets`` loads it (an ``IterableDataset`` when streaming)."""
    _split_files(hf, split)  # a missing file is named before datasets says less
    import datasets

    try:
        return datasets.load_dataset(hf.path, hf.name, split=split, revision=hf.revision, streaming=hf.streaming,
                                     **_resolved_kwargs(hf))
    except (ConnectionError, OSError) as exc:
        raise DataError(f"{hf.origin}.dataset_path: {hf.path!r} could not be loaded ({_one_line(exc)}); a Hub id needs "
                        f"the network (or a local cache), a local file a builder such as json, csv, parquet, text") from exc
    except ValueError as exc:
        raise DataError(f"{hf.origin}.split: {_one_line(exc)}") from exc
    except StopIteration as exc:  # datasets' json builder on an empty file
        raise DataError(f"{hf.origin}: split {split!r} holds no records") from exc
    except Exception as exc:  # noqa: BLE001 - builders raise many types; one line names the data either way
        raise DataError(f"{hf.origin}: loading {hf.path!r} split {split!r} failed: {_one_line(exc)}") from exc


def _records(hf: HfData, split: str) -> Iterator[tuple[int, dict]]:
    """``(index, record)`` of the split, in order; an empty split is an error."""
    if hf.streaming:
        return _checked_stream(_load(hf, split), hf, split)
    rows, _ = _loaded(hf, split, _stamp(hf, split))
    return iter(enumerate(rows))


def _read_rows(rows: Iterable[dict], hf: HfData, split: str) -> Iterator[dict]:
    """The records as ``datasets`` decodes them (lazily, from Arrow): a file that is not UTF-8
    (``datasets`` reads every text file as UTF-8) is one line naming the data."""
    try:
        yield from rows
    except UnicodeDecodeError as exc:
        raise DataError(f"{hf.origin}: split {split!r}: not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} "
                        f"at {exc.start}); convert the file to UTF-8") from None


def _checked_stream(stream: Iterable[dict], hf: HfData, split: str) -> Iterator[tuple[int, dict]]:
    empty = True
    for i, record in enumerate(_read_rows(stream, hf, split)):
        empty = False
        yield i, record
    if empty:
        raise DataError(f"{hf.origin}: split {split!r} holds no records")


@functools.lru_cache(maxsize=32)
def _loaded(hf: HfData, split: str, _stamp: tuple) -> tuple[tuple[dict, ...], str]:
    """The split's records and the fingerprint ``datasets`` gives it, read once per process per
    file version (``_stamp``)."""
    dataset = _load(hf, split)
    rows = tuple(_read_rows(dataset, hf, split))
    if not rows:
        raise DataError(f"{hf.origin}: split {split!r} holds no records")
    return rows, getattr(dataset, "_fingerprint", "")


def _stamp(hf: HfData, split: str) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _split_files(hf, split))


def _budgeted(records: Iterator[tuple[int, dict]], max_items: int | None, max_bytes: int | None, hf: HfData,
              field: str) -> Iterator[tuple[int, dict]]:
    """A stream cut where the budget is met: ``max_items`` records, or records until their rendered
    ``field`` reaches ``max_bytes`` UTF-8 bytes (a token is at least one byte, so the token cap is met)."""
    total = 0
    for count, (i, record) in enumerate(records):
        if max_items is not None and count >= max_items:
            return
        if max_bytes is not None and total >= max_bytes:
            return
        if max_bytes is not None:
            total += len(render(hf, field, record, i, "").encode())
        yield i, record


# --- templates ----------------------------------------------------------------------------

MAX_FORMAT_WIDTH = 1000  # "{text:>999999999}" would allocate gigabytes per record


def check_template(template: str) -> None:
    """A template the reader can fill: plain field names (no attributes, indexes or nested fields),
    format specs of bounded width. Raises ``ValueError`` (the suite schema names the field)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a format string ({exc})") from None
    for _, name, spec, _ in parts:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} must name a field (no attributes, indexes or positions)")
        if spec and "{" in spec:
            raise ValueError(f"{{{name}:{spec}}}: a nested field in a format spec")
        if spec and any(int(digits) > MAX_FORMAT_WIDTH for digits in re.findall(r"\d+", spec)):
            raise ValueError(f"{{{name}:{spec}}}: a width or precision above {MAX_FORMAT_WIDTH}")


def render(hf: HfData, field: str, record: dict, index: int, split: str) -> str:
    """The suite's template for ``field`` filled from ``record``: a field name, or a format string."""
    template = hf.template(field)
    if template is None:
        raise DataError(f"{hf.origin}.{field}: required to read this data")
    return _fill(template, record, f"{hf.origin}.{field}", f"split {split!r} record {index}")


def _fill(template: str, record: dict, origin: str, which: str) -> str:
    """``origin`` (file: field) and ``which`` (split and record) name the place in messages."""
    where = f"{origin}: {which}"
    if "{" not in template:
        return _text_value(record, template, where)
    try:
        check_template(template)
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        return template.format_map({name: _scalar(record, name, where) for name in names})
    except (ValueError, KeyError, IndexError) as exc:
        raise DataError(f"{origin}: template {template!r} is not a format string ({exc})") from exc


def _value(record: dict, name: str, where: str) -> object:
    if name not in record:
        raise DataError(f"{where}: has no field {name!r} (fields: {', '.join(sorted(record))})")
    return record[name]


def _scalar(record: dict, name: str, where: str) -> str | int | float:
    value = _value(record, name, where)
    if not isinstance(value, _SCALARS) or isinstance(value, bool):
        raise DataError(f"{where}: field {name!r} is {type(value).__name__}, not a string or number")
    return value


def _text_value(record: dict, name: str, where: str) -> str:
    value = _value(record, name, where)
    if not isinstance(value, str):
        raise DataError(f"{where}: field {name!r} is {type(value).__name__}, not a string")
    return value


def _question(hf: HfData, record: dict, index: int, split: str) -> Question:
    def optional(field: str) -> str:
        return render(hf, field, record, index, split) if hf.template(field) else ""

    label = optional("label") or None
    return Question(
        id=f"{split}/{index}", prompt=render(hf, "prompt", record, index, split), completion=optional("completion"),
        reference=optional("reference"), label=label.strip().lower() if label else None,
    )


def _choice(hf: HfData, record: dict, index: int, split: str) -> Choice:
    where = f"{hf.origin}: split {split!r} record {index}"
    if isinstance(hf.choices, str):
        choices = _value(record, hf.choices, f"{hf.origin}.choices: split {split!r} record {index}")
        if not (isinstance(choices, list) and len(choices) >= 2 and all(isinstance(c, str) for c in choices)):
            raise DataError(f"{hf.origin}.choices: split {split!r} record {index}: field {hf.choices!r} "
                            f"must be a list of at least two strings")
    else:
        choices = [_fill(t, record, f"{hf.origin}.choices", f"split {split!r} record {index}") for t in hf.choices or ()]
    answer = _value(record, hf.answer, f"{hf.origin}.answer: split {split!r} record {index}")
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(choices):
        position = answer
    elif isinstance(answer, str) and answer in choices:
        position = choices.index(answer)
    else:
        raise DataError(f"{where}: answer {answer!r} (field {hf.answer!r}) is neither an index below "
                        f"{len(choices)} nor one of the choices")
    context = render(hf, "context", record, index, split)
    return Choice(context, tuple(choices), position, hf.target_delimiter)


# --- identity -----------------------------------------------------------------------------


def _label(hf: HfData, split: str) -> str:
    label = hf.path + (f":{hf.name}" if hf.name else "")
    names = _kwargs(hf).get("data_files")
    if names is not None:
        chosen = names.get(split, []) if isinstance(names, dict) else names
        label += ":" + "+".join([chosen] if isinstance(chosen, str) else chosen)
    return label


def _split_hash(hf: HfData, split: str) -> str:
    """sha256 of the split's local files (one file: its own sha256); Hub data: its revision and the
    fingerprint ``datasets`` gives the loaded split."""
    files = _split_files(hf, split)
    if files:
        digests = [_file_sha256(str(p), *_stamp_of(p)) for p in files]
        if len(digests) == 1:
            return digests[0]
        return hashlib.sha256("".join(f"{p.name}\0{d}\n" for p, d in zip(files, digests)).encode()).hexdigest()
    if hf.streaming:
        return f"revision:{hf.revision or 'unpinned'}"
    _, fingerprint = _loaded(hf, split, ())
    return f"revision:{hf.revision or 'unpinned'}:fingerprint:{fingerprint}"


def _stamp_of(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, _mtime_ns: int, _size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
