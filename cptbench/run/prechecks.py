"""Checks a run makes before anything is written, beyond the schemas: what each stage's data can
train, and what the model can do with the run's recipes and backend. ``cptbench suites check``
makes the data checks too (no model there).

Each check is cheap (no weights are read) and raises one ``CptbenchError`` line naming the file
and field; without them the same mistakes fail after the base row was evaluated (LoRA modules
that do not exist, a vLLM engine without a kernel for the model's head size) or, worse, train on
nothing and record it (a stage whose every example has an empty completion).
"""

from __future__ import annotations

from pathlib import Path

from cptbench.core.errors import DataError
from cptbench.core.spec import Stage, Suite
from cptbench.data.corpus import Examples, Texts
from cptbench.data.sources import describe


def check_stage_data(stage: Stage, data: Texts | Examples) -> None:
    """A stage that would train no label token is an error: documents that all render empty (cpt),
    examples whose completions are all empty (sft trains on the completion only)."""
    where = f"stage {stage.name}: {describe(stage.data)}"
    if isinstance(data, Texts):
        if not data.texts or not any(text.strip() for text in data.texts):
            raise DataError(f"{where}: no document has text, so the stage would train no token")
    elif stage.kind == "sft" and not any(getattr(item, "completion", "").strip() for item in data.items):
        raise DataError(f"{where}: every completion is empty, so the sft stage (loss on the completion only) "
                        f"would train no token")


def check_stages(suite: Suite, stage_data: dict[str, Texts | Examples]) -> None:
    for stage in suite.stages:
        if stage.name in stage_data:
            check_stage_data(stage, stage_data[stage.name])


def check_model_fit(model_path: Path, recipes: dict, backend: str, backend_options: dict[str, str]) -> None:
    """The model at ``model_path`` (config only) against the backend (vLLM: head size) and the
    recipes (LoRA ``target_modules`` must name its layers)."""
    from cptbench.eval.backends.registry import check_backend_model

    check_backend_model(backend, model_path, backend_options)
    for name, recipe in recipes.items():
        if getattr(recipe, "lora", None) is not None:
            from cptbench.train.lora import check_targets

            check_targets(recipe.lora, model_path, f"recipe {name}: lora")
