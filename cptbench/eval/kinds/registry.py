"""The registry of task kinds: a suite names one by ``kind``. Adding a kind is one module with a
``TaskKind`` subclass (``cptbench.eval.kinds.base``) plus one entry in ``KINDS``."""

from __future__ import annotations

from cptbench.core.errors import ConfigError
from cptbench.eval.kinds.base import TaskKind
from cptbench.eval.kinds.bpb import BitsPerByte
from cptbench.eval.kinds.choice import MultipleChoice
from cptbench.eval.kinds.cloze import Cloze
from cptbench.eval.kinds.decision import Decision
from cptbench.eval.kinds.explanation import Explanation
from cptbench.eval.kinds.lmeval import LmEval
from cptbench.eval.kinds.logprob import AnswerLogprob

KINDS: dict[str, TaskKind] = {
    kind.name: kind
    for kind in (BitsPerByte(), Cloze(), LmEval(), Decision(), Explanation(), MultipleChoice(), AnswerLogprob())
}


def get_kind(name: str) -> TaskKind:
    if name not in KINDS:
        raise ConfigError(f"task kind {name!r} is not one of {', '.join(KINDS)}")
    return KINDS[name]
