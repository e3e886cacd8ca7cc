"""``cptbench sweep``: a grid of ordinary runs (seeds × methods × orders) through submitit (local or
Slurm), resumable; ``cptbench sweep status DIR``; ``cptbench sweep report DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from cptbench.cli.errors import handled
from cptbench.cli.options import BACKEND_HELP, BACKEND_OPTION_HELP, report_to_option
from cptbench.core.constants import DEFAULT_BACKEND, DEFAULT_MODEL

app = typer.Typer(help="Sweeps: one ordinary `cptbench run` per grid point, each in its own resumable run directory, "
                  "submitted through submitit (local or Slurm); the multi-seed report at the end.",
                  no_args_is_help=True)


@app.callback(invoke_without_command=True)
def sweep(
    ctx: typer.Context,
    suite: str = typer.Option("crossdomain", "--suite", "-s", help="Suite name (see `cptbench suites`) or a suite YAML path."),
    budget: str = typer.Option(None, "--budget", "-b", help="Budget name (default: the suite's default)."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Alias, local directory or hub id."),
    seeds: str = typer.Option("0", "--seeds", help="Seeds, e.g. 0,1,2."),
    methods: str = typer.Option("naive", "--methods", help="Methods, e.g. naive,replay:0.25,ewc:lambda=1000,gamma=0.9 "
                                "(`cptbench methods` lists them; a piece with '=' and no ':' continues the previous "
                                "method's parameters). The first is the report's reference."),
    orders: str = typer.Option("given", "--orders", help="Stage orders, e.g. given,reversed: given, reversed, random:SEED, similar."),
    out: Path = typer.Option(None, "--out", "-o", help="Sweep directory (default: runs/sweep-<suite>-<budget>-<model>); "
                             "each point runs in OUT/points/<name>."),
    executor: str = typer.Option("local", "--executor", help="local (submitit's local executor, this machine) or slurm."),
    max_parallel: int = typer.Option(None, "--max-parallel", min=1, help="Points running at once (local default 1; "
                                     "slurm: the job array's parallelism)."),
    slurm_partition: str = typer.Option(None, "--slurm-partition", help="Slurm partition."),
    timeout_min: int = typer.Option(None, "--timeout-min", min=1, help="Time limit per job in minutes (slurm default 240; "
                                    "local: none). A job that reaches it is requeued and its run resumes."),
    gpus_per_node: int = typer.Option(None, "--gpus-per-node", min=0, help="Slurm: GPUs per job."),
    cpus_per_task: int = typer.Option(None, "--cpus-per-task", min=1, help="Slurm: CPU cores per job."),
    nodes: int = typer.Option(None, "--nodes", min=1, help="Slurm: nodes per job; each stage trains on all of them, "
                              "--processes on each (srun starts one cptbench run per node; node 0 runs the point)."),
    recipe: list[str] = typer.Option([], "--recipe", help="NAME=PATH, passed to every run (repeatable)."),
    backend: str = typer.Option(DEFAULT_BACKEND, "--backend", help=BACKEND_HELP),
    backend_option: list[str] = typer.Option([], "--backend-option", help=BACKEND_OPTION_HELP),
    processes: int = typer.Option(1, "--processes", min=1, help="Train each stage of each run with N processes (passed on when N > 1)."),
    accelerate_config: str = typer.Option(None, "--accelerate-config", help="Accelerate config for --processes "
                                          "(ddp, fsdp, deepspeed_zero2 or a YAML path), passed to every run."),
    eval_every: int = typer.Option(None, "--eval-every", min=1, help="Curves inside each stage (passed to every run)."),
    report_to: str = report_to_option(),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print each point's `cptbench run` command and submit nothing."),
) -> None:
    """Run every point of the grid (seed-major), skip finished ones, and write OUT/report.md at the end.

    Re-running the same command skips finished points, waits for running ones and resubmits the
    rest (their runs resume). Interrupting it does not stop submitted jobs.
    """
    if ctx.invoked_subcommand is not None:
        return
    import shlex

    from cptbench.cli.run import parse_seeds
    from cptbench.publish.sweep_report import write_sweep_report
    from cptbench.run.sweep import SweepDir, SweepError, make_grid
    from cptbench.run.sweep_jobs import ExecutorOptions
    from cptbench.run.sweep_loop import run_sweep

    with handled():
        grid = make_grid(suite, budget, model, parse_seeds(seeds), methods, orders, recipes=recipe, backend=backend,
                         backend_options=backend_option, processes=processes, eval_every=eval_every,
                         accelerate_config=accelerate_config, report_to=report_to)
        options = ExecutorOptions(executor, max_parallel, timeout_min, slurm_partition, gpus_per_node, cpus_per_task, nodes)
        where = SweepDir(out or Path("runs") / f"sweep-{grid.suite_name}-{grid.budget}-{Path(grid.model).name}")
        if dry_run:
            for point in grid.points(where.root):
                typer.echo(shlex.join(point.argv))
            return
        options.check_tools()  # sbatch missing: before sweep.json is written
        state = where.claim(grid, options.as_json())
        echo = lambda line: typer.echo(line, err=True)
        echo(f"sweep {where.root}: {len(state.points)} point{'s' * (len(state.points) > 1)}, executor {executor}"
             + (f", {options.local_slots} at a time" if executor == "local" else ""))
        try:
            outcome = run_sweep(where, state, options, lambda e: echo(_line(e)))
        except KeyboardInterrupt:
            echo(f"interrupted: submitted jobs keep running (cptbench sweep status {where.root}); "
                 "the same command again waits for them and submits the rest")
            raise typer.Exit(130) from None
        if outcome.failed:  # each was named as it failed
            raise SweepError(f"{len(outcome.failed)} of {len(state.points)} points failed (cptbench sweep status "
                             f"{where.root}); the same command again resubmits them and their runs resume")
        text, path = write_sweep_report(where)
        typer.echo(text)
        echo(f"wrote {path}")


def _line(event) -> str:
    if event.kind == "done-before":
        return f"finished before: {event.point.name}"
    if event.kind == "waiting":
        return f"already {event.detail}: {event.point.name} (waiting for it)"
    if event.kind == "submitted":
        return f"submitted {event.point.name} ({event.detail})"
    if event.kind == "finished":
        return f"[{event.finished}/{event.total}] finished {event.point.name} ({event.detail})"
    return f"failed: {event.point.name}: {event.detail}"


@app.command("status")
def status(directory: Path = typer.Argument(..., help="The sweep directory (holds sweep.json).")) -> None:
    """Each point: finished, running, queued, failed (why), stopped (resumes when resubmitted) or
    pending; its last job and the stages its run has trained."""
    from cptbench.publish.sweep_report import status_markdown
    from cptbench.run.sweep import SweepDir
    from cptbench.run.sweep_jobs import point_status

    with handled():
        where = SweepDir(directory)
        state = where.load()
        entries = {entry.name: entry for entry in state.points}
        statuses = [point_status(p, entries.get(p.name), where.jobs) for p in state.grid.points(where.root)]
        typer.echo(status_markdown(statuses))


@app.command("report")
def report(directory: Path = typer.Argument(..., help="The sweep directory (holds sweep.json).")) -> None:
    """Write DIR/report.md again (every point must have finished) and print it."""
    from cptbench.publish.sweep_report import write_sweep_report
    from cptbench.run.sweep import SweepDir

    with handled():
        text, path = write_sweep_report(SweepDir(directory))
        typer.echo(text)
        typer.echo(f"wrote {path}", err=True)
