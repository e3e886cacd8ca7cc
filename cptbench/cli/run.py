"""``cptbench run``: train through a suite's stages and print the matrix and the metrics."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

import typer

from cptbench.cli.errors import handled
from cptbench.cli.options import (
    BACKEND_HELP,
    BACKEND_OPTION_HELP,
    VLLM_URL_HELP,
    backend_options,
    method_option,
    method_spec,
    order_option,
    replay_extra_option,
    replay_option,
    report_to_option,
    seed_option,
)
from cptbench.core.constants import DEFAULT_BACKEND, DEFAULT_MODEL


def run(
    suite: str = typer.Option("crossdomain", "--suite", "-s", help="Suite name (see `cptbench suites`) or a suite YAML path."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Alias, local directory or hub id."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget name (default: the suite's default)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory (default: runs/<suite>-<budget>-<model>[-<method>]-s<seed>)."),
    seed: int = seed_option(),
    seeds: str = typer.Option(None, "--seeds", help="Several seeds, e.g. 0,1,2: one ordinary run per seed (each resumable; "
                              "--out X gives X-s0, X-s1...), then the seed-aggregate view with intervals over seeds and items."),
    method: str = method_option(),
    order: str = order_option(),
    replay: float = replay_option(),
    replay_extra: bool = replay_extra_option(),
    recipe: list[str] = typer.Option([], "--recipe", help="NAME=PATH: train the stages that use recipe NAME with the recipe YAML at PATH (repeatable)."),
    backend: str = typer.Option(DEFAULT_BACKEND, "--backend", help=BACKEND_HELP),
    vllm_url: str = typer.Option(None, "--vllm-url", help=VLLM_URL_HELP),
    backend_option: list[str] = typer.Option([], "--backend-option", help=BACKEND_OPTION_HELP),
    eval_every: int = typer.Option(None, "--eval-every", min=1, help="Curves inside each stage: evaluate the suite's curve "
                                   "tasks every N optimizer steps (default: the budget's eval_every, usually none)."),
    processes: int = typer.Option(1, "--processes", min=1, help="Train each stage with N processes (DDP through Accelerate: "
                                  "torchrun with gloo on CPU, accelerate launch on GPUs); the same global batch and tokens as one."),
    accelerate_config: str = typer.Option(None, "--accelerate-config", help="Accelerate config for --processes on GPUs: "
                                          "ddp, fsdp, deepspeed_zero2 (trainers/accelerate/) or a YAML path."),
    nodes: int = typer.Option(1, "--nodes", min=1, help="Train each stage on M nodes, --processes on each: start the same "
                              "command on every node with its --node-rank; node 0 is the run, the others join its stages "
                              "(the run directory must be on a file system every node sees)."),
    node_rank: int = typer.Option(0, "--node-rank", min=0, help="This node's rank, 0 to M-1 (with --nodes M)."),
    main_address: str = typer.Option("127.0.0.1", "--main-address", help="Node 0's address: the stages' rendezvous (with --nodes)."),
    main_port: int = typer.Option(29500, "--main-port", help="The rendezvous port on node 0 (with --nodes)."),
    report_to: str = report_to_option(),
    force: bool = typer.Option(False, "--force", help="Empty the run directory and start over (needed when it holds another configuration)."),
) -> None:
    """Run a suite: evaluate the base model, then train and evaluate after every stage.

    Re-running the same command on an existing run directory resumes it where it stopped.
    """
    from cptbench.cli.progress import RichReporter
    from cptbench.cli.quiet import quiet_libraries
    from cptbench.config.suites import load_suite
    from cptbench.core.constants import RECORD_NAME
    from cptbench.publish.report import run_summary, seeds_markdown
    from cptbench.run.launcher import Nodes
    from cptbench.run.nodes import follow_run
    from cptbench.run.processes import accelerate_config_path
    from cptbench.run.runner import RunConfig, run_suite

    with handled():
        refuse_inside_launcher(processes)
        node = Nodes(nodes, node_rank, main_address, main_port)
        loaded = load_suite(suite)
        chosen = loaded.budget(budget)
        if eval_every is not None:
            chosen = dataclasses.replace(chosen, eval_every=eval_every)
        overrides = tuple(_override(item) for item in recipe)
        spec = method_spec(method, replay, replay_extra)
        chosen_seeds = parse_seeds(seeds) if seeds is not None else [seed]
        records, outs = [], []
        for each in chosen_seeds:
            name = _default_name(loaded.name, chosen.name, model, each, spec, order, overrides)
            target = (Path(f"{out}-s{each}") if seeds is not None else out) if out else Path("runs") / name
            if not node.main:  # node 0 runs it; this node joins each stage's training
                follow_run(target, node, processes, accelerate_config_path(accelerate_config) if accelerate_config else None,
                           typer.echo)
                continue
            quiet_libraries(target / "logs" / "run.log")
            config = RunConfig(suite=loaded, budget=chosen, model=model, seed=each, out_dir=target, force=force,
                               method=spec, order=order, recipe_overrides=overrides, backend=backend,
                               backend_options=backend_options(backend_option, vllm_url), processes=processes,
                               accelerate_config=accelerate_config_path(accelerate_config) if accelerate_config else None,
                               nodes=node if node.count > 1 else None, report_to=report_to)
            with RichReporter() as reporter:
                records.append(run_suite(config, reporter))
            outs.append(target)
            typer.echo(run_summary(records[-1], target))
            typer.echo(f"run record: {target / RECORD_NAME}; library messages: {target / 'logs' / 'run.log'}")
        if len(records) > 1:
            typer.echo("\n" + seeds_markdown(records))
            typer.echo(f"again: cptbench report {','.join(shlex.quote(str(o)) for o in outs)}")


def refuse_inside_launcher(processes: int) -> None:
    """``cptbench run`` owns the run directory and evaluates in one process; it starts the training
    processes itself. Started N times by a launcher, N copies would race for the directory."""
    import os

    from cptbench.core.errors import ConfigError

    text = os.environ.get("WORLD_SIZE", "").strip() or "1"
    if not text.isdigit() or len(text) > 6:  # torch and accelerate would fail on it later, mid-run
        raise ConfigError(f"WORLD_SIZE={text[:20]!r}: not a process count; unset it (cptbench run starts its own processes)")
    world = int(text)
    if world > 1:
        raise ConfigError(f"WORLD_SIZE={world}: start cptbench run once, with --processes {max(world, processes)}; "
                          "it launches the training processes itself (accelerate launch / torchrun)")


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]: distinct seeds in 0..2**32-1."""
    from cptbench.core.errors import ConfigError

    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text}: expected seeds separated by commas, e.g. 0,1,2") from None
    if not values or len(set(values)) != len(values) or any(not 0 <= v < 2**32 for v in values):
        raise ConfigError(f"--seeds {text}: expected distinct seeds in 0..4294967295, e.g. 0,1,2")
    return values


def _override(item: str) -> tuple[str, str]:
    from cptbench.core.errors import ConfigError

    name, sep, path = item.partition("=")
    if not sep or not name or not path:
        raise ConfigError(f"--recipe {item}: expected NAME=PATH, e.g. cpt=trainers/cpt_wsd.yaml")
    return name, path


def _default_name(suite, budget, model, seed, spec: str, order, overrides) -> str:
    from cptbench.run.sweep import parse_method, point_name

    return point_name(suite, budget, model, seed, parse_method(spec, "--method"), order, overrides)
