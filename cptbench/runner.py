"""The stage loop: evaluate the base model, then train -> checkpoint -> evaluate every task, per stage."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from cptbench import __version__, metrics
from cptbench.corpus import Texts, evaluation_documents, load_texts, training_corpus
from cptbench.errors import ConfigError
from cptbench.matrix import ResultMatrix
from cptbench.models import ResolvedModel, load_model, resolve_model
from cptbench.progress import Reporter, SilentReporter
from cptbench.provenance import environment, make_deterministic
from cptbench.schemas import CPTRecipe, RunRecord, StageTraining
from cptbench.scoring import Cell, evaluate_task
from cptbench.store import RunDir, write_json_atomic
from cptbench.suites import Budget, Stage, Suite, load_recipe


@dataclass(frozen=True)
class RunConfig:
    suite: Suite
    budget: Budget
    model: str
    seed: int
    out_dir: Path
    eval_batch_tokens: int = 4096

    def recipes(self) -> dict[str, CPTRecipe]:
        return {stage.recipe: load_recipe(stage.recipe) for stage in self.suite.stages}

    def fingerprint(self, recipes: dict[str, CPTRecipe]) -> dict[str, object]:
        """Everything that changes the numbers; its hash identifies the run configuration."""
        return {
            "suite": self.suite.name,
            "suite_hash": self.suite.content_hash,
            "budget": self.budget.name,
            "model": self.model,
            "seed": self.seed,
            "recipes": {name: recipe.model_dump(mode="json") for name, recipe in recipes.items()},
            "eval_batch_tokens": self.eval_batch_tokens,
        }


def config_hash(fingerprint: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()


def run_suite(config: RunConfig, reporter: Reporter | None = None) -> RunRecord:
    """Run every stage of the suite and return (and write) the run record."""
    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    recipes = config.recipes()
    run = _prepare_run_dir(config, recipes)
    determinism = make_deterministic(config.seed)
    resolved = resolve_model(config.model)
    reporter.log(f"model {config.model} -> {resolved.path}")
    eval_sets, data_hashes = _evaluation_sets(config)
    loop = _StageLoop(config, run, reporter, eval_sets)
    rows = [loop.evaluate(0, "base", resolved.path)]
    training: list[StageTraining] = []
    current = resolved.path
    reporter.start("stages", f"{config.suite.name} stages", len(config.suite.stages))
    for stage in config.suite.stages:
        source = load_texts(stage.data, config.suite.sentences_per_doc)
        data_hashes.update(source.data_hashes)
        current, summary = loop.train(stage, current, source, recipes[stage.recipe])
        training.append(summary)
        rows.append(loop.evaluate(stage.index, stage.name, current))
        reporter.update("stages", advance=1)
    reporter.finish("stages")
    record = _record(config, recipes, resolved, loop, rows, training, data_hashes, determinism, started)
    write_json_atomic(run.record, record.model_dump(mode="json"))
    return record


def _prepare_run_dir(config: RunConfig, recipes: dict[str, CPTRecipe]) -> RunDir:
    run = RunDir(config.out_dir)
    fingerprint = config.fingerprint(recipes)
    if run.config.exists():
        existing = json.loads(run.config.read_text(encoding="utf-8"))
        if existing.get("hash") != config_hash(fingerprint):
            raise ConfigError(
                f"{run.config}: the run directory holds a different configuration; choose another --out"
            )
    write_json_atomic(run.config, {"hash": config_hash(fingerprint), "fingerprint": fingerprint})
    return run


def _evaluation_sets(config: RunConfig) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    sets: dict[str, tuple[str, ...]] = {}
    hashes: dict[str, str] = {}
    for task in config.suite.tasks:
        source = load_texts(task.data, config.suite.sentences_per_doc)
        sets[task.name] = evaluation_documents(source, config.budget.eval_docs)
        hashes.update(source.data_hashes)
    return sets, hashes


class _StageLoop:
    """Training and evaluation of one run, with the timings and settings they leave behind."""

    def __init__(self, config: RunConfig, run: RunDir, reporter: Reporter, eval_sets) -> None:
        self.config = config
        self.run = run
        self.reporter = reporter
        self.eval_sets = eval_sets
        self.details: list[list[dict[str, float | int]]] = []
        self.backend_settings: dict[str, object] = {}
        self.parameters = 0
        self.eval_seconds = 0.0
        self.eval_tokens = 0

    def evaluate(self, row: int, label: str, model_path: Path) -> list[float]:
        """Evaluate every task on one checkpoint; each finished cell is written to its own file."""
        from cptbench.backends.hf import HFBackend

        started = time.perf_counter()
        model, tokenizer = load_model(model_path, device=_device())
        self.parameters = sum(p.numel() for p in model.parameters())
        backend = HFBackend(model, tokenizer, batch_tokens=self.config.eval_batch_tokens)
        self.backend_settings = backend.describe()
        total = sum(len(texts) for texts in self.eval_sets.values())
        self.reporter.start("eval", f"evaluate after {label}", total)
        cells: list[Cell] = []
        for task in self.config.suite.tasks:
            progress = lambda n: self.reporter.update("eval", advance=n)  # noqa: E731
            cell = evaluate_task(backend, task, self.eval_sets[task.name], progress)
            write_json_atomic(self.run.eval_file(row, label, task.name), {"value": cell.value, "details": cell.details})
            self.run.append_log(f"eval row={row} ({label}) task={task.name} value={cell.value:.6f}")
            cells.append(cell)
        self.reporter.finish("eval")
        self.eval_seconds += time.perf_counter() - started
        self.eval_tokens += sum(int(c.details["tokens"]) for c in cells)
        self.details.append([c.details for c in cells])
        return [c.value for c in cells]

    def train(self, stage: Stage, start: Path, source: Texts, recipe: CPTRecipe) -> tuple[Path, StageTraining]:
        """Train one stage from ``start``; the new checkpoint replaces the previous stage's."""
        from cptbench.trainers.cpt import train_cpt

        tokenizer = _tokenizer(start)
        counts = [len(ids) for ids in tokenizer(list(source.texts), add_special_tokens=False)["input_ids"]]
        corpus = training_corpus(source, counts, self.config.budget.train_tokens, self.config.seed)
        self.reporter.start("train", f"train {stage.name}", 0)
        progress = lambda step, total: self.reporter.update("train", completed=step, total=total)  # noqa: E731
        staging = self.run.root / "checkpoint.next"
        result = train_cpt(start, corpus.texts, recipe, staging, seed=self.config.seed, progress=progress)
        self.reporter.finish("train")
        if self.run.checkpoint.exists():
            shutil.rmtree(self.run.checkpoint)
        staging.rename(self.run.checkpoint)
        summary = StageTraining(
            stage=stage.name,
            documents=len(corpus.texts),
            corpus_tokens=corpus.tokens,
            tokens=result.tokens,
            steps=result.steps,
            seconds=result.seconds,
            final_loss=result.final_loss,
            data_order_hash=corpus.order_hash,
        )
        write_json_atomic(self.run.train_file(stage.index, stage.name), {**summary.model_dump(), "losses": list(result.losses)})
        self.run.append_log(f"train stage={stage.name} steps={result.steps} tokens={result.tokens} loss={result.final_loss:.4f}")
        return self.run.checkpoint, summary


def _tokenizer(path: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _record(config, recipes, resolved: ResolvedModel, loop: _StageLoop, rows, training, data_hashes, determinism, started) -> RunRecord:
    suite = config.suite
    columns = tuple(task.column for task in suite.tasks)
    matrix = ResultMatrix(tuple(s.name for s in suite.stages), columns, tuple(tuple(r) for r in rows))
    train_seconds = sum(t.seconds for t in training)
    train_tokens = sum(t.tokens for t in training)
    return RunRecord(
        schema_version=1,
        cptbench_version=__version__,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        suite={
            "name": suite.name,
            "version": suite.version,
            "hash": suite.content_hash,
            "budget": config.budget.name,
            "train_tokens": config.budget.train_tokens,
            "eval_docs": config.budget.eval_docs,
        },
        model={"reference": config.model, "source": resolved.source, "parameters": loop.parameters},
        seed=config.seed,
        recipes={name: recipe.model_dump(mode="json") for name, recipe in recipes.items()},
        backend=loop.backend_settings,
        environment=environment(determinism),
        data=dict(sorted(data_hashes.items())),
        stages=list(matrix.stages),
        tasks=[{"name": c.name, "metric": c.metric, "direction": c.direction.value, "stage": c.stage} for c in columns],
        matrix=[list(r) for r in matrix.values],
        details=loop.details,
        metrics=metrics.as_dict(metrics.compute_all(matrix)),
        training=training,
        timings={
            "total_seconds": time.perf_counter() - started,
            "train_seconds": train_seconds,
            "eval_seconds": loop.eval_seconds,
            "train_tokens_per_second": train_tokens / train_seconds if train_seconds else 0.0,
            "eval_tokens_per_second": loop.eval_tokens / loop.eval_seconds if loop.eval_seconds else 0.0,
        },
    )


def matrix_from_record(record: RunRecord) -> ResultMatrix:
    from cptbench.matrix import Direction, TaskColumn

    columns = tuple(TaskColumn(t.name, t.metric, Direction(t.direction), t.stage) for t in record.tasks)
    return ResultMatrix(tuple(record.stages), columns, tuple(tuple(r) for r in record.matrix))

