"""``cptbench export``: every stage's training data exactly as ``run`` would train on it (same
documents, order, replay and token caps: both call ``run.stage.stage_rows``), one JSONL per stage
plus a manifest, for training with a stack of one's own."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cptbench import __version__
from cptbench.core.errors import ConfigError
from cptbench.core.io import atomic_path, json_text, write_bytes
from cptbench.core.progress import Reporter, SilentReporter
from cptbench.methods.base import RunSetting
from cptbench.methods.grammar import method_from_spec
from cptbench.models.resolve import resolve_model
from cptbench.run.jobs import StageRows
from cptbench.run.plan import PlannedStage, planned_mix
from cptbench.run.provenance import check_seed
from cptbench.run.runner import RunConfig, load_tokenizer, stage_data, training_inputs
from cptbench.run.stage import stage_rows
from cptbench.run.store import check_out

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


def export_stages(config: RunConfig, reporter: Reporter | None = None) -> dict:
    """Write ``<out>/<t>-<stage>.jsonl`` for every planned stage and ``<out>/manifest.json``; return
    the manifest. ``config.out_dir`` must be new or empty; the tokenizer is the model's (token caps)."""
    reporter = reporter or SilentReporter()
    check_seed(config.seed)
    method_from_spec(config.method)
    out = config.out_dir
    check_out(out)  # '' is the current folder
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out}: exists and is not an empty folder")
    data, plan = training_inputs(config, reporter)
    plan.plugin.check(RunSetting(plan.suite, {}, launched=False, external=True))
    tokenizer = load_tokenizer(resolve_model(config.model).path)
    reporter.start("export", "export stages", len(plan.stages))
    with atomic_path(out, directory=True) as folder:  # filled beside --out, renamed onto it at the end: never half-written
        stages = []
        for planned in plan.stages:
            built = stage_rows(stage_data(config, planned, tokenizer), data)
            plan.plugin.check_stage(planned_mix(planned), built.sources, f"stage {planned.stage.name}")
            stages.append(_write_stage(folder, out, built, planned, reporter))
        manifest = {
            "format": MANIFEST_FORMAT,
            "cptbench_version": __version__,
            "suite": {"name": config.suite.name, "version": config.suite.version, "hash": config.suite.content_hash,
                      "budget": config.budget.name},
            "seed": config.seed,
            "method": plan.method.model_dump(mode="json"),
            "tokenizer": config.model,  # token caps were counted with this model's tokenizer
            "data": dict(sorted(h for d in data.values() for h in d.data_hashes.items())),
            "stages": stages,
        }
        write_bytes(folder / MANIFEST_NAME, json_text(manifest).encode("utf-8"), shown=out / MANIFEST_NAME)
    reporter.finish("export")
    return manifest


def _write_stage(folder: Path, out: Path, built: StageRows, planned: PlannedStage, reporter: Reporter) -> dict:
    """One stage's JSONL in the temp ``folder`` that becomes ``out`` (a full disk: one line, nothing kept)."""
    stage = planned.stage
    path = folder / f"{stage.index}-{stage.name}.jsonl"
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in built.rows).encode("utf-8")
    write_bytes(path, payload, shown=out / path.name)
    reporter.update("export", advance=1)
    return {
        "stage": stage.name, "kind": stage.kind, "recipe": stage.recipe, "file": path.name,
        "sha256": hashlib.sha256(payload).hexdigest(), "documents": len(built.rows),
        "corpus_tokens": built.corpus_tokens, "data_order_hash": built.order_hash, "sources": built.sources,
    }
