"""``replay``: naive sequential training with documents of earlier cpt stages mixed into each later
one, ``fraction`` of its tokens split evenly over the earlier stages (experience replay, Chaudhry
et al. 2019, "On Tiny Episodic Memories in Continual Learning"; for LLM continual pre-training,
Ibrahim et al. 2024, "Simple and Scalable Strategies to Continually Pre-train Large Language
Models"). Budget-neutral (default): the replayed tokens are taken from the stage's budget;
otherwise they come on top. The mixing itself is ``cptbench.train.replay.mix_replay``."""

from __future__ import annotations

from pydantic import Field

from cptbench.core.errors import ConfigError
from cptbench.core.spec import Stage
from cptbench.methods.base import Method, MethodParams, StageMix


class ReplayParams(MethodParams):
    fraction: float = Field(0.25, gt=0, lt=1, description="share of each later stage's tokens replayed")
    budget_neutral: bool = Field(True, description="take the replayed tokens from the budget (false: add them)")


class Replay(Method):
    name = "replay"
    summary = "naive, with earlier stages' documents mixed into each later cpt stage"
    reference = "Chaudhry et al. 2019; Ibrahim et al. 2024"
    Params = ReplayParams
    primary = "fraction"

    def label(self) -> str:
        neutral = "budget-neutral" if self.params.budget_neutral else "added tokens"
        return f"naive + replay {self.params.fraction:.0%} ({neutral})"

    def data(self, stage: Stage, ordered: tuple[Stage, ...]) -> StageMix:
        if stage.kind != "cpt":
            return StageMix((stage,))
        earlier = tuple(s for s in ordered[: stage.index - 1] if s.kind == "cpt")
        return StageMix((stage,), earlier, self.params.fraction, self.params.budget_neutral)

    def check_stage(self, mix: StageMix, sources: dict[str, dict[str, int]], where: str) -> None:
        replayed = sum(sources.get(s.name, {}).get("tokens", 0) for s in mix.replay)
        if mix.replay and not replayed:
            own = sum(sources.get(s.name, {}).get("tokens", 0) for s in mix.sources)
            raise ConfigError(
                f"--method replay (fraction {mix.replay_fraction:g}): {where} would replay no document: its share (about "
                f"{int(mix.replay_fraction / (1 - mix.replay_fraction) * own)} tokens) is shorter than every earlier "
                "document at this budget; use a larger budget or fraction"
            )

    def validate(self, mix: StageMix, sources: dict[str, dict[str, int]]) -> str | None:
        """The caps of ``mix_replay``: budget-neutral, the stage's own documents take at most
        (1 - f) of the budget (one document may exceed it); replay at most f / (1 - f) of them."""
        fraction = mix.replay_fraction if mix.replay else 0.0
        if not fraction:
            return None
        own_tokens = sum(sources.get(s.name, {}).get("tokens", 0) for s in mix.sources)
        replayed = sum(sources.get(s.name, {}).get("tokens", 0) for s in mix.replay)
        if replayed > int(fraction / (1 - fraction) * own_tokens):
            return f"{replayed} replayed tokens exceed replay {fraction:.0%} of {own_tokens} new ones"
        return None
