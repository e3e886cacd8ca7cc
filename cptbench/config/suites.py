"""Load suite YAML (``tasks/suites/<name>.yaml``) into the frozen types of ``cptbench.core.spec``,
and recipes (``trainers/<name>.yaml``) into the trainers' typed recipes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from pydantic import BaseModel

from cptbench.config.schemas import GENERAL_STAGE, BudgetModel, EvalData, LmEvalSpec, SuiteModel, TaskModel, TrainData
from cptbench.core.errors import ConfigError
from cptbench.core.io import load_yaml, read_yaml_mapping, validate
from cptbench.core.matrix import Direction
from cptbench.core.resources import recipes_dir, tasks_dir
from cptbench.core.spec import Budget, DataSpec, HfData, LmEvalRef, Stage, Suite, TaskSpec
from cptbench.eval.kinds.registry import get_kind
from cptbench.train.kinds import STAGE_KINDS
from cptbench.train.recipes import Recipe


def suite_path(name_or_path: str) -> Path:
    """A suite name (``crossdomain``) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"}:
        return candidate
    path = tasks_dir() / "suites" / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(available_suites()) or "none"
        raise ConfigError(f"--suite {name_or_path}: no such suite (available: {known})")
    return path


def available_suites() -> list[str]:
    return sorted(p.stem for p in (tasks_dir() / "suites").glob("*.yaml"))


def load_suite(name_or_path: str) -> Suite:
    path = suite_path(name_or_path)
    model = load_yaml(path, SuiteModel)
    stage_index = {s.name: i for i, s in enumerate(model.stages, start=1)}
    params = _generator_params(model)
    stages = tuple(
        Stage(i, s.name, s.kind, s.recipe, _data_spec(s.data, path, f"stages.{i - 1}.data", params))
        for i, s in enumerate(model.stages, start=1)
    )
    tasks = tuple(_task(t, i, None if t.stage == GENERAL_STAGE else stage_index[t.stage], path, params)
                  for i, t in enumerate(model.tasks))
    budgets = {name: _budget(name, b) for name, b in model.budgets.items()}
    canonical = json.dumps(_canonical(model), sort_keys=True, separators=(",", ":"))
    return Suite(
        name=model.name,
        version=model.version,
        description=model.description,
        sentences_per_doc=model.sentences_per_doc,
        probe_seed=model.probe_seed,
        stages=stages,
        tasks=tasks,
        budgets=budgets,
        default_budget=model.default_budget,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        path=path,
        curve_tasks=tuple(model.curve_tasks) if model.curve_tasks is not None else None,
    )


def _generator_params(model: SuiteModel) -> tuple[tuple[str, int], ...]:
    """The ``generator`` block as the ``DataSpec.params`` of every generated source."""
    if model.generator is None:
        return ()
    return tuple((k, v) for k, v in model.generator.model_dump().items() if k != "name")


TEMPLATE_FIELDS = ("text", "prompt", "completion", "reference", "label", "context")


def _canonical(value: object) -> object:
    """The suite as plain JSON for its content hash; fields marked ``hash_neutral`` are left out
    while they hold their default (see schemas._hash_neutral)."""
    if isinstance(value, BaseModel):
        out = {}
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if (field.json_schema_extra or {}).get("hash_neutral") and item == field.default:
                continue
            out[name] = _canonical(item)
        return out
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _budget(name: str, model: BudgetModel) -> Budget:
    return Budget(name, model.train_tokens, model.eval_docs, model.probe_items, model.train_examples,
                  model.rl_prompts, model.generation_items, model.eval_every)


def _data_spec(model: TrainData | EvalData, suite_file: Path, where: str,
               params: tuple[tuple[str, int], ...] = ()) -> DataSpec:
    splits = tuple(model.split_names())
    if model.source == "facts":
        return DataSpec(model.source, model.domain, splits, params=params)
    if model.source != "hf":
        return DataSpec(model.source, model.domain, splits)
    templates = tuple((name, getattr(model, name)) for name in TEMPLATE_FIELDS if getattr(model, name) is not None)
    choices = tuple(model.choices) if isinstance(model.choices, list) else model.choices
    hf = HfData(
        path=model.dataset_path, name=model.dataset_name,
        kwargs=json.dumps(model.dataset_kwargs or {}, sort_keys=True), revision=model.revision,
        streaming=model.streaming, base_dir=suite_file.parent.resolve(), templates=templates, choices=choices,
        answer=model.answer, target_delimiter=model.target_delimiter, origin=f"{suite_file}: {where}",
    )
    return DataSpec("hf", model.domain, splits, hf)


def _task(model: TaskModel, index: int, stage: int | None, suite_file: Path,
          params: tuple[tuple[str, int], ...] = ()) -> TaskSpec:
    data = _data_spec(model.data, suite_file, f"tasks.{index}.data", params) if model.data else None
    lmeval = _lmeval_ref(model.lmeval, suite_file, index) if model.lmeval else None
    metric, direction = get_kind(model.kind).column(model.metric, lmeval)
    return TaskSpec(model.name, model.kind, data, stage, metric, direction, lmeval)


def _lmeval_ref(spec: LmEvalSpec, suite_file: Path, index: int) -> LmEvalRef:
    include = None
    if spec.include is not None:
        include = Path(spec.include) if Path(spec.include).is_absolute() else tasks_dir() / spec.include
        if not include.is_dir():
            raise ConfigError(f"{suite_file}: tasks.{index}.lmeval.include: folder {include} not found")
    return LmEvalRef(spec.task, spec.metric, Direction(spec.direction), include)


def recipe_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    return candidate if candidate.suffix in {".yaml", ".yml"} else recipes_dir() / f"{name_or_path}.yaml"


def load_recipe(name_or_path: str, kind: str | None = None) -> Recipe:
    """A recipe name (``cpt`` -> ``trainers/cpt.yaml``) or a path to a YAML file. Its ``kind``
    field picks the schema (default ``cpt``); ``kind`` given here must match it."""
    path = recipe_path(name_or_path)
    return recipe_from_mapping(read_yaml_mapping(path), path, kind)


def recipe_from_mapping(raw: dict, source: object, kind: str | None = None) -> Recipe:
    """A recipe's fields (a YAML file's, or those a run's ``config.json`` keeps) in its kind's schema."""
    found = raw.get("kind", "cpt")
    if not isinstance(found, str) or found not in STAGE_KINDS:
        raise ConfigError(f"{source}: kind: {found!r} is not one of {sorted(STAGE_KINDS)}")
    if kind is not None and found != kind:
        raise ConfigError(f"{source}: kind: recipe is for {found!r} stages, the stage is {kind!r}")
    return validate(raw, STAGE_KINDS[found].recipe, str(source))


def evaluation_view(suite: Suite, task_names: list[str] | None = None) -> Suite:
    """The suite without stages, for evaluating one checkpoint: every chosen task becomes a column
    of a one-row matrix (no stage alignment, so only final values are defined)."""
    known = [t.name for t in suite.tasks]
    unknown = [name for name in task_names or [] if name not in known]
    if unknown:
        raise ConfigError(f"--tasks {unknown[0]}: suite {suite.name!r} has tasks {known}")
    chosen = tuple(
        dataclasses.replace(t, stage=None) for t in suite.tasks if task_names is None or t.name in task_names
    )
    return dataclasses.replace(suite, stages=(), tasks=chosen)
