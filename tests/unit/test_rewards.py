"""Reward functions with the real MiniLM encoder and rouge-score, and answer parsing."""

from __future__ import annotations

import pytest

from cptbench.core.errors import ConfigError, ModelError
from cptbench.eval import scorers
from cptbench.eval.answers import split_answer, strip_reasoning
from cptbench.train import rewards

REF = "Mitochondrial dynamics are involved in programmed cell death in lace plant leaves."
PARAPHRASE = "Programmed cell death in the leaves of the lace plant involves changes in mitochondria."
UNRELATED = "The football team won the championship after a penalty shootout."


@pytest.fixture(scope="module")
def semantic():
    return rewards.semantic_reward("all-minilm-l6-v2")


def test_identical_text_scores_one(semantic):
    assert semantic([f"{REF}\nAnswer: yes"], reference=[REF]) == pytest.approx([1.0], abs=1e-5)
    assert rewards.rouge([f"{REF}\nAnswer: yes"], reference=[REF]) == [pytest.approx(1.0)]
    assert scorers.rouge_l(REF, REF) == pytest.approx(1.0)


def test_paraphrase_beats_unrelated(semantic):
    para, other = semantic([PARAPHRASE, UNRELATED], reference=[REF, REF])
    assert para > other + 0.3
    assert rewards.rouge([PARAPHRASE], reference=[REF])[0] > rewards.rouge([UNRELATED], reference=[REF])[0]


def test_reasoning_block_is_ignored(semantic):
    plain = semantic([f"{PARAPHRASE}\nAnswer: yes"], reference=[REF])
    thinking = semantic([f"<think>Football? No, plants.</think>\n{PARAPHRASE}\nAnswer: yes"], reference=[REF])
    assert thinking == pytest.approx(plain, abs=1e-6)


def test_empty_explanation_scores_zero(semantic):
    completions = ["Answer: yes", "<think>unfinished", ""]
    assert semantic(completions, reference=[REF] * 3) == [0.0, 0.0, 0.0]
    assert rewards.rouge(completions, reference=[REF] * 3) == [0.0, 0.0, 0.0]


def test_correctness():
    completions = ["x\nAnswer: yes", "x\nAnswer: no", "x\n**Answer:** Maybe.", "no answer line"]
    assert rewards.correctness(completions, decision=["yes", "yes", "maybe", "no"]) == [1.0, 0.0, 1.0, 0.0]


def test_conversational_completions_score_like_strings(semantic):
    texts = [f"{PARAPHRASE}\nAnswer: yes", f"{UNRELATED}\nAnswer: no"]
    chats = [[{"role": "assistant", "content": t}] for t in texts]
    columns = {"reference": [REF, REF], "decision": ["yes", "yes"], "prompts": ["p", "p"]}
    for fn in (semantic, rewards.rouge, rewards.correctness):
        assert fn(chats, **columns) == pytest.approx(fn(texts, **columns), abs=1e-6)


def test_cosine_similarities_batch(semantic):
    encoder = scorers.load_encoder()
    assert scorers.load_encoder("all-minilm-l6-v2") is encoder  # cached per process
    sims = scorers.cosine_similarities(encoder, [REF, UNRELATED, PARAPHRASE], [REF, REF, REF])
    assert sims[0] == pytest.approx(1.0, abs=1e-5) and sims[1] < 0.5
    # duplicates are encoded once; each row still pairs with its own reference
    assert scorers.cosine_similarities(encoder, [PARAPHRASE], [REF]) == pytest.approx([sims[2]], abs=1e-6)
    swapped = scorers.cosine_similarities(encoder, [REF, REF], [UNRELATED, REF])
    assert swapped == pytest.approx([sims[1], 1.0], abs=1e-5)
    assert scorers.cosine_similarities(encoder, [], []) == []


def test_build_rewards_order_weights_and_names(semantic):
    functions, weights = rewards.build_rewards({"correctness": 2.0, "semantic": 1.0, "rouge": 0.5}, "all-minilm-l6-v2")
    assert [f.__name__ for f in functions] == ["correctness", "semantic", "rouge"]
    assert weights == [2.0, 1.0, 0.5]


def test_build_rewards_rejects_unknown_and_empty():
    with pytest.raises(ConfigError, match=r"unknown reward 'bleu'; expected one of semantic, rouge, correctness"):
        rewards.build_rewards({"semantic": 1.0, "bleu": 1.0}, "all-minilm-l6-v2")
    with pytest.raises(ConfigError, match="at least one"):
        rewards.build_rewards({}, "all-minilm-l6-v2")


def test_missing_encoder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match=r"cannot load sentence encoder .*no-such-encoder") as info:
        scorers.load_encoder(str(tmp_path / "no-such-encoder"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It helps.\nAnswer: yes", ("It helps.", "yes")),
        ("It helps.\n\n**Answer:** Yes.", ("It helps.", "yes")),
        ("It helps.\nanswer: NO", ("It helps.", "no")),
        ("Answer: yes\nOn reflection, unclear.\nAnswer: maybe", ("Answer: yes\nOn reflection, unclear.", "maybe")),
        ("It helps. Answer: no.", ("It helps.", "no")),
        ("It helps.\nAnswer: unclear", ("It helps.", None)),
        ("It helps, the answer is yes.", ("It helps, the answer is yes.", None)),
        ("<think>hmm\nAnswer: no</think>\nIt helps.\nAnswer: yes", ("It helps.", "yes")),
        ("  It helps.\n<think>cut off mid thought Answer: no", ("It helps.", None)),
        ("prompt opened it</think>It helps.\nAnswer: maybe", ("It helps.", "maybe")),
        ("Answer: not sure", ("", None)),
        ("", ("", None)),
    ],
)
def test_split_answer(text, expected):
    assert split_answer(text) == expected


def test_strip_reasoning():
    assert strip_reasoning("  <think>a</think> b <THINK>c</THINK>\n") == "b"
    assert strip_reasoning("<think>never closed") == ""
