"""``cptbench verify --reproduce``: train a finished run's whole configuration again and compare every row.

``cptbench verify`` re-evaluates the two rows whose models a run keeps (the base model and the
final checkpoint); a middle row, or a claim about how the stages were trained, can only be checked
by training again. CPU runs are bit-deterministic, so the configuration in the run's
``config.json`` (suite by content hash, budget, model, seed, method with every parameter, stage
order, every recipe as it ran, eval_every, backend and its options, processes) is run again through
``run_suite`` — the stage loop ``cptbench run`` uses — into ``RUN_DIR/verify/reproduce/``, and every
cell and per-item sample of every row, every stage's training summary and every curve point are
compared with the record. The recipes are the ones ``config.json`` keeps (written to
``RUN_DIR/verify/recipes/``), so a recipe file moved or edited since cannot change what is
reproduced. The reproduction's record is kept as ``RUN_DIR/verify/reproduced-record.json`` and its
run directory (checkpoints included) removed. The outcome goes to ``verification.json`` with
``level: reproduced``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cptbench.config.suites import recipe_from_mapping
from cptbench.core.constants import DEFAULT_BACKEND
from cptbench.core.errors import ConfigError, RecordError
from cptbench.core.io import validate, write_json_atomic
from cptbench.core.progress import Reporter
from cptbench.core.records import MethodRef, RunRecord, StageCurve, StageTraining, load_verified_record
from cptbench.core.spec import Suite
from cptbench.run.runner import RunConfig, run_suite
from cptbench.run.store import RunDir
from cptbench.run.verify import DEFAULT_TOLERANCE, REPRODUCED, Comparison, Verification, suite_of, write_verification

REPRODUCE_DIR = "reproduce"  # RUN_DIR/verify/<this>: the reproduction's run directory, removed after comparison
REPRODUCED_RECORD = "reproduced-record.json"  # RUN_DIR/verify/<this>: what is kept of it
_TRAINING_EXACT = ("stage", "kind", "documents", "corpus_tokens", "tokens", "steps", "data_order_hash", "sources")


class _Curves(BaseModel):
    eval_every: int = Field(ge=1)
    tasks: list[str] | None = None


class _Fingerprint(BaseModel):
    """The fields of ``config.json``'s fingerprint a reproduction reads; the whole fingerprint is
    then compared with the one the reproduction's configuration has (any other field differs)."""

    model_config = ConfigDict(extra="allow")

    suite: str
    suite_hash: str
    budget: str
    model: str
    seed: int
    recipes: dict[str, dict[str, object]]
    eval_batch_tokens: int = Field(ge=1)
    method: MethodRef
    backend: str = DEFAULT_BACKEND
    backend_options: dict[str, str] = Field(default_factory=dict)
    curves: _Curves | None = None
    processes: int = Field(1, ge=1)
    nodes: int | None = None
    external: dict[str, object] | None = None


@dataclasses.dataclass(frozen=True)
class ReproductionPlan:
    run_dir: Path
    record: RunRecord
    config: RunConfig  # the run's configuration, into RUN_DIR/verify/reproduce
    recipes: dict[str, dict[str, object]]  # by the suite's recipe name, as config.json keeps them
    config_hash: str  # config.json's: the reproduction must claim its directory with the same

    @property
    def work(self) -> Path:
        return self.run_dir / "verify"


def plan_reproduction(run_dir: Path, suite: str | None = None) -> ReproductionPlan:
    """Every check before any training: a consistent record, its suite, and a ``config.json`` that
    says what the record says and that this cptbench runs as the same configuration."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RecordError(f"{run_dir}: not a run directory (verify --reproduce needs the run's config.json beside its record)")
    record = load_verified_record(run_dir)
    if record.trainer is not None:
        raise RecordError(f"{run_dir}: trained outside cptbench ({record.trainer.declared}): nothing to train again; "
                          "cptbench verify re-evaluates its base and final checkpoints")
    loaded = suite_of(run_dir, record, suite)
    run = RunDir(run_dir)
    stored = run.read_config()
    if stored is None:
        raise RecordError(f"{run.config}: missing: the configuration to reproduce is unknown")
    wanted = validate(stored.fingerprint, _Fingerprint, run.config, RecordError)
    _check_record_claims(run, record, wanted)
    if wanted.external is not None or wanted.nodes:
        what = "trained outside cptbench" if wanted.external is not None else f"trained on {wanted.nodes} nodes"
        raise ConfigError(f"{run.config}: {what}: verify --reproduce trains on this machine only")
    work = run_dir / "verify"
    config = _run_config(wanted, loaded, work)
    recipes = {}
    for stage in loaded.stages:
        if stage.recipe not in wanted.recipes:
            raise RecordError(f"{run.config}: recipes.{stage.recipe}: missing (the recipe of stage {stage.name!r})")
        recipes[stage.recipe] = recipe_from_mapping(wanted.recipes[stage.recipe], f"{run.config}: recipes", stage.kind)
    again = json.loads(json.dumps(config.fingerprint(recipes, tuple(wanted.method.order))))
    if again != stored.fingerprint:
        differs = sorted(k for k in set(again) | set(stored.fingerprint) if again.get(k) != stored.fingerprint.get(k))
        raise ConfigError(f"{run.config}: this cptbench cannot run that configuration again (differs in: "
                          f"{', '.join(differs)}); reproduce it with the cptbench version that ran it ({record.cptbench_version})")
    return ReproductionPlan(run_dir, record, config, wanted.recipes, stored.hash)


def reproduce_run(plan: ReproductionPlan, *, tolerance: float = DEFAULT_TOLERANCE, reporter: Reporter | None = None) -> Verification:
    """Run the configuration again, from the base model, and compare every row with the record."""
    for name, path in plan.config.recipe_overrides:
        write_json_atomic(Path(path), plan.recipes[name])  # JSON is YAML: load_recipe reads it
    # force: trained anew each time, since an earlier attempt's stages prove nothing now
    again = run_suite(plan.config, reporter)
    reproduced = RunDir(plan.config.out_dir)
    claimed = reproduced.read_config()
    if claimed is None or claimed.hash != plan.config_hash:  # planned as the same: a mismatch is a bug, not a finding
        raise ConfigError(f"{reproduced.config}: the reproduction ran another configuration than {plan.run_dir / 'config.json'}")
    found = compare_reproduction(plan.record, again, tolerance)
    verification = write_verification(plan.run_dir, REPRODUCED, list(range(len(plan.record.matrix))), tolerance, found,
                                      stages_disagreeing=found.stages_disagreeing)
    shutil.copyfile(reproduced.record, plan.work / REPRODUCED_RECORD)  # the summary kept; checkpoints and cells go
    shutil.rmtree(reproduced.root)
    return verification


@dataclasses.dataclass
class _Reproduction(Comparison):
    stages_disagreeing: int = 0


def compare_reproduction(record: RunRecord, again: RunRecord, tolerance: float) -> _Reproduction:
    """Every row's cells and samples, every stage's training summary, every curve point."""
    found = _Reproduction()
    if again.stages != record.stages or [t.name for t in again.tasks] != [t.name for t in record.tasks]:
        found.disagreements.append(f"stages and tasks: recorded {record.stages} × {[t.name for t in record.tasks]}, "
                                   f"reproduced {again.stages} × {[t.name for t in again.tasks]}")
        return found
    redone_samples = again.cell_samples() or [[None] * len(again.tasks)] * len(again.matrix)
    for row, values in enumerate(again.matrix):
        label = "base" if row == 0 else record.stages[row - 1]
        found.row(record, row, label, dict(zip((t.name for t in again.tasks), values)),
                  dict(zip((t.name for t in again.tasks), redone_samples[row])), tolerance)
    curves, curves_again = _curves_by_stage(record), _curves_by_stage(again)
    if list(curves) != list(curves_again):
        found.disagreements.append(f"curves: recorded for stages {list(curves)}, reproduced for {list(curves_again)}")
        found.stages_disagreeing += 1
        curves = curves_again = {}
    for ours, theirs in zip(record.training, again.training):
        problems = _training_disagrees(ours, theirs, tolerance)
        if ours.stage in curves:
            problems += _curve_disagrees(curves[ours.stage], curves_again[ours.stage], tolerance)
        found.disagreements.extend(f"training[{ours.stage}].{problem}" for problem in problems)
        found.stages_disagreeing += bool(problems)
    return found


def _training_disagrees(ours: StageTraining, theirs: StageTraining, tolerance: float) -> list[str]:
    """Counts, steps, data order and sources exactly; the final loss and rewards within ``tolerance``."""
    problems = [f"{key}: recorded {getattr(ours, key)!r}, reproduced {getattr(theirs, key)!r}"
                for key in _TRAINING_EXACT if getattr(ours, key) != getattr(theirs, key)]
    floats = [("final_loss", ours.final_loss, theirs.final_loss)]
    floats += [(f"rewards.{k}", ours.rewards.get(k), theirs.rewards.get(k)) for k in sorted({*ours.rewards, *theirs.rewards})]
    problems += [f"{key}: recorded {a!r}, reproduced {b!r}" for key, a, b in floats if not _close(a, b, tolerance)]
    return problems


def _curves_by_stage(record: RunRecord) -> dict[str, StageCurve]:
    return {curve.stage: curve for curve in record.curves or []}


def _curve_disagrees(ours: StageCurve, theirs: StageCurve, tolerance: float) -> list[str]:
    """The stage's curve (``eval_every``): the same steps and tasks, each point within ``tolerance``
    (the first point that differs)."""
    if (ours.tasks, ours.steps) != (theirs.tasks, theirs.steps):
        return [f"curve: recorded steps {ours.steps} of {ours.tasks}, reproduced {theirs.steps} of {theirs.tasks}"]
    for step, row, row_again in zip(ours.steps, ours.values, theirs.values):
        for task, a, b in zip(ours.tasks, row, row_again):
            if not _close(a, b, tolerance):
                return [f"curve step {step} {task}: recorded {a!r}, reproduced {b!r}"]
    return []


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def _check_record_claims(run: RunDir, record: RunRecord, wanted: _Fingerprint) -> None:
    """The record claims what ``config.json`` ran: otherwise reproducing one says nothing of the other."""
    claims = {
        "suite hash": (record.suite.hash, wanted.suite_hash), "budget": (record.suite.budget, wanted.budget),
        "model": (record.model.reference, wanted.model), "seed": (record.seed, wanted.seed),
        "recipes": (record.recipes, wanted.recipes),
        "method": (record.method.model_dump(mode="json") if record.method else None, wanted.method.model_dump(mode="json")),
    }
    for what, (recorded, ran) in claims.items():
        if recorded != ran:
            raise RecordError(f"{run.record}: its {what} is not the one {run.config} ran "
                              f"({_short(recorded)} vs {_short(ran)}); nothing here reproduces that record")


def _run_config(wanted: _Fingerprint, loaded: Suite, work: Path) -> RunConfig:
    budget = dataclasses.replace(loaded.budget(wanted.budget), eval_every=wanted.curves.eval_every if wanted.curves else None)
    used = list(dict.fromkeys(stage.recipe for stage in loaded.stages))
    overrides = tuple((name, str(work / "recipes" / f"{i}.yaml")) for i, name in enumerate(used))
    return RunConfig(suite=loaded, budget=budget, model=wanted.model, seed=wanted.seed, out_dir=work / REPRODUCE_DIR,
                     eval_batch_tokens=wanted.eval_batch_tokens, force=True, method=method_spec(wanted.method),
                     order=wanted.method.order_spec, recipe_overrides=overrides, backend=wanted.backend,
                     backend_options=tuple(sorted(wanted.backend_options.items())), processes=wanted.processes)


def method_spec(method: MethodRef) -> str:
    """``NAME:key=value,...`` with every recorded parameter, numbers exact (JSON), so that the
    method built from it has the same parameters (the fingerprint comparison checks it)."""
    if not method.params:
        return method.name
    return method.name + ":" + ",".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in method.params.items())


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
