"""One of the processes that train a stage together (``python -m cptbench.run.worker JOB``, started
by ``cptbench.run.launch`` under torchrun or accelerate launch).

Every process reads the job file and trains; Accelerate (inside the TRL trainer) makes them one
DDP / FSDP / DeepSpeed group. Only the main process writes: the checkpoint, the step counts, and
the result or the error, which the launching ``cptbench run`` reads back.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path

from cptbench.core.errors import CptbenchError
from cptbench.core.io import read_json_object, write_json_atomic


def die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the parent process dies (Linux ``PR_SET_PDEATHSIG``), so that
    no trainer outlives a killed ``cptbench run``. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request: nobody is waiting for us
        os._exit(1)


def main(job_file: str) -> int:
    die_with_parent()
    job = read_json_object(Path(job_file))  # the one guarded reader, like every file cptbench reads
    main_process = int(os.environ.get("RANK", "0")) == 0
    try:
        result = _train(job, main_process)
    except CptbenchError as exc:
        if main_process:
            write_json_atomic(Path(job["error"]), {"type": type(exc).__name__, "message": str(exc)})
        return 1
    if main_process:
        saved = dataclasses.asdict(result)
        write_json_atomic(Path(job["result"]), {**saved, "checkpoint": str(result.checkpoint)})
    return 0


def _train(job: dict, main_process: bool):
    from cptbench.run.provenance import make_deterministic
    from cptbench.train.distributed import split_batch
    from cptbench.train.kinds import stage_kind, train_rows
    from cptbench.train.trackers import Tracking

    make_deterministic(job["seed"])
    recipe = stage_kind(job["kind"]).recipe.model_validate(job["recipe"])
    per_device, accumulation = split_batch(recipe.per_device_train_batch_size, recipe.gradient_accumulation_steps,
                                           job["processes"])
    recipe = recipe.model_copy(update={"per_device_train_batch_size": per_device,
                                       "gradient_accumulation_steps": accumulation})
    progress_file = Path(job["progress"])

    def progress(step: int, total: int) -> None:
        if main_process:
            write_json_atomic(progress_file, {"step": step, "total": total})

    return train_rows(job["kind"], job["rows"], recipe, Path(job["start"]), Path(job["checkpoint"]),
                      seed=job["seed"], work_dir=Path(job["work_dir"]), progress=progress,
                      first_stage=job["first_stage"], tracking=Tracking.from_json(job.get("tracking")))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
