"""PubMedQA tasks: the yes/no/maybe decision by log-likelihood, and generated explanations
scored against the reference (sentence-encoder cosine or ROUGE-L)."""

from __future__ import annotations

from collections.abc import Sequence

from cptbench.eval.backends.base import Backend, GenerateRequest, LoglikelihoodRequest, Progress

EXPLANATION_TOKENS = 128  # new tokens per generated answer: room for 2-3 sentences and the answer line
EVAL_ENCODER = "all-minilm-l6-v2"  # the encoder of the explanation cosine (the GRPO reward's default)


def decision_cell(backend: Backend, examples: Sequence, progress: Progress | None):
    """Accuracy: the label is the most likely of " yes" / " no" / " maybe" after the plain-text
    prompt (lm-eval's pubmedqa formulation; no chat template, so every stage is measured alike)."""
    from cptbench.data.pubmedqa import DECISION_CHOICES, decision_context
    from cptbench.eval.scoring import Cell

    requests = [LoglikelihoodRequest(decision_context(e), c) for e in examples for c in DECISION_CHOICES]
    scores = backend.loglikelihood(requests)
    correct = 0
    for i, example in enumerate(examples):
        logprobs = [s.logprob for s in scores[i * len(DECISION_CHOICES) : (i + 1) * len(DECISION_CHOICES)]]
        best = max(range(len(logprobs)), key=logprobs.__getitem__)
        correct += DECISION_CHOICES[best].strip() == example.decision
    if progress:
        progress(len(examples))
    return Cell(correct / len(examples), {"items": len(examples), "correct": correct, "chance": 1 / len(DECISION_CHOICES)})


def generate_answers(backend: Backend, examples: Sequence, generations: dict | None) -> list[str]:
    """Greedy answers to the chat prompts (the format SFT and GRPO train on), reused when the same
    questions were already answered by this checkpoint."""
    from cptbench.data.pubmedqa import chat_prompt

    key = tuple(e.id for e in examples)
    if generations is not None and key in generations:
        return generations[key]
    tokenizer = backend.tokenizer
    prompts = [tokenizer.apply_chat_template(chat_prompt(e), tokenize=False, add_generation_prompt=True) for e in examples]
    texts = backend.generate([GenerateRequest(p, max_new_tokens=EXPLANATION_TOKENS) for p in prompts])
    if generations is not None:
        generations[key] = texts
    return texts


def explanation_cell(backend: Backend, examples: Sequence, metric: str, progress: Progress | None,
                     generations: dict | None):
    """Mean similarity of the generated explanation (reasoning and answer line removed) to the
    reference long answer; details add the decision accuracy of the generated answer line."""
    from cptbench.eval.answers import split_answer
    from cptbench.eval.scoring import Cell
    from cptbench.train.rewards import cosine_similarities, load_encoder, rouge_l

    texts = generate_answers(backend, examples, generations)
    parsed = [split_answer(t) for t in texts]
    explanations = [p[0] for p in parsed]
    references = [e.long_answer for e in examples]
    if metric == "cosine":
        scores = cosine_similarities(load_encoder(EVAL_ENCODER), explanations, references)
    else:
        scores = [rouge_l(x, r) for x, r in zip(explanations, references)]
    scores = [s if x.strip() else 0.0 for s, x in zip(scores, explanations)]  # an empty answer explains nothing
    answered = sum(p[1] is not None for p in parsed)
    correct = sum(p[1] == e.decision for p, e in zip(parsed, examples))
    if progress:
        progress(len(examples))
    return Cell(sum(scores) / len(scores), {
        "items": len(examples),
        "answered": answered,
        "decision_accuracy": correct / len(examples),
        "mean_chars": sum(len(x) for x in explanations) / len(explanations),
    })
