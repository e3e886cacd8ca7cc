"""What one stage's training is given and gives back, shared by the stage loop (run/stage.py) and
the multi-process launcher (run/launch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cptbench.core.spec import Budget
from cptbench.methods.base import Method
from cptbench.run.plan import PlannedStage
from cptbench.train.trackers import Tracking


@dataclass(frozen=True)
class StageData:
    """What decides a stage's training data; ``run`` and ``export`` build it from this alone
    (the planned stage carries the method's mix: sources, replay)."""

    planned: PlannedStage
    budget: Budget
    seed: int
    tokenizer: object  # the model's: measures documents in tokens


@dataclass(frozen=True)
class StageJob:
    """One stage's training: its data, recipe, method and where it starts and ends."""

    data: StageData
    recipe: object  # the stage kind's recipe (cptbench/train/kinds.py)
    start: Path
    checkpoint: Path
    work_dir: Path
    method: Method  # its loss and after-stage hooks apply to this stage
    state_dir: Path  # the method's state folder in the run directory
    processes: int = 1  # > 1: trained by that many processes (cptbench/run/launch.py)
    accelerate_config: Path | None = None  # an Accelerate config file for the launch (GPU: DDP, FSDP, DeepSpeed)
    nodes: object = None  # a cptbench.run.nodes.Nodes: this node's place among several training each stage (None: one)
    tracking: Tracking | None = None  # --report-to: where transformers' integration logs the training


@dataclass(frozen=True)
class StageRows:
    """A stage's training data exactly as its trainer receives it, in training order
    (``cptbench.train.kinds``: rows by kind)."""

    kind: str
    rows: tuple[dict, ...]
    corpus_tokens: int | None  # cpt: document tokens + one EOS each; sft / grpo: counted by the trainer
    order_hash: str  # the record's data_order_hash
    sources: dict[str, dict[str, int]]  # cpt: documents and tokens per source (own, replayed)
