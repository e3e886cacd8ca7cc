"""GRPO reward functions for PubMedQA explanations, in TRL's calling convention.

Public API
----------
``REWARDS``                                    the reward names recipes may weight
``semantic_reward(encoder_name)``              reward fn ``semantic``: encoder cosine
``rouge``, ``correctness``                     reward fns: ROUGE-L F1; decision == label
``build_rewards(weights, encoder)``            ``(functions, weights)`` in the dict's order

Every reward function is ``f(completions, **columns) -> list[float]``; ``completions`` are
strings or (conversational data) message lists. Explanations are ``split_answer(completion)[0]``
(no reasoning, no answer line), scored against the ``reference`` column (the LONG_ANSWER); an
empty explanation scores 0.0. ``correctness`` compares the parsed decision with ``decision``.
"""

from __future__ import annotations

from collections.abc import Callable

from cptbench.core.constants import DEFAULT_ENCODER
from cptbench.core.errors import ConfigError
from cptbench.eval.answers import split_answer
from cptbench.eval.scorers import cosine_similarities, load_encoder, rouge_l

REWARDS = ("semantic", "rouge", "correctness")
RewardFn = Callable[..., list[float]]


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
