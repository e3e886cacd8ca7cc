"""The data and suites of the GPU check (benchmarks/gpu_check.py). Standard library only.

With the CrossNER mirror reachable (``--data DIR`` holding ``crossner/``), the agreement runs use the
shipped crossdomain suite (budget smoke; with ``--tiny`` its first two stages and five of its
tasks); without it, a synthetic suite of the same shape (two stages, bits-per-byte, a choice probe
and an lm-eval column over JSONL files written here), so that the check still runs, and says so.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY_TASKS = ("politics_bpb", "science_bpb", "reuters_bpb", "politics_cloze", "reuters_dev_lmeval")

WORDS = {
    "harbour": ("boat", "quay", "net", "tide", "sail", "crane", "ferry", "anchor", "gull", "pier"),
    "orchard": ("apple", "pear", "ladder", "blossom", "branch", "basket", "cider", "frost", "bee", "root"),
    "news": ("council", "market", "minister", "vote", "report", "bank", "court", "strike", "league", "budget"),
}
VERBS = ("moves", "holds", "meets", "follows", "turns", "lifts", "waits for", "passes", "finds", "carries")
ADJECTIVES = ("old", "green", "late", "quiet", "heavy", "early", "small", "long", "bright", "cold")


def find_data(explicit: str | None) -> Path | None:
    """The first folder holding ``crossner/politics/test.txt``: ``--data``, ``CPTBENCH_DATA_DIR``,
    ``../shared/data`` beside the repository, ``.gpu-wheels/data`` (what gpu-wheels.sh --data copies)."""
    candidates = [explicit] if explicit else [os.environ.get("CPTBENCH_DATA_DIR"), REPO.parent / "shared" / "data",
                                              REPO / ".gpu-wheels" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "crossner" / "politics" / "test.txt").is_file():
            return Path(candidate).resolve()
    return None


def synthetic_documents(domain: str, count: int, sentences: int = 4, seed: int = 0) -> list[str]:
    """``count`` documents of plain English-like sentences over ``domain``'s words, from a seed."""
    rng = random.Random(f"{domain}-{seed}")
    nouns = WORDS[domain]

    def sentence() -> str:
        return (f"The {rng.choice(ADJECTIVES)} {rng.choice(nouns)} {rng.choice(VERBS)} the {rng.choice(nouns)} "
                f"near the {rng.choice(ADJECTIVES)} {rng.choice(nouns)}.")

    return [" ".join(sentence() for _ in range(sentences)) for _ in range(count)]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _hf(path: Path, split: str, **fields) -> dict:
    return {"source": "hf", "dataset_path": "json", "dataset_kwargs": {"data_files": {split: str(path)}}, "split": split,
            **fields}


def synthetic_suite(folder: Path) -> Path:
    """A two-stage suite over synthetic JSONL corpora (written into ``folder``): bits-per-byte of
    each domain and of a general one, a 4-way choice probe, and the general domain through lm-eval."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for domain in WORDS:
        files[domain, "train"] = _jsonl(folder / f"{domain}_train.jsonl", [{"text": t} for t in synthetic_documents(domain, 40)])
        files[domain, "test"] = _jsonl(folder / f"{domain}_test.jsonl",
                                       [{"text": t} for t in synthetic_documents(domain, 8, seed=1)])
    rng = random.Random(2)
    probes = [{"question": f"In the harbour the {rng.choice(ADJECTIVES)}", "options": [w, *rng.sample(WORDS["orchard"], 3)],
               "gold": 0} for w in rng.sample(WORDS["harbour"], 8)]
    probe_file = _jsonl(folder / "harbour_probes.jsonl", probes)
    stages = [{"name": d, "recipe": "cpt", "data": _hf(files[d, "train"], "train", text="text") | {"splits": ["train"]}}
              for d in ("harbour", "orchard")]
    for stage in stages:
        stage["data"].pop("split")
    tasks = [{"name": f"{d}_bpb", "kind": "bpb", "stage": d if d != "news" else "general",
              "data": _hf(files[d, "test"], "test", text="text")} for d in WORDS]
    tasks.append({"name": "harbour_probe", "kind": "choice", "stage": "harbour",
                  "data": _hf(probe_file, "test", context="question", choices="options", answer="gold")})
    tasks.append({"name": "news_lmeval", "kind": "lmeval", "stage": "general", "data": _hf(files["news", "test"], "test", text="text"),
                  "lmeval": {"task": "cptbench_reuters_bpb", "include": "lmeval", "metric": "bits_per_byte", "direction": "lower"}})
    suite = {"name": "gpucheck-synthetic", "version": 1, "description": "The GPU check's synthetic suite (no data files needed).",
             "stages": stages, "tasks": tasks,
             "budgets": {"smoke": {"train_tokens": 1024, "eval_docs": 2, "probe_items": 4}}, "default_budget": "smoke"}
    return _write(folder / "gpucheck-synthetic.yaml", suite)


def crossdomain_subset(folder: Path, stages: int | None, tasks: tuple[str, ...] | None, name: str) -> Path:
    """The shipped crossdomain suite cut to its first ``stages`` stages and the named ``tasks``
    (tasks of dropped stages go too), written as a suite file of its own."""
    import yaml  # the GPU machine has PyYAML (a transformers dependency)

    suite = yaml.safe_load((REPO / "tasks" / "suites" / "crossdomain.yaml").read_text(encoding="utf-8"))
    kept = suite["stages"][:stages] if stages else suite["stages"]
    names = {s["name"] for s in kept} | {"general"}
    suite["stages"] = kept
    suite["tasks"] = [t for t in suite["tasks"] if t["stage"] in names and (tasks is None or t["name"] in tasks)]
    suite["name"] = name
    folder.mkdir(parents=True, exist_ok=True)
    return _write(folder / f"{name}.yaml", suite)


def synthetic_one_stage(folder: Path) -> Path:
    """The synthetic suite cut to its first stage and one bits-per-byte task (the accelerate runs)."""
    full = json.loads((synthetic_suite(folder)).read_text(encoding="utf-8"))
    full["stages"] = full["stages"][:1]
    full["tasks"] = [t for t in full["tasks"] if t["name"] == "harbour_bpb"]
    full["name"] = "gpucheck-synthetic-one"
    return _write(folder / "gpucheck-synthetic-one.yaml", full)


def _write(path: Path, suite: dict) -> Path:
    path.write_text(json.dumps(suite, indent=1), encoding="utf-8")  # JSON is YAML
    return path
