"""The stage loop: evaluate the base model, then train -> checkpoint -> evaluate every task, per stage.

Re-running the same configuration on an existing run directory resumes it: finished cells are
read back, training restarts from the last finished stage's checkpoint (and inside a stage from
the trainer's last checkpoint when the recipe saves them). A different configuration is refused,
naming what differs; ``force=True`` starts over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from cptbench import __version__
from cptbench.config.suites import load_recipe
from cptbench.core import metrics
from cptbench.core.constants import DEFAULT_BACKEND
from cptbench.core.errors import ConfigError, DataError, RecordError
from cptbench.core.faults import crash_point
from cptbench.core.io import write_json_atomic
from cptbench.core.matrix import ResultMatrix
from cptbench.core.progress import Reporter, SilentReporter
from cptbench.core.records import MethodRef, RunRecord, StageTraining, load_record, record_samples
from cptbench.core.samples import Samples
from cptbench.core.spec import Budget, Stage, Suite
from cptbench.data.corpus import Examples, Texts
from cptbench.data.sources import load_examples, load_texts
from cptbench.eval.backends.registry import check_backend, open_backend
from cptbench.eval.kinds.base import Cell, EvalContext
from cptbench.eval.kinds.registry import get_kind
from cptbench.eval.scoring import evaluate_task
from cptbench.methods.base import RunSetting
from cptbench.methods.grammar import method_from_spec, method_ref
from cptbench.models.resolve import ResolvedModel, resolve_model
from cptbench.run.attempts import Attempts
from cptbench.run.launcher import Nodes
from cptbench.run.lock import run_lock
from cptbench.run.plan import Plan, PlannedStage, make_plan, planned_mix
from cptbench.run.prechecks import check_model_fit, check_stages
from cptbench.run.processes import training_processes
from cptbench.run.provenance import check_seed, environment, make_deterministic
from cptbench.run.store import RunDir, writable_folder
from cptbench.run.trackers import ResultsTracker, finite, results_tracker, stage_tracking, tracked_config
from cptbench.train.kinds import stage_kind
from cptbench.train.recipes import Recipe
from cptbench.train.trackers import check_report_to

METHOD_STATE = "method"  # the run directory's folder for a method's saved state (ewc's Fisher)
PER_STEP_LOGS = ("losses", "learning_rates", "reward_steps")  # in train/<t>-<stage>.json beside the summary, not in the record


@dataclass(frozen=True)
class RunConfig:
    suite: Suite
    budget: Budget
    model: str
    seed: int
    out_dir: Path
    eval_batch_tokens: int = 1024  # measured fastest on CPU (docs/benchmarks.md)
    force: bool = False
    method: str = "naive"  # NAME[:key=value,...] (cptbench/methods/; `cptbench methods`)
    order: str = "given"  # given | reversed | random:SEED | similar
    recipe_overrides: tuple[tuple[str, str], ...] = ()  # (recipe name, YAML path) replacing a shipped recipe
    backend: str = DEFAULT_BACKEND  # evaluation backend (cptbench/eval/backends/registry.py)
    backend_options: tuple[tuple[str, str], ...] = ()  # the backend's own settings (vLLM engine, server URL)
    checkpoints: tuple[Path, ...] = ()  # evaluate-sequence: the base, then one per stage, trained elsewhere
    trainer: str = ""  # evaluate-sequence: what trained them, as the user declares it
    manifest: Path | None = None  # evaluate-sequence: the export manifest they were trained on
    processes: int = 1  # > 1: each stage trained by that many processes (cptbench/run/launch.py)
    accelerate_config: Path | None = None  # the Accelerate config those processes are launched with
    nodes: Nodes | None = None  # --nodes M > 1: each stage trained on M nodes (cptbench/run/nodes.py); this is node 0
    report_to: str = "none"  # --report-to: a tracker for losses, rows and metrics (cptbench/run/trackers.py); not in the fingerprint

    @property
    def external(self) -> bool:
        return bool(self.checkpoints)

    def recipes(self) -> dict[str, Recipe]:
        if self.external:  # the reference recipes did not train these checkpoints
            return {}
        overrides = dict(self.recipe_overrides)
        used = {stage.recipe for stage in self.suite.stages}
        unknown = sorted(set(overrides) - used)
        if unknown:
            raise ConfigError(f"--recipe {unknown[0]}=...: the suite's stages use recipes {sorted(used)}")
        return {stage.recipe: load_recipe(overrides.get(stage.recipe, stage.recipe), stage.kind) for stage in self.suite.stages}

    def fingerprint(self, recipes: dict[str, Recipe], order: tuple[str, ...]) -> dict[str, object]:
        """Everything that changes the numbers; its hash identifies the run configuration."""
        backend = {} if self.backend == DEFAULT_BACKEND else {"backend": self.backend}  # keeps older run dirs resumable
        if self.backend_options:
            backend["backend_options"] = dict(self.backend_options)
        if self.external:
            backend["external"] = {"checkpoints": [str(p) for p in self.checkpoints], "trainer": self.trainer,
                                   "manifest": str(self.manifest) if self.manifest else None}
        return {
            **backend,
            "suite": self.suite.name,
            "suite_hash": self.suite.content_hash,
            "stages": [stage.name for stage in self.suite.stages],
            "tasks": [task.name for task in self.suite.tasks],
            "budget": self.budget.name,
            "model": self.model,
            "seed": self.seed,
            "recipes": {name: recipe.model_dump(mode="json") for name, recipe in recipes.items()},
            "eval_batch_tokens": self.eval_batch_tokens,
            "method": self.method_ref(order).model_dump(mode="json"),
            **self._curves(),
            **({"processes": self.processes} if self.processes > 1 else {}),  # DDP reduces in another order
            **({"nodes": self.nodes.count} if self.nodes else {}),
        }

    def _curves(self) -> dict[str, object]:
        """Curves change what a run measures, not its matrix: named only when asked for (older
        run directories stay resumable)."""
        if not self.budget.eval_every:
            return {}
        tasks = None if self.suite.curve_tasks is None else list(self.suite.curve_tasks)
        return {"curves": {"eval_every": self.budget.eval_every, "tasks": tasks}}

    def method_ref(self, order: tuple[str, ...]) -> MethodRef:
        return method_ref(method_from_spec(self.method), self.order, order)


def config_hash(fingerprint: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class _Inputs:
    """Everything checked before the run directory is touched."""

    recipes: dict[str, Recipe]
    model: ResolvedModel
    eval_sets: dict[str, tuple[str, ...]]
    stage_data: dict[str, Texts | Examples]  # by suite stage name
    data_hashes: dict[str, str]
    plan: Plan
    checkpoints: tuple[Path, ...] = ()  # evaluate-sequence: resolved, base first
    manifest: dict | None = None


def run_suite(config: RunConfig, reporter: Reporter | None = None) -> RunRecord:
    """Run (or resume) every stage of the suite; return and write the run record."""
    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    inputs = _precheck(config, reporter)
    run = RunDir(config.out_dir)
    with run_lock(run.lock):
        _claim_run_dir(run, config, inputs)
        if run.record.exists():
            reporter.log(f"{run.record}: this configuration already finished; nothing to do")
            return load_record(run.record)
        determinism = make_deterministic(config.seed)
        with results_tracker(config.report_to, run.root, tracked_config(config)) as tracker:  # --report-to
            loop = _StageLoop(config, inputs.plan.suite, run, reporter, inputs.eval_sets, Attempts(run, started),
                              tracker)
            rows, training = _stages(loop, config, inputs, run, reporter)
            record = _record(config, inputs, loop, rows, training, determinism)
            write_json_atomic(run.record, record.model_dump(mode="json"))
            tracker.metrics(len(record.stages), finite(record.metrics))  # computed on the whole matrix: at its last row
    return record


def _stages(loop: _StageLoop, config: RunConfig, inputs: _Inputs, run: RunDir,
            reporter: Reporter) -> tuple[list[list[float]], list[StageTraining]]:
    """The base row, then each stage trained (or read back from an earlier attempt) and evaluated."""
    rows = [loop.evaluate(0, "base", inputs.model.path)]
    training: list[StageTraining] = []
    done = loop.finished_stage()
    current: Path | None = inputs.model.path if done == 0 else None
    reporter.start("stages", f"{config.suite.name} stages", len(inputs.plan.stages))
    for planned in inputs.plan.stages:
        stage = planned.stage
        if inputs.checkpoints:  # evaluate-sequence: trained elsewhere
            from cptbench.run.external import external_training

            current = inputs.checkpoints[len(training) + 1]
            training.append(external_training(planned, inputs.manifest))
        elif stage.index <= done:  # finished by an earlier attempt: its checkpoint is kept only for the last
            training.append(loop.saved_training(stage))
            current = run.checkpoint(stage.index, stage.name) if stage.index == done else None
        else:
            crash_point(f"before-train:{stage.name}")
            start = inputs.model.path if planned.from_base else current
            current, summary = loop.train(planned, start, inputs)
            training.append(summary)
        rows.append(loop.evaluate(stage.index, stage.name, current))
        reporter.update("stages", advance=1)
    reporter.finish("stages")
    return rows, training


def _precheck(config: RunConfig, reporter: Reporter) -> _Inputs:
    """Cheap checks before any long work: method, recipes, data for every stage and task, model, disk."""
    check_seed(config.seed)
    check_report_to(config.report_to)  # its package missing: before anything is written
    out_folder = writable_folder(config.out_dir, force=config.force)  # before the model is resolved: that may be a download
    method_from_spec(config.method)  # a wrong name, key, type or range: before anything else
    check_backend(config.backend, dict(config.backend_options))
    recipes = config.recipes()
    if config.processes > 1 or config.nodes:
        from cptbench.run.processes import check_processes

        world = config.processes * (config.nodes.count if config.nodes else 1)
        check_processes(world, config.accelerate_config, recipes, config.suite, config.budget)
    hashes: dict[str, str] = {}
    eval_sets: dict[str, tuple[str, ...]] = {}
    for task in config.suite.tasks:
        inputs = get_kind(task.kind).inputs(task, config.suite, config.budget)
        eval_sets[task.name] = inputs.items
        hashes.update(inputs.data_hashes)
    stage_data, plan = training_inputs(config, reporter)
    check_stages(config.suite, stage_data)  # a stage that would train no token
    launched = config.processes > 1 or config.accelerate_config is not None or config.nodes is not None
    plan.plugin.check(RunSetting(plan.suite, recipes, launched, config.external))
    for data in stage_data.values():
        hashes.update(data.data_hashes)
    if config.external:
        from cptbench.run.external import check_checkpoints, read_manifest

        resolved = check_checkpoints(config.checkpoints, plan)
        check_model_fit(resolved[0].path, {}, config.backend, dict(config.backend_options))
        manifest = read_manifest(config.manifest, config.suite.content_hash, config.budget.name, config.seed, plan) \
            if config.manifest else None
        _check_disk(config.out_dir, out_folder, resolved[0].path)
        return _Inputs(recipes, resolved[0], eval_sets, stage_data, dict(sorted(hashes.items())), plan,
                       tuple(m.path for m in resolved), manifest)
    model = resolve_model(config.model)
    check_model_fit(model.path, recipes, config.backend, dict(config.backend_options))
    reporter.log(f"model {config.model} -> {model.path}")
    check_method_effect(config, plan, stage_data, model.path)
    _check_disk(config.out_dir, out_folder, model.path)
    return _Inputs(recipes, model, eval_sets, stage_data, dict(sorted(hashes.items())), plan)


def training_inputs(config: RunConfig, reporter: Reporter) -> tuple[dict[str, Texts | Examples], Plan]:
    """Every stage's training data (by suite stage name) and the plan of the method (order,
    replay): what ``run`` trains on and ``export`` writes out."""
    stage_data = {stage.name: load_stage_data(stage, config.suite, config.budget) for stage in config.suite.stages}
    order = _resolve_order(config, stage_data, reporter)
    return stage_data, make_plan(config.suite, config.method_ref(order))


def load_stage_data(stage: Stage, suite: Suite, budget: Budget) -> Texts | Examples:
    """A stage's training data: documents for cpt (a streaming source reads up to the token cap in
    UTF-8 bytes), examples for sft / grpo."""
    if stage_kind(stage.kind).reads == "texts":
        return load_texts(stage.data, suite.sentences_per_doc, max_bytes=budget.train_tokens)
    return load_examples(stage.data)


def _resolve_order(config: RunConfig, stage_data, reporter: Reporter) -> tuple[str, ...]:
    from cptbench.train.orders import parse_order, stage_order

    spec = parse_order(config.order)
    names = [stage.name for stage in config.suite.stages]
    if config.order != "given" and any(stage.kind != "cpt" for stage in config.suite.stages):
        raise ConfigError(f"--order {config.order}: suite {config.suite.name} has sft/grpo stages; only 'given' applies")
    texts = {name: data.texts for name, data in stage_data.items() if isinstance(data, Texts)}
    order = tuple(stage_order(spec, names, texts))
    if order != tuple(names):
        reporter.log(f"stage order ({config.order}): {' -> '.join(order)}")
    return order


def _check_disk(out_dir: Path, folder: Path, model_path: Path) -> None:
    """Room in ``folder`` (where ``out_dir`` will be made) for three copies of the weights."""
    weights = sum(f.stat().st_size for f in model_path.glob("*.safetensors"))
    free = shutil.disk_usage(folder).free
    if free < 3 * weights:
        raise DataError(f"--out {out_dir}: {free / 2**30:.1f} GiB free, checkpoints need about {3 * weights / 2**30:.1f} GiB")


def _claim_run_dir(run: RunDir, config: RunConfig, inputs: _Inputs) -> None:
    """Write config.json, or check it: the same configuration resumes, another one is refused.
    ``force`` empties the directory and starts over."""
    fingerprint = config.fingerprint(inputs.recipes, tuple(inputs.plan.method.order))
    run.claim(config_hash(fingerprint), fingerprint, config.force)


class _StageLoop:
    """Training and evaluation of one run, resuming from what earlier attempts finished."""

    def __init__(self, config: RunConfig, suite: Suite, run: RunDir, reporter: Reporter, eval_sets, attempts: Attempts,
                 tracker: ResultsTracker | None = None) -> None:
        self.config = config
        self.tracker = tracker or ResultsTracker()
        self.attempts = attempts
        self.suite = suite  # as planned: stages in run order (or the single joint stage)
        self.run = run
        self.reporter = reporter
        self.eval_sets = eval_sets
        self.details: list[list[dict[str, float | int]]] = []
        self.samples: list[list[Samples | None]] = []
        self.backend_settings: dict[str, object] = {}
        self.parameters = 0
        self.eval_seconds = 0.0
        self.rolling_seconds = 0.0  # bits-per-byte tasks only: their tokens/s is the eval throughput
        self.rolling_tokens = 0

    def evaluate(self, row: int, label: str, model_path: Path | None) -> list[float]:
        """Every task on one checkpoint; finished cells are read back, new ones written one by one."""
        cells: dict[str, Cell] = {}
        for task in self.suite.tasks:
            saved = self.run.read_eval(row, label, task.name)
            if saved is not None:
                cells[task.name] = Cell(saved.value, saved.details, saved.samples and saved.samples.samples())
        missing = [t for t in self.suite.tasks if t.name not in cells]
        if not self.backend_settings:  # a resumed run: the settings of the first evaluation
            saved_backend = self.run.read_backend()
            if saved_backend is not None:
                self.backend_settings, self.parameters = saved_backend.settings, saved_backend.parameters
        if missing and model_path is None:
            raise RecordError(
                f"{self.run.eval_file(row, label, missing[0].name)}: missing, and the checkpoint after "
                f"{label} is gone; rerun with --force"
            )
        if missing or (model_path is not None and not self.backend_settings):
            cells.update(self._evaluate_missing(row, label, model_path, missing))
        ordered = [cells[t.name] for t in self.suite.tasks]
        self.details.append([c.details for c in ordered])
        self.samples.append([c.samples for c in ordered])
        self.tracker.row(row, {t.name: c.value for t, c in zip(self.suite.tasks, ordered)})
        return [c.value for c in ordered]

    def _evaluate_missing(self, row: int, label: str, model_path: Path, tasks) -> dict[str, Cell]:
        started = time.perf_counter()
        backend = open_backend(self.config.backend, model_path, batch_tokens=self.config.eval_batch_tokens,
                               options=dict(self.config.backend_options))
        self.parameters = backend.parameters
        self.backend_settings = backend.describe()
        write_json_atomic(self.run.backend, {"settings": self.backend_settings, "parameters": self.parameters})
        self.reporter.start("eval", f"evaluate after {label}", sum(len(self.eval_sets[t.name]) for t in tasks))
        try:
            cells = self._score(backend, row, label, tasks, started)
        finally:
            backend.close()
        self.reporter.finish("eval")
        self.eval_seconds += time.perf_counter() - started
        return cells

    def _score(self, backend, row: int, label: str, tasks, started: float) -> dict[str, Cell]:
        cells = {}
        context = EvalContext(self.config.budget, progress=lambda n: self.reporter.update("eval", advance=n))
        for task in tasks:
            task_started = time.perf_counter()
            cell = evaluate_task(backend, task, self.eval_sets[task.name], context)
            saved = {"value": cell.value, "details": cell.details, "samples": cell.samples and cell.samples.to_json()}
            write_json_atomic(self.run.eval_file(row, label, task.name), saved)
            self.run.append_log(f"eval row={row} ({label}) task={task.name} value={cell.value:.6f}")
            self.attempts.save(eval_seconds=self.eval_seconds + time.perf_counter() - started)
            crash_point(f"eval:{row}:{task.name}")
            cells[task.name] = cell
            if task.kind == "bpb":
                self.rolling_seconds += time.perf_counter() - task_started
                self.rolling_tokens += int(cell.details["tokens"])
        return cells

    def finished_stage(self) -> int:
        """The last stage an earlier attempt finished: its checkpoint and train file both exist."""
        for stage in reversed(self.suite.stages):
            if self.run.checkpoint(stage.index, stage.name).is_dir() and self.run.train_file(stage.index, stage.name).exists():
                self.reporter.log(f"resuming after stage {stage.name}")
                return stage.index
        return 0

    def saved_training(self, stage: Stage) -> StageTraining:
        saved = self.run.read_training(stage.index, stage.name, PER_STEP_LOGS)
        if saved is None:
            raise RecordError(f"{self.run.train_file(stage.index, stage.name)}: missing; rerun with --force")
        return saved

    def train(self, planned: PlannedStage, start: Path, inputs: _Inputs) -> tuple[Path, StageTraining]:
        """Train one stage from ``start``; the new checkpoint replaces the previous stage's."""
        from cptbench.run.jobs import StageJob
        from cptbench.run.stage import train_stage

        stage = planned.stage
        checkpoint = self.run.checkpoint(stage.index, stage.name)
        job = StageJob(stage_data(self.config, planned, load_tokenizer(start)), recipe=inputs.recipes[stage.recipe],
                       start=start, checkpoint=checkpoint, work_dir=self.run.trainer_dir(stage.index, stage.name),
                       method=inputs.plan.plugin, state_dir=self.run.root / METHOD_STATE,
                       processes=self.config.processes, accelerate_config=self.config.accelerate_config,
                       nodes=self.config.nodes, tracking=stage_tracking(self.config.report_to, self.run.root, stage.index, stage.name))
        self.reporter.start("train", f"train {stage.name} ({stage.kind})", 0)

        def progress(step: int, total: int) -> None:
            self.reporter.update("train", completed=step, total=total)
            self.attempts.save_now_and_then(self.eval_seconds)  # a killed stage's time counts too
            crash_point(f"train:{stage.name}:step:{step}")

        curve = None
        if self.config.budget.eval_every:
            from cptbench.run.curves import open_curve

            curve = open_curve(self.run, self.suite, stage, self.eval_sets, self.config.budget, self.config.eval_batch_tokens)
        measured_before = curve.seconds if curve else 0.0
        summary, per_step = train_stage(job, inputs.stage_data, progress, (curve.callback(),) if curve else ())
        if curve is not None:  # time spent measuring the curve is not training time
            summary = summary.model_copy(update={"seconds": summary.seconds - (curve.seconds - measured_before)})
        self.reporter.finish("train")
        write_json_atomic(self.run.train_file(stage.index, stage.name), {**summary.model_dump(), **per_step})
        self.attempts.save(eval_seconds=self.eval_seconds)
        for earlier in self.suite.stages[: stage.index - 1]:  # keep only the last stage's checkpoint
            shutil.rmtree(self.run.checkpoint(earlier.index, earlier.name), ignore_errors=True)
        self.run.append_log(f"train stage={stage.name} steps={summary.steps} tokens={summary.tokens} loss={summary.final_loss:.4f}")
        return checkpoint, summary




def stage_data(config: RunConfig, planned: PlannedStage, tokenizer):
    """What decides ``planned``'s training data under ``config`` (``run.stage.StageData``)."""
    from cptbench.run.jobs import StageData

    return StageData(planned, config.budget, config.seed, tokenizer)


def check_method_effect(config: RunConfig, plan: Plan, data: dict, model_path: Path) -> None:
    """A method whose effect the built data shows (replay: documents replayed) must have one at this
    budget: each planned stage's rows are built as they will be trained and shown to the method
    (``Method.check_stage``) before anything is written."""
    from cptbench.methods.base import Method
    from cptbench.run.stage import stage_rows

    if type(plan.plugin).check_stage is Method.check_stage:
        return
    tokenizer = load_tokenizer(model_path)
    for planned in plan.stages:
        if planned.stage.kind == "cpt":
            built = stage_rows(stage_data(config, planned, tokenizer), data)
            plan.plugin.check_stage(planned_mix(planned), built.sources, f"stage {planned.stage.name}")


def _curves(config: RunConfig, loop: _StageLoop, rows, training):
    if not config.budget.eval_every or config.external:
        return None
    from cptbench.run.curves import record_curves

    return record_curves(loop.run, loop.suite, rows, training)


def _trainer(config: RunConfig):
    if not config.external:
        return None
    from cptbench.run.external import trainer_ref

    return trainer_ref(config.trainer, config.manifest, config.checkpoints)


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _record(config: RunConfig, inputs: _Inputs, loop: _StageLoop, rows, training, determinism) -> RunRecord:
    suite = inputs.plan.suite
    columns = tuple(task.column for task in suite.tasks)
    matrix = ResultMatrix(tuple(s.name for s in suite.stages), columns, tuple(tuple(r) for r in rows))
    train_seconds = sum(t.seconds or 0.0 for t in training)
    train_tokens = sum(t.tokens for t in training)
    loop.attempts.save(eval_seconds=loop.eval_seconds)
    return RunRecord(
        schema_version=2,
        cptbench_version=__version__,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        suite={
            "name": suite.name,
            "version": suite.version,
            "hash": suite.content_hash,
            "budget": config.budget.name,
            "train_tokens": config.budget.train_tokens,
            "eval_docs": config.budget.eval_docs,
            "probe_items": config.budget.probe_items,
            "train_examples": config.budget.train_examples,
            "rl_prompts": config.budget.rl_prompts,
            "generation_items": config.budget.generation_items,
        },
        model={"reference": config.model, "source": inputs.model.source, "parameters": loop.parameters},
        seed=config.seed,
        recipes={name: recipe.model_dump(mode="json") for name, recipe in inputs.recipes.items()},
        backend=loop.backend_settings,
        environment={**environment(determinism), **training_processes(config)},
        data=inputs.data_hashes,
        stages=list(matrix.stages),
        tasks=[{"name": c.name, "metric": c.metric, "direction": c.direction.value, "stage": c.stage} for c in columns],
        matrix=[list(r) for r in matrix.values],
        details=loop.details,
        samples=record_samples(loop.samples),
        curves=_curves(config, loop, rows, training),
        metrics=metrics.as_dict(metrics.compute_all(matrix)),
        training=training,
        method=inputs.plan.method,
        trainer=_trainer(config),
        attempts=loop.attempts.seconds(),
        timings={
            "total_seconds": loop.attempts.total("seconds"),  # every attempt's, for a resumed run
            "train_seconds": train_seconds,
            "eval_seconds": loop.attempts.total("eval_seconds"),
            "train_tokens_per_second": train_tokens / train_seconds if train_seconds else 0.0,
            "eval_tokens_per_second": loop.rolling_tokens / loop.rolling_seconds if loop.rolling_seconds else 0.0,
        },
    )
