"""What a leaderboard recomputes from a record without a model, so that an edit that keeps the
record consistent with itself is still caught (``check_record`` calls ``check_recomputable``).

- **Samples**: each cell's per-item values against the details they were summed into, and against
  the items the suite says were scored: a document's weight is its UTF-8 bytes (the documents
  follow from the suite and budget), bits are finite and at least 0, an accuracy item is 0 or 1,
  a log-probability at most 0 (``TaskKind.sample_problem``). Rewritten items with the same sums,
  or 0/1 hits turned into halves, no longer pass.
- **Names**: the model's name is shown on the board: NFKC-normal, no control or format characters
  (invisible, bidirectional), letters of one script (no Cyrillic ``а`` in a Latin name).
- **Tokens**: a model named by a known alias (or its Hub id) has a known tokenizer, loaded without
  weights when it is on this machine: each bits-per-byte task's token count is recomputed from the
  evaluated documents (the tiny model relabelled as SmolLM2 has one token per byte).
- **Data order**: each stage's ``data_order_hash`` follows from the suite, budget, seed and method
  (the documents a stage takes under its token cap need the tokenizer: cpt stages are checked for
  a model with a known tokenizer, sft and grpo stages always). A record relabelled to another seed
  (``seed`` and ``environment.determinism.seed`` together) keeps the old seed's order, and is refused.
- **Claims**: each recipe validates against its kind's schema (no made-up field, every type
  right); a ``trainer`` block (trained elsewhere) and the training entries agree (cptbench's own
  trainers record steps, seconds and a loss; checkpoints trained elsewhere record none).

Each check raises one ``SubmissionError`` line naming the field.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from pydantic import ValidationError

from cptbench.core.errors import CptbenchError
from cptbench.core.io import describe_validation_error
from cptbench.core.records import RunRecord
from cptbench.core.spec import Budget, Suite, TaskSpec
from cptbench.eval.kinds.registry import get_kind

MAX_SHOWN = 40


class IntegrityError(CptbenchError):
    """A record that disagrees with what can be recomputed from it (exit 2)."""


def check_recomputable(record: RunRecord, suite: Suite, source: str, error: type[CptbenchError] = IntegrityError,
                       plan=None) -> None:
    """Every check of this module on ``record`` (already checked against ``suite`` by name, hash,
    stages, tasks and cells); ``plan``: the plan its method ran (``run.plan``; None: the data order
    is not checked)."""
    try:
        check_model_name(record.model.reference)
    except ValueError as exc:
        raise error(f"{source}: model.reference: {exc}") from None
    _check_recipes(record, source, error)
    _check_trainer_claim(record, source, error)
    budget = suite.budgets[record.suite.budget]
    _check_samples(record, suite, budget, source, error)
    _check_token_counts(record, suite, budget, source, error)
    if plan is not None:
        _check_order_hashes(record, suite, budget, plan, source, error)


# --- names -------------------------------------------------------------------------------------

_SCRIPT_FREE = ("DIGIT", "SPACE")


def check_model_name(name: str) -> str:
    """A name shown on the board: not empty, NFKC-normal, no control or format character, and the
    letters of one script. Raises ``ValueError`` naming the first problem."""
    shown = repr(name[:MAX_SHOWN]) + ("..." if len(name) > MAX_SHOWN else "")
    if not name.strip():
        raise ValueError("empty")
    if unicodedata.normalize("NFKC", name) != name:
        raise ValueError(f"{shown} is not in NFKC normal form (compatibility characters that look like others)")
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise ValueError(f"{shown} holds the invisible or control character U+{ord(char):04X}")
    scripts = {_script(char) for char in name if unicodedata.category(char).startswith("L")}
    if len(scripts) > 1:
        raise ValueError(f"{shown} mixes the scripts {', '.join(sorted(scripts))} (a look-alike of another name)")
    return name


def _script(char: str) -> str:
    """The script of a letter, from its Unicode name ("LATIN SMALL LETTER A" -> LATIN); CJK
    ideographs and the Japanese kana count as one script."""
    word = unicodedata.name(char, "UNKNOWN").split()[0]
    return "CJK" if word in ("CJK", "HIRAGANA", "KATAKANA") else word


# --- claims ------------------------------------------------------------------------------------


def _check_recipes(record: RunRecord, source: str, error: type[CptbenchError]) -> None:
    """Each recipe validates against its kind's schema: what the run says it trained with."""
    from cptbench.train.recipes import CPTRecipe, GRPORecipe, SFTRecipe

    schemas = {"cpt": CPTRecipe, "sft": SFTRecipe, "grpo": GRPORecipe}
    for name, recipe in record.recipes.items():
        kind = recipe.get("kind", "cpt")
        if not isinstance(kind, str) or kind not in schemas:
            raise error(f"{source}: recipes.{name}.kind: {kind!r} is not one of {', '.join(schemas)}")
        try:
            schemas[kind].model_validate(recipe)
        except ValidationError as exc:
            raise error(f"{source}: recipes.{name}.{describe_validation_error(exc)}") from None


def _check_trainer_claim(record: RunRecord, source: str, error: type[CptbenchError]) -> None:
    """cptbench's trainers record each stage's steps, seconds and final loss; checkpoints trained
    elsewhere (a ``trainer`` block) record none of them. A block that contradicts them is made up."""
    for i, stage in enumerate(record.training):
        measured = [stage.steps, stage.seconds, stage.final_loss]
        if record.trainer is not None and any(v is not None for v in measured):
            raise error(f"{source}: trainer: says another stack trained the stages, but training[{i}] has the "
                        f"steps, seconds and loss of cptbench's own trainer")
        if record.trainer is None and any(v is None for v in measured):
            raise error(f"{source}: training[{i}]: steps, seconds and final_loss missing, and no trainer block "
                        f"says who trained it")


# --- samples -----------------------------------------------------------------------------------


def _check_samples(record: RunRecord, suite: Suite, budget: Budget, source: str, error: type[CptbenchError]) -> None:
    """Each cell's samples against its details and the documents the suite evaluates."""
    grid = record.cell_samples()
    if grid is None:
        return
    specs = {t.name: t for t in suite.tasks}
    for j, column in enumerate(record.tasks):
        task = specs[column.name]
        kind = get_kind(task.kind)
        documents = None
        for t, row in enumerate(grid):
            samples = row[j]
            if samples is None:
                continue
            if documents is None and samples.weights is not None:
                documents = _documents(suite, task, budget)
            problem = kind.sample_problem(task, record.details[t][j], samples, documents or None)
            if problem:
                raise error(f"{source}: samples[{t}][{column.name}]: {problem}")


def _documents(suite: Suite, task: TaskSpec, budget: Budget) -> tuple[str, ...]:
    """The documents a weighted task scores (empty when the suite does not say: a Hub lm-eval task)."""
    if task.data is None:
        return ()
    try:
        items = _inputs(suite.path, suite.content_hash, task.name, budget)
    except CptbenchError:
        return ()  # the data cannot be read here: the data hashes were checked, the weights cannot be
    return items if all(isinstance(i, str) for i in items) else ()


@functools.lru_cache(maxsize=64)
def _inputs(path: Path, content_hash: str, task_name: str, budget: Budget) -> tuple:
    """A task's items, read once per process (a board validates many records of one suite)."""
    from cptbench.config.suites import load_suite

    suite = load_suite(str(path))
    task = next(t for t in suite.tasks if t.name == task_name)
    return get_kind(task.kind).inputs(task, suite, budget).items


# --- tokens ------------------------------------------------------------------------------------

def _shown(record: RunRecord) -> str:
    """The model's name as a board shows it (a local directory by its last component)."""
    return Path(record.model.reference).name if record.model.source == "local" else record.model.reference


# names a leaderboard shows -> the alias whose tokenizer they use (lower case)
TOKENIZER_ALIASES = {
    "smollm2-135m-instruct": "smollm2-135m-instruct",
    "smollm2-135m": "smollm2-135m-instruct",
    "huggingfacetb/smollm2-135m-instruct": "smollm2-135m-instruct",
    "huggingfacetb/smollm2-135m": "smollm2-135m-instruct",
    "tiny-llama": "tiny-llama",
}


def _check_token_counts(record: RunRecord, suite: Suite, budget: Budget, source: str, error: type[CptbenchError]) -> None:
    """For a model with a known tokenizer on this machine: every bits-per-byte cell's ``tokens``
    equals the evaluated documents' token count under that tokenizer."""
    alias = TOKENIZER_ALIASES.get(_shown(record).strip().lower())
    tokenizer = alias_tokenizer(alias) if alias and record.trainer is None else None
    if tokenizer is None:
        return
    specs = {t.name: t for t in suite.tasks}
    for j, column in enumerate(record.tasks):
        task = specs[column.name]
        if task.kind != "bpb":
            continue
        documents = _documents(suite, task, budget)
        if not documents:
            continue
        expected = sum(len(ids) for ids in tokenizer(list(documents), add_special_tokens=False)["input_ids"])
        for t, row in enumerate(record.details):
            stored = row[j].get("tokens")
            if stored != expected:
                raise error(f"{source}: details[{t}][{column.name}].tokens {stored!r} differ from the {expected} tokens "
                            f"{alias}'s tokenizer makes of the evaluated documents (another model's run?)")


@functools.lru_cache(maxsize=4)
def alias_tokenizer(alias: str):
    """The alias's tokenizer when its files are on this machine (the tiny model is built on the
    spot; SmolLM2 only when already converted): None otherwise. No weights are loaded, and not
    transformers either: its ``tokenizer.json`` through ``tokenizers`` (what a fast tokenizer is)."""
    from cptbench.core.constants import DEFAULT_MODEL, TINY_MODEL
    from cptbench.models.resolve import ensure_tiny_model, models_dir

    if alias == TINY_MODEL:
        path = ensure_tiny_model() / "tokenizer.json"
    elif alias == DEFAULT_MODEL:
        path = models_dir() / DEFAULT_MODEL / "tokenizer.json"
    else:
        return None
    return _Counter(path) if path.is_file() else None


class _Counter:
    """``tokenizer(texts, add_special_tokens=False)["input_ids"]``, the one call the checks make."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.backend = Tokenizer.from_file(str(path))

    def __call__(self, texts, add_special_tokens: bool = True) -> dict[str, list[list[int]]]:
        texts = [texts] if isinstance(texts, str) else list(texts)
        return {"input_ids": [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=add_special_tokens)]}


# --- data order --------------------------------------------------------------------------------


def _check_order_hashes(record: RunRecord, suite: Suite, budget: Budget, plan, source: str,
                        error: type[CptbenchError]) -> None:
    """Each stage's data order rebuilt as the run built it (``run.stage.stage_rows``) from the suite,
    budget, seed and method; compared with the record's ``data_order_hash``."""
    import types

    from cptbench.run.runner import load_stage_data, stage_data
    from cptbench.run.stage import stage_rows

    if record.trainer is not None:  # trained elsewhere on an export: the manifest's tokenizer counted the caps
        return
    alias = TOKENIZER_ALIASES.get(_shown(record).strip().lower())
    tokenizer = alias_tokenizer(alias) if alias else None
    wanted = [planned for planned in plan.stages if planned.stage.kind != "cpt" or tokenizer is not None]
    if not wanted:
        return
    names = {s.name for planned in wanted for s in (*planned.sources, *planned.replay)}
    data = {s.name: load_stage_data(s, suite, budget) for s in suite.stages if s.name in names}
    setting = types.SimpleNamespace(  # what stage_data reads of a run's configuration
        budget=budget, seed=record.seed, replay=getattr(record.method, "replay_fraction", 0.0),
        replay_budget_neutral=getattr(record.method, "replay_budget_neutral", True))
    by_stage = {entry.stage: entry for entry in record.training}
    for planned in wanted:
        entry = by_stage.get(planned.stage.name)
        if entry is None:
            continue  # the stage list itself is checked against the plan elsewhere
        built = stage_rows(stage_data(setting, planned, tokenizer), data)
        if built.order_hash != entry.data_order_hash:
            raise error(f"{source}: training[{planned.stage.name}].data_order_hash {entry.data_order_hash[:12]}... is not "
                        f"the order seed {record.seed} gives this stage ({built.order_hash[:12]}...): another seed's run, "
                        f"or another method's data")
