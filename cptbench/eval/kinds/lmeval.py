"""Tasks run through lm-evaluation-harness, on the checkpoint cptbench already loaded.

Local task folders (``include``) may name the placeholder ``CPTBENCH_DOCUMENTS`` as a data file:
cptbench writes the task's documents there as JSONL and hands lm-eval a resolved copy of the
folder, so an offline general task needs no hub. The first-token convention is cptbench's own
(``prefix_token_id``), so lm-eval's bits-per-byte and cptbench's are comparable.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cptbench.core.errors import ConfigError
from cptbench.eval.scoring import Cell
from cptbench.config.suites import LmEvalRef

PLACEHOLDER = "CPTBENCH_DOCUMENTS"


def evaluate_lmeval(model, tokenizer, ref: LmEvalRef, documents: Sequence[str] | None, *, prefix_token_id: int,
                    limit: int | None = None, batch_size: int = 8) -> Cell:
    """Run one lm-eval task and return its metric as a cell (other reported metrics in details)."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    with tempfile.TemporaryDirectory(prefix="cptbench-lmeval-") as work:
        manager = _task_manager(ref, documents, Path(work))
        lm = HFLM(
            pretrained=model,
            tokenizer=tokenizer,
            device=str(next(model.parameters()).device),
            batch_size=batch_size,
            prefix_token_id=prefix_token_id,
        )
        output = simple_evaluate(
            model=lm,
            tasks=[ref.task],
            task_manager=manager,
            limit=None if documents is not None else limit,
            bootstrap_iters=0,
            log_samples=False,
            verbosity="ERROR",
        )
    scores = output["results"].get(ref.task, {})
    key = f"{ref.metric},none"
    if key not in scores:
        reported = sorted(k.split(",")[0] for k in scores if not k.startswith("alias"))
        raise ConfigError(f"lm-eval task {ref.task}: no metric {ref.metric!r} (it reports {reported})")
    details = {k.split(",")[0]: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and k != key}
    return Cell(float(scores[key]), details)


def _task_manager(ref: LmEvalRef, documents: Sequence[str] | None, work: Path):
    from lm_eval.tasks import TaskManager

    if ref.include is None:
        return TaskManager()
    data_file = work / "documents.jsonl"
    if documents is not None:
        data_file.write_text("".join(json.dumps({"text": d}) + "\n" for d in documents), encoding="utf-8")
    folder = work / "tasks"
    folder.mkdir()
    for source in sorted(ref.include.glob("*.yaml")):
        (folder / source.name).write_text(source.read_text(encoding="utf-8").replace(PLACEHOLDER, str(data_file)), encoding="utf-8")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # a local json file needs no hub
    return TaskManager(include_path=str(folder), include_defaults=False)
