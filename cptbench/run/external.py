"""Checkpoints trained outside cptbench (``cptbench evaluate-sequence``): checked before any
evaluation, then standing in for the stages ``run`` would have trained.

Rules: one checkpoint for the base model (any ``--model`` reference: an alias, a directory, a hub
id) and one per planned stage, each a loadable model directory; every checkpoint keeps the base's
tokenizer (token counts and perplexities in the record must compare across rows: a changed
tokenizer is refused). A manifest from ``cptbench export``, when given, must be of the same suite,
budget, seed and method (stage order, replay); its per-stage counts become the record's training
summary.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cptbench.core.errors import ConfigError, ModelError
from cptbench.core.io import read_json_object
from cptbench.core.records import StageTraining, TrainerRef
from cptbench.models.resolve import ResolvedModel, resolve_model
from cptbench.run.plan import Plan, PlannedStage


def check_checkpoints(checkpoints: tuple[Path, ...], plan: Plan) -> list[ResolvedModel]:
    """Every checkpoint resolved; their number and tokenizers checked."""
    expected = len(plan.stages) + 1
    if len(checkpoints) != expected:
        names = ", ".join(p.stage.name for p in plan.stages)
        raise ConfigError(f"--checkpoints: {len(checkpoints)} given, the suite needs {expected} (the base, then one "
                          f"after each stage: {names})")
    resolved = []
    for i, path in enumerate(checkpoints):
        if i and not Path(path).is_dir():  # the base may be any --model reference (an alias too)
            raise ModelError(f"--checkpoints {path}: not a model directory (config.json + *.safetensors)")
        try:
            resolved.append(resolve_model(str(path)))
        except ModelError as exc:
            raise ModelError(f"--checkpoints {path}: {exc}".replace(f"--model {path}: ", "")) from None
    base_vocab = _vocabulary(resolved[0].path)
    for model in resolved[1:]:
        if _vocabulary(model.path) != base_vocab:
            raise ModelError(f"--checkpoints {model.reference}: its tokenizer differs from the base's "
                             f"({resolved[0].reference}); token counts would not compare across rows")
    return resolved


def _vocabulary(path: Path) -> dict:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path).get_vocab()
    except (OSError, ValueError) as exc:
        raise ModelError(f"--checkpoints {path}: its tokenizer does not load ({' '.join(str(exc).split())[:200]})") from exc


def read_manifest(path: Path, suite_hash: str, budget: str, seed: int, plan: Plan) -> dict:
    # the method decides the stages' data (order, replay), so a manifest of another one is refused too
    """The export manifest, checked against the run it is to describe."""
    manifest = read_json_object(path, ConfigError)
    suite = manifest.get("suite")
    stages = manifest.get("stages")
    if not isinstance(suite, dict) or not isinstance(stages, list) or not all(isinstance(s, dict) for s in stages):
        raise ConfigError(f"{path}: suite and stages: not a cptbench export manifest (an object and a list of objects)")
    for i, stage in enumerate(stages):
        if not isinstance(stage.get("documents"), int) or not isinstance(stage.get("data_order_hash"), str):
            raise ConfigError(f"{path}: stages.{i}: documents and data_order_hash missing or mistyped")
    expected = {"suite.hash": suite_hash, "suite.budget": budget, "seed": seed,
                "stages": [p.stage.name for p in plan.stages], "method": plan.method.model_dump(mode="json")}
    found = {"suite.hash": suite.get("hash"), "suite.budget": suite.get("budget"), "seed": manifest.get("seed"),
             "stages": [s.get("stage") for s in stages], "method": manifest.get("method")}
    for key, value in expected.items():
        if found[key] != value:
            raise ConfigError(f"{path}: {key}: {json.dumps(found[key])} differs from this run's {json.dumps(value)} "
                              f"(the manifest was exported for another configuration)")
    return manifest


def external_training(planned: PlannedStage, manifest: dict | None) -> StageTraining:
    """The summary of a stage trained elsewhere: the exported counts when a manifest says them
    (tokens: one pass over the corpus, as declared), nothing measured (steps, seconds, loss)."""
    stage = planned.stage
    exported = next((s for s in (manifest or {}).get("stages", []) if s["stage"] == stage.name), None)
    if exported is None:
        return StageTraining(stage=stage.name, documents=0, corpus_tokens=0, tokens=0, steps=None, seconds=None,
                             final_loss=None, data_order_hash="", kind=stage.kind)
    tokens = exported.get("corpus_tokens") or 0
    return StageTraining(stage=stage.name, documents=exported["documents"], corpus_tokens=tokens, tokens=tokens,
                         steps=None, seconds=None, final_loss=None, data_order_hash=exported["data_order_hash"],
                         kind=stage.kind, sources=exported.get("sources") or {})


def trainer_ref(declared: str, manifest: Path | None, checkpoints: tuple[Path, ...]) -> TrainerRef:
    digest = hashlib.sha256(Path(manifest).read_bytes()).hexdigest() if manifest else None
    return TrainerRef(declared=declared, manifest_sha256=digest, checkpoints=[str(p) for p in checkpoints])
