"""A stage trained by several processes: this process (the one that owns the run directory) writes
the stage's rows to a job file and starts ``cptbench.run.worker`` under a distributed launcher.

The workers only train and write the checkpoint (their main process does); the records, the
evaluations, the lock and the logs stay with this process. On CPU the launcher is ``torchrun``
(gloo; ``accelerate launch --cpu`` starts one process only); on GPUs, or with an Accelerate config
file (DDP, FSDP, DeepSpeed: ``trainers/accelerate/``), it is ``accelerate launch``.

If this process dies, even by ``kill -9``, the launcher gets SIGKILL from the kernel and its
workers follow (``worker.die_with_parent``): the next ``cptbench run`` finds the lock free and no
stray trainer writing into the run directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from cptbench.core.errors import CptbenchError, TrainingError
from cptbench.core.io import write_json_atomic
from cptbench.run.jobs import StageJob, StageRows
from cptbench.run.launcher import Nodes, killed_with_us, launch_command
from cptbench.train.common import TrainResult

POLL_SECONDS = 0.5
ERRORS = {cls.__name__: cls for cls in CptbenchError.__subclasses__()}  # a worker's error, re-raised here by name


def train_in_processes(job: StageJob, built: StageRows, common: dict) -> TrainResult:
    """Train ``built`` as ``train_rows`` would, in ``job.processes`` processes (on each of
    ``job.nodes``: the other nodes join through the job file, ``cptbench.run.nodes``); the same result."""
    nodes, token = job.nodes or Nodes(), uuid.uuid4().hex  # the token names the stage's rendezvous
    folder = job.work_dir.with_name(job.work_dir.name + "-launch")
    shutil.rmtree(folder, ignore_errors=True)  # an earlier attempt's files say nothing about this one
    folder.mkdir(parents=True)
    paths = {name: folder / f"{name}.json" for name in ("job", "progress", "result", "error")}
    write_json_atomic(paths["job"], {
        "kind": built.kind, "rows": list(built.rows), "recipe": job.recipe.model_dump(mode="json"),
        "start": str(job.start), "checkpoint": str(job.checkpoint), "work_dir": str(job.work_dir),
        "seed": common["seed"], "first_stage": common["first_stage"], "processes": job.processes * nodes.count,
        "progress": str(paths["progress"]), "result": str(paths["result"]), "error": str(paths["error"]),
        "token": token, "nodes": nodes.count, "processes_per_node": job.processes,
        "tracking": job.tracking.to_json() if job.tracking else None,
    })
    log = job.work_dir.parent.parent / "logs" / f"train-{job.work_dir.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = launch_command(job.processes, paths["job"], job.accelerate_config, nodes=nodes, token=token)
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=killed_with_us())
        code = _follow(process, paths["progress"], common["progress"], (folder / "alive", token) if nodes.count > 1 else None)
    saved = _read(paths["error"])
    if saved is not None:
        raise ERRORS.get(saved["type"], TrainingError)(saved["message"])
    result = _read(paths["result"])
    if code != 0 or result is None:
        where = f" on each of {nodes.count} nodes" if nodes.count > 1 else ""
        raise TrainingError(f"{log}: the {job.processes} training processes{where} exited with code {code}; the log says why")
    shutil.rmtree(folder, ignore_errors=True)
    return TrainResult(**{**result, "checkpoint": Path(result["checkpoint"]),
                          **{k: tuple(result[k]) for k in ("losses", "learning_rates")}})


def _follow(process: subprocess.Popen, progress_file: Path, progress, alive: tuple[Path, str] | None = None) -> int:
    """Wait for the launcher, passing the workers' step counts to ``progress``; meanwhile write
    ``alive = (file, token)``: the token and a counter (other nodes join only a launch whose counter
    moves, ``cptbench.run.nodes``)."""
    seen, beats = 0, 0
    while True:
        if alive is not None:
            beats += 1
            alive[0].write_text(f"{alive[1]} {beats}")
        code = process.poll()
        saved = _read(progress_file)
        if saved is not None and saved["step"] > seen:
            seen = saved["step"]
            if progress:
                progress(seen, saved["total"])
        if code is not None:
            return code
        time.sleep(POLL_SECONDS)


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
