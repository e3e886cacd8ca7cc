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
from cptbench.data.sources import load_texts
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
        return TaskInputs(spread(source.texts, self.cap(budget)), source.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        documents = items if task.data is not None else None
        limit = None if documents is not None else context.budget.eval_docs
        cell = evaluate_lmeval(backend, task.lmeval, documents, limit=limit)
        done(context, len(items))
        return cell

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
    """Redirect stderr into ``buffer``; if the block fails, its last lines go to the log as a warning."""
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    except BaseException:
        logging.getLogger(__name__).warning("lm-eval failed; its last output: %s", buffer.getvalue()[-2000:])
        raise


def check_task_name(ref: LmEvalRef, field: str) -> None:
    """Refuse a task name lm-eval does not know, before any evaluation (offline: its index is
    built from YAML files, lm-eval's own or the include folder's, placeholders and all)."""
    from lm_eval.tasks import TaskManager

    manager = _default_tasks() if ref.include is None else TaskManager(include_path=str(ref.include), include_defaults=False)
    if ref.task not in manager.all_tasks:
        where = f"folder {ref.include}" if ref.include else "lm-eval's tasks"
        raise ConfigError(f"{field}: {ref.task!r} is not a task in {where}")


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
