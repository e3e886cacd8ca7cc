"""Tasks run through lm-evaluation-harness, on the model the backend already holds.

Local task folders (``include``) may name the placeholder ``CPTBENCH_DOCUMENTS`` as a data file:
cptbench writes the task's documents there as JSONL and hands lm-eval a resolved copy of the
folder, so an offline general task needs no hub. The first-token convention is cptbench's own
(the backend's prefix token), so lm-eval's bits-per-byte and cptbench's are comparable, and
share the column family ``bpb``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cptbench.core.errors import ConfigError
from cptbench.core.matrix import Direction
from cptbench.core.samples import Samples
from cptbench.core.spec import LmEvalRef
from cptbench.data.corpus import spread
from cptbench.data.sources import check_documents, load_texts
from cptbench.eval.backends.base import Backend
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, done

PLACEHOLDER = "CPTBENCH_DOCUMENTS"


FAMILIES = {"bits_per_byte": "bpb"}  # lm-eval metric keys that measure a unit cptbench already names


class LmEval(TaskKind):
    """``lmeval``: one lm-eval task; ``data``, when given, is written to the file its YAML reads."""

    name = "lmeval"
    reads = None  # optional: the task may read its own data (a hub task) or the suite's documents
    count_detail = "sample_len"  # lm-eval's count of evaluated documents
    fields = ("text",)

    def column(self, metric, lmeval: LmEvalRef) -> tuple[str, Direction]:
        return FAMILIES.get(lmeval.metric, lmeval.metric), lmeval.direction

    def inputs(self, task, suite, budget) -> TaskInputs:
        check_task_name(task.lmeval, f"{suite.path}: task {task.name}: lmeval.task")
        if task.data is None:
            return TaskInputs((), {})
        source = load_texts(task.data, suite.sentences_per_doc, max_items=self.cap(budget))
        items = spread(source.texts, self.cap(budget))
        check_documents(items, task.data, f"task {task.name}")
        return TaskInputs(items, source.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        documents = items if task.data is not None else None
        limit = None if documents is not None else context.budget.eval_docs
        cell = evaluate_lmeval(backend, task.lmeval, documents, limit=limit)
        done(context, len(items))
        return cell

    def sample_problem(self, task, details, samples, documents) -> str | None:
        if task.lmeval.metric == "bits_per_byte":  # (bits, bytes) per document, as for bpb; no sums in details
            from cptbench.eval.kinds.bpb import document_bits_problem

            return document_bits_problem(self, task, {k: v for k, v in details.items() if k not in ("bytes", "nll")},
                                         samples, documents)
        return TaskKind.sample_problem(self, task, details, samples, documents)

    def recomputed(self, task, details) -> dict[str, float]:
        # lm-eval reports byte_perplexity = 2 ** bits_per_byte beside it (both from the same sums)
        if task.lmeval.metric != "bits_per_byte":
            return {}
        return {"value": math.log2(details["byte_perplexity"])}


def evaluate_lmeval(backend: Backend, ref: LmEvalRef, documents: Sequence[str] | None, *,
                    limit: int | None = None, batch_size: int = 8) -> Cell:
    """Run one lm-eval task on the backend's model; its metric is the cell (other metrics in details)."""
    from lm_eval import simple_evaluate

    bars = io.StringIO()  # lm-eval draws tqdm bars that TQDM_DISABLE does not reach: keep them off the terminal
    with tempfile.TemporaryDirectory(prefix="cptbench-lmeval-") as work, _stderr_to(bars):
        output = simple_evaluate(
            model=backend.lm_eval_model(batch_size),
            tasks=[ref.task],
            task_manager=_task_manager(ref, documents, Path(work)),
            limit=limit,
            bootstrap_iters=0,
            log_samples=True,  # per-document values: the cell's interval is resampled from them
            verbosity=None,  # lm-eval then adds no terminal handler: its records reach the run log
        )
    scores = output["results"].get(ref.task, {})
    key = f"{ref.metric},none"
    if key not in scores:
        reported = sorted(k.split(",")[0] for k in scores if not k.startswith("alias"))
        raise ConfigError(f"lm-eval task {ref.task}: no metric {ref.metric!r} (it reports {reported})")
    details = {k.split(",")[0]: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and k != key}
    value = float(scores[key])
    return Cell(value, details, _document_samples(output.get("samples", {}).get(ref.task, []), ref.metric, value))


def _document_samples(logged: list[dict], metric: str, value: float) -> Samples | None:
    """Per-document values of ``metric`` from lm-eval's logged samples, when they determine the
    score: (loglikelihood, bytes) pairs for bits-per-byte, numbers for a metric lm-eval averages.
    None for corpus-level metrics (F1, BLEU...) whose score is not a ratio of per-document sums."""
    entries = [entry[metric] for entry in sorted(logged, key=lambda e: e["doc_id"]) if metric in entry]
    if not entries:
        return None
    if metric == "bits_per_byte":
        samples = Samples.of([-ll / math.log(2) for ll, _ in entries], [n for _, n in entries])
    elif all(isinstance(e, (int, float)) for e in entries):
        samples = Samples.of(entries)
    else:
        return None
    return samples if math.isclose(samples.value(), value, rel_tol=1e-6, abs_tol=1e-9) else None


@contextlib.contextmanager
def _stderr_to(buffer: io.StringIO):
    """Redirect stderr into ``buffer``; if the block fails, its last lines go to the log as a warning.

    The process's stderr (file descriptor 2) goes to a temporary file meanwhile: lm-eval runs
    ``git describe`` in the current folder for its own record, and outside a git checkout git
    prints "fatal: not a git repository" on every evaluation."""
    with tempfile.TemporaryFile() as children, _descriptor_to(2, children):
        try:
            with contextlib.redirect_stderr(buffer):
                yield
        except BaseException:
            children.seek(0)
            printed = buffer.getvalue() + children.read().decode(errors="replace")
            logging.getLogger(__name__).warning("lm-eval failed; its last output: %s", printed[-2000:])
            raise


@contextlib.contextmanager
def _descriptor_to(fd: int, target):
    """Point file descriptor ``fd`` at ``target`` for the block (what child processes write)."""
    try:
        saved = os.dup(fd)
    except OSError:  # no stderr at all: nothing to silence
        yield
        return
    try:
        os.dup2(target.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def check_task_name(ref: LmEvalRef, field: str) -> None:
    """Refuse, before any evaluation, a task lm-eval does not know (offline: its index is built
    from YAML files, lm-eval's own or the include folder's, placeholders and all), a metric the
    task does not report, and a task whose Hub data cannot be reached (offline, not cached)."""
    from lm_eval.tasks import TaskManager

    manager = _default_tasks() if ref.include is None else TaskManager(include_path=str(ref.include), include_defaults=False)
    if ref.task not in manager.all_tasks:
        where = f"folder {ref.include}" if ref.include else "lm-eval's tasks"
        raise ConfigError(f"{field}: {ref.task!r} is not a task in {where}")
    entry = manager.task_index.get(ref.task)
    config = entry.cfg if entry is not None and isinstance(entry.cfg, dict) and "task" in entry.cfg else None
    if config is None:  # a group or a tag: its tasks report their own metrics
        return
    reported = _task_metrics(config)
    if reported is not None and ref.metric not in reported:
        raise ConfigError(f"{field.rsplit('.', 1)[0]}.metric: {ref.metric!r} is not a metric task {ref.task!r} "
                          f"reports (it reports {', '.join(reported)})")
    _check_reachable(config, field)


LOCAL_BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas")


def _task_metrics(config: dict) -> list[str] | None:
    """The metrics a task's YAML reports: its ``metric_list``, else lm-eval's defaults for its
    output type (None when they are not plain names)."""
    from lm_eval.api.registry import DEFAULT_METRIC_REGISTRY

    listed = config.get("metric_list")
    if listed:
        names = [item.get("metric") for item in listed if isinstance(item, dict)]
        return names if names and all(isinstance(n, str) for n in names) else None
    return DEFAULT_METRIC_REGISTRY.get(config.get("output_type", "generate_until"))


def _check_reachable(config: dict, field: str) -> None:
    """A task reading Hub data: its builder must load (offline, only from the local cache)."""
    path = config.get("dataset_path")
    if not isinstance(path, str) or path in LOCAL_BUILDERS or Path(path).exists():
        return
    import datasets

    try:
        datasets.load_dataset_builder(path, config.get("dataset_name"), **{
            k: v for k, v in (config.get("dataset_kwargs") or {}).items() if k in ("revision", "trust_remote_code")})
    except Exception as exc:  # noqa: BLE001 - offline, missing, gated: one line either way
        offline = "offline and not in the local cache" if _offline() else "unreachable"
        raise ConfigError(f"{field}: task {config['task']!r} reads Hub data {path!r}, {offline} "
                          f"({' '.join(str(exc).split())[:160]})") from None


def _offline() -> bool:
    return any(os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


@functools.cache
def _default_tasks():
    """lm-eval's index of its own tasks: a minute to build on a CPU, so built once per process."""
    from lm_eval.tasks import TaskManager

    return TaskManager()


def _task_manager(ref: LmEvalRef, documents: Sequence[str] | None, work: Path):
    from lm_eval.tasks import TaskManager

    if ref.include is None:
        return _default_tasks()
    data_file = work / "documents.jsonl"
    if documents is not None:
        data_file.write_text("".join(json.dumps({"text": d}) + "\n" for d in documents), encoding="utf-8")
    folder = work / "tasks"
    folder.mkdir()
    for source in sorted(ref.include.glob("*.yaml")):
        (folder / source.name).write_text(source.read_text(encoding="utf-8").replace(PLACEHOLDER, str(data_file)), encoding="utf-8")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # a local json file needs no hub
    return TaskManager(include_path=str(folder), include_defaults=False)
