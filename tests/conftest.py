"""Shared fixtures. Real data comes from CPTBENCH_DATA_DIR (default: ../shared/data beside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"

if "CPTBENCH_DATA_DIR" not in os.environ and DEFAULT_DATA.is_dir():
    os.environ["CPTBENCH_DATA_DIR"] = str(DEFAULT_DATA)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("CPTBENCH_DATA_DIR", DEFAULT_DATA))
    if not (path / "crossner").is_dir():
        pytest.skip(f"CrossNER mirror not found at {path} (set CPTBENCH_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    from cptbench.models.resolve import ensure_tiny_model

    return ensure_tiny_model()


@pytest.fixture(scope="session")
def tiny(tiny_model_path):
    """(model, tokenizer) of the tiny seeded Llama, loaded through the normal path."""
    from cptbench.models.resolve import load_model

    return load_model(tiny_model_path)


@pytest.fixture(scope="session")
def tiny_long_model_path(tiny_model_path, tmp_path_factory) -> Path:
    """The tiny model with a 2048-token context (rotary positions: the weights are the same), for
    PubMedQA prompts, which are longer than 256 byte tokens."""
    import json
    import shutil

    target = tmp_path_factory.mktemp("models") / "tiny-llama-2k"
    shutil.copytree(tiny_model_path, target)
    for name, key in (("config.json", "max_position_embeddings"), ("tokenizer_config.json", "model_max_length")):
        path = target / name
        config = json.loads(path.read_text())
        config[key] = 2048
        path.write_text(json.dumps(config))
    return target


def stage_suite(name: str, domains: tuple[str, ...], recipe: Path | None = None, train_tokens: int = 1024) -> str:
    """A suite of crossdomain domains, one bpb task per stage plus Reuters, at one smoke budget."""
    uses = f"recipe: {recipe}, " if recipe else ""
    stages = "".join(f"  - {{name: {d}, {uses}data: {{source: crossner, domain: {d}, splits: [train]}}}}\n" for d in domains)
    tasks = "".join(f"  - {{name: {d}_bpb, kind: bpb, stage: {d}, data: {{source: crossner, domain: {d}, split: test}}}}\n"
                    for d in domains)
    return (f"name: {name}\nversion: 1\nstages:\n{stages}tasks:\n{tasks}"
            "  - {name: reuters_bpb, kind: bpb, stage: general, data: {source: crossner, domain: conll2003, split: test}}\n"
            f"budgets:\n  smoke: {{train_tokens: {train_tokens}, eval_docs: 2}}\ndefault_budget: smoke\n")


def write_stage_suite(folder: Path, name: str, domains: tuple[str, ...], recipe: str, train_tokens: int) -> Path:
    """``stage_suite`` written as ``folder/NAME.yaml``, every stage trained with ``recipe`` (its YAML
    text, written beside it)."""
    (folder / "recipe.yaml").write_text(recipe)
    path = folder / f"{name}.yaml"
    path.write_text(stage_suite(name, domains, folder / "recipe.yaml", train_tokens))
    return path


@pytest.fixture(scope="session")
def suite_of_stages():
    """``write_stage_suite`` for tests that write a small suite of their own."""
    return write_stage_suite


@pytest.fixture(scope="session")
def three_stage_suite(tmp_path_factory, data_dir) -> Path:
    """The first three crossdomain stages at its smoke budget, scored on bits-per-byte only: the
    multi-process and multi-node tests launch every stage, so fewer stages keep them short."""
    path = tmp_path_factory.mktemp("suites") / "three-stages.yaml"
    path.write_text(stage_suite("three-stages", ("politics", "science", "music")))
    return path


@pytest.fixture(scope="session")
def batch2_command(three_stage_suite):
    """``command(out, *extra)``: the `cptbench run` of the three-stage suite on the tiny model with the
    shipped recipe ``trainers/cpt_batch2.yaml``: a global batch of 2 (what two processes can split)."""
    import sys

    def command(out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "cptbench", "run", "--suite", str(three_stage_suite), "--budget", "smoke", "--model",
                "tiny-llama", "--seed", "0", "--recipe", "cpt=cpt_batch2", "--out", str(out), *extra]

    return command


def _processes_reading(path: Path) -> list[int]:
    """Processes whose command line names ``path`` (a stage's launcher and its workers name its job file)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(path) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="session")
def processes_reading():
    return _processes_reading
