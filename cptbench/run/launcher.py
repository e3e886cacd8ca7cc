"""The command line that starts one stage's training processes on this node (torchrun with gloo on
CPU, accelerate launch on GPUs or with a config), with the rendezvous of several nodes, and the
death signal its child asks for. Used by the launching run (run/launch.py) and by the nodes that
join it (run/nodes.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import ConfigError

DEFAULT_PORT = 29500
JOIN_TIMEOUT = 300  # seconds a launcher waits for every node to join a stage's rendezvous


@dataclass(frozen=True)
class Nodes:
    """Where this process stands among the nodes that train each stage together."""

    count: int = 1
    rank: int = 0
    main_address: str = "127.0.0.1"
    main_port: int = DEFAULT_PORT

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"--nodes {self.count}: expected 1 or more")
        if not 0 <= self.rank < self.count:
            raise ConfigError(f"--node-rank {self.rank}: expected 0 to {self.count - 1} (--nodes {self.count})")
        if not 1 <= self.main_port <= 65535:
            raise ConfigError(f"--main-port {self.main_port}: expected a TCP port, 1 to 65535")
        if not self.main_address.strip() or any(c.isspace() for c in self.main_address):
            raise ConfigError(f"--main-address {self.main_address!r}: expected a host name or an IP address")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict[str, object]:
        return {"nodes": self.count, "main_address": self.main_address, "main_port": self.main_port}


def torchrun_rendezvous(nodes: Nodes, token: str) -> list[str]:
    """torchrun's arguments for a stage's c10d rendezvous (node 0 hosts its store)."""
    return [f"--nnodes={nodes.count}", "--rdzv_backend=c10d", f"--rdzv_endpoint={nodes.main_address}:{nodes.main_port}",
            f"--rdzv_id={token}", f"--rdzv_conf=is_host={int(nodes.main)},join_timeout={JOIN_TIMEOUT}", "--max_restarts=0"]


def accelerate_rendezvous(nodes: Nodes) -> list[str]:
    """accelerate launch's arguments for one machine of several."""
    return ["--num_machines", str(nodes.count), "--machine_rank", str(nodes.rank), "--main_process_ip", nodes.main_address,
            "--main_process_port", str(nodes.main_port)]


def launch_command(processes: int, job_file: Path, accelerate_config: Path | None, *, nodes: Nodes | None = None,
                   token: str = "") -> list[str]:
    """This node's launcher for ``processes`` workers on ``job_file``; with several ``nodes``, one of
    theirs (``cptbench.run.nodes``: torchrun's c10d rendezvous ``token``, or accelerate's machine rank)."""
    import torch

    worker = ["cptbench.run.worker", str(job_file)]
    several = nodes is not None and nodes.count > 1
    if accelerate_config is None and not torch.cuda.is_available():
        rendezvous = torchrun_rendezvous(nodes, token) if several else ["--standalone"]
        return [sys.executable, "-m", "torch.distributed.run", *rendezvous, f"--nproc_per_node={processes}", "-m", *worker]
    config = ["--config_file", str(accelerate_config)] if accelerate_config else ["--multi_gpu"]
    world = processes * nodes.count if several else processes
    machines = accelerate_rendezvous(nodes) if several else []
    return [sys.executable, "-m", "accelerate.commands.launch", *config, "--num_processes", str(world), *machines,
            "--module", *worker]


def killed_with_us():
    """What the launcher's child runs before exec: ask for SIGKILL when this process dies (Linux
    ``PR_SET_PDEATHSIG``). Resolved here, in the parent: a forked child must not import."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG

