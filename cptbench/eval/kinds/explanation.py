"""``explanation``: greedy answers to the chat prompt (the format SFT and GRPO train on), the
explanation (reasoning and answer line removed) scored against the reference long answer by
``metric``: ``cosine`` (sentence-encoder) or ``rougeL`` (ROUGE-L F1). Details add the decision
accuracy of the generated answer line. Tasks on the same questions share one generation pass."""

from __future__ import annotations

from cptbench.core.constants import DEFAULT_ENCODER
from cptbench.core.matrix import Direction
from cptbench.core.samples import Samples
from cptbench.data.corpus import spread, user_turn
from cptbench.data.sources import load_examples
from cptbench.eval.answers import split_answer
from cptbench.eval.backends.base import GenerateRequest
from cptbench.eval.kinds.base import Cell, TaskInputs, TaskKind, done
from cptbench.eval.scorers import cosine_similarities, load_encoder, rouge_l

EXPLANATION_TOKENS = 128  # new tokens per generated answer: room for 2-3 sentences and the answer line


class Explanation(TaskKind):
    name = "explanation"
    reads = "examples"
    direction = Direction.HIGHER
    metric_choices = ("cosine", "rougeL")
    fields = ("prompt", "reference")
    budget_cap = "generation_items"  # details hold no per-item scores: the value is not recomputed

    def inputs(self, task, suite, budget) -> TaskInputs:
        examples = load_examples(task.data)
        return TaskInputs(spread(examples.items, self.cap(budget)), examples.data_hashes)

    def score(self, backend, task, items, context) -> Cell:
        parsed = [split_answer(t) for t in _answers(backend, items, context.generations)]
        explanations = [p[0] for p in parsed]
        references = [e.reference for e in items]
        if task.metric == "cosine":
            scores = cosine_similarities(load_encoder(DEFAULT_ENCODER), explanations, references)
        else:
            scores = [rouge_l(x, r) for x, r in zip(explanations, references)]
        scores = [s if x.strip() else 0.0 for s, x in zip(scores, explanations)]  # an empty answer explains nothing
        done(context, len(items))
        return Cell(sum(scores) / len(scores), {
            "items": len(items),
            "answered": sum(p[1] is not None for p in parsed),
            "decision_accuracy": sum(p[1] == e.label for p, e in zip(parsed, items)) / len(items),
            "mean_chars": sum(len(x) for x in explanations) / len(explanations),
        }, Samples.of(scores))


    def sample_problem(self, task, details, samples, documents) -> str | None:
        """Each item a score in the metric's range: cosine in [-1, 1], ROUGE-L F1 in [0, 1]."""
        problem = TaskKind.sample_problem(self, task, details, samples, documents)
        low = -1.0 if task.metric == "cosine" else 0.0
        if problem is None and not all(low - 1e-6 <= v <= 1.0 + 1e-6 for v in samples.values):
            problem = f"values: a {task.metric} score lies in [{low:g}, 1]"
        return problem


def _answers(backend, examples, generations: dict) -> list[str]:
    """Greedy answers, reused when this checkpoint already answered the same questions."""
    key = tuple(e.id for e in examples)
    if key not in generations:
        prompts = [backend.chat_prompt(user_turn(e)) for e in examples]
        generations[key] = backend.generate([GenerateRequest(p, max_new_tokens=EXPLANATION_TOKENS) for p in prompts])
    return generations[key]
