"""A sweep's grid: each malformed value is one ConfigError naming its flag; points are named as
`cptbench run` names the same runs; their command lines; a sweep directory keeps one grid; the
state of a point read from its run directory."""

import json
import multiprocessing

import pytest

from cptbench.cli.run import _default_name
from cptbench.core.errors import ConfigError
from cptbench.run.lock import run_lock
from cptbench.run.sweep import SweepDir, make_grid, parse_method, point_name
from cptbench.run.sweep_jobs import ExecutorOptions, State, point_status

SMOKE = ("crossdomain", "smoke", "tiny-llama")


def grid(seeds=(0, 1), methods="naive,replay:0.25", orders="given", **extra):
    return make_grid(*SMOKE[:2], SMOKE[2], seeds, methods, orders, **extra)


@pytest.mark.parametrize(("methods", "orders", "message"), [
    ("naive,sgd", "given", "--methods sgd: not a registered method (naive, joint, dapt, replay, l2, ewc, distill, merge;"),
    ("replay:1", "given", "--methods replay: fraction: Input should be less than 1"),
    ("replay:0", "given", "--methods replay: fraction: Input should be greater than 0"),
    ("replay:", "given", "--methods replay:: expected key=value pairs after 'replay:'"),
    ("replay:fraction=0.2,fraction=0.3", "given", "'fraction=0.3': expected key=value, each key once"),
    ("ewc:lambda=-1", "given", "--methods ewc: lambda: Input should be greater than or equal to 0"),
    ("ewc:beta=1", "given", "--methods ewc: beta: Extra inputs are not permitted"),
    ("merge:alpha=nan", "given", "--methods merge: alpha: Input should be a finite number"),
    (",", "given", "--methods ',': expected methods separated by commas"),
    ("naive,dapt,naive", "given", "--methods naive,dapt,naive: naive appears twice"),
    ("replay:0.25,replay:.250", "given", "replay:fraction=0.25,budget_neutral=true appears twice"),
    ("replay:0.25,replay:0.251", "given", "two points would share the run directory crossdomain-smoke-tiny-llama-replay25-s0"),
    ("naive", "given,backwards", "--orders backwards: expected given, reversed, random:SEED or similar"),
    ("naive", "random:x", "--orders random:x: expected"),
    ("naive", "reversed,reversed", "--orders reversed,reversed: reversed appears twice"),
])
def test_a_malformed_grid_is_one_line_naming_the_flag(methods, orders, message):
    with pytest.raises(ConfigError) as caught:
        grid(methods=methods, orders=orders)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_other_options_are_one_line_naming_the_flag():
    for call, message in [
        (lambda: grid(recipes=["cpt"]), "--recipe cpt: expected NAME=PATH"),
        (lambda: make_grid("crossdomain", "huge", "tiny-llama", (0,), "naive", "given"), "--budget huge"),
        (lambda: make_grid("no-such-suite", None, "tiny-llama", (0,), "naive", "given"), "--suite no-such-suite"),
        (lambda: ExecutorOptions("pbs"), "--executor pbs: expected one of local, slurm"),
        (lambda: ExecutorOptions("local", partition="gpu"), "--slurm-partition: applies to --executor slurm only"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            call()


@pytest.mark.parametrize(("spec", "order", "recipes", "name"), [
    ("naive", "given", (), "crossdomain-smoke-tiny-llama-s3"),
    ("replay:0.25", "given", (), "crossdomain-smoke-tiny-llama-replay25-s3"),
    ("dapt", "reversed", (), "crossdomain-smoke-tiny-llama-dapt-reversed-s3"),
    ("joint", "random:7", (), "crossdomain-smoke-tiny-llama-joint-random7-s3"),
    ("replay:0.1", "similar", (("cpt", "/x/trainers/cpt_wsd.yaml"),), "crossdomain-smoke-tiny-llama-replay10-similar-cpt_wsd-s3"),
])
def test_points_are_named_as_cptbench_run_names_the_same_run(spec, order, recipes, name):
    """``cptbench run`` without --out names its directory with the same function."""
    method = parse_method(spec)
    assert point_name(*SMOKE, 3, method, order, recipes) == name
    assert _default_name(*SMOKE, 3, method.spec, order, recipes) == name


def test_each_point_is_an_ordinary_run_command(tmp_path):
    points = grid(orders="given,reversed", processes=2, accelerate_config="fsdp",
                  backend_options=["dtype=float32"]).points(tmp_path)
    assert [p.name for p in points] == [
        "crossdomain-smoke-tiny-llama-s0", "crossdomain-smoke-tiny-llama-reversed-s0",
        "crossdomain-smoke-tiny-llama-replay25-s0", "crossdomain-smoke-tiny-llama-replay25-reversed-s0",
        "crossdomain-smoke-tiny-llama-s1", "crossdomain-smoke-tiny-llama-reversed-s1",
        "crossdomain-smoke-tiny-llama-replay25-s1", "crossdomain-smoke-tiny-llama-replay25-reversed-s1",
    ]  # seed-major: one seed of every configuration first
    replay = points[3]
    assert replay.argv[1:] == ("-m", "cptbench", "run", "--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama",
                               "--seed", "0", "--method", "replay:fraction=0.25,budget_neutral=true", "--order", "reversed",
                               "--backend-option", "dtype=float32", "--processes", "2", "--accelerate-config", "fsdp",
                               "--out", str(replay.run_dir))
    assert replay.run_dir == tmp_path / "points" / replay.name
    assert "--processes" not in grid().points(tmp_path)[0].argv  # 1 process: the plain run's command line


def test_a_sweep_directory_keeps_its_grid(tmp_path):
    where = SweepDir(tmp_path / "sweep")
    state = where.claim(grid(), {"kind": "local"})
    state = where.with_job(state, state.points[1].name, "local", "1234")
    again = where.claim(grid(), {"kind": "local", "max_parallel": 2})  # executor options may change
    assert again.points[1].job_id == "1234" and again.options == {"kind": "local", "max_parallel": 2}
    with pytest.raises(ConfigError) as caught:
        where.claim(grid(seeds=(0, 1, 2), orders="reversed"), {"kind": "local"})
    assert str(caught.value) == (f"{where.state}: the sweep directory holds another grid (differs in: seeds, orders); "
                                 "use another --out, or the same options as before")
    assert json.loads(where.state.read_text())["grid"]["seeds"] == [0, 1]  # untouched


def test_a_damaged_state_file_is_one_line(tmp_path):
    where = SweepDir(tmp_path)
    where.state.write_text('{"format": 1, "grid": {"suite": "crossdomain"}}')
    with pytest.raises(ConfigError, match=r"sweep.json: grid.suite_name: Field required"):
        where.load()


def _hold(path, ready, release):
    with run_lock(path):
        ready.set()
        release.wait(30)


def test_a_points_state_comes_from_its_run_directory(tmp_path):
    where = SweepDir(tmp_path)
    point = grid().points(tmp_path)[0]
    status = lambda: point_status(point, None, where.jobs)
    assert status().state is State.PENDING
    point.run_dir.mkdir(parents=True)
    (point.run_dir / "config.json").write_text(json.dumps({"fingerprint": {"stages": ["a", "b", "c"], "method": {"name": "naive"}}}))
    (point.run_dir / "train").mkdir()
    (point.run_dir / "train" / "1-a.json").write_text("{}")
    assert (status().state, status().progress) == (State.STOPPED, "1/3 stages")
    fork = multiprocessing.get_context("fork")
    ready, release = fork.Event(), fork.Event()
    holder = fork.Process(target=_hold, args=(point.run_dir / ".lock", ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        assert (status().state, status().detail) == (State.RUNNING, f"cptbench run pid {holder.pid}")
    finally:
        release.set()
        holder.join(10)
    assert status().state is State.STOPPED  # the lock is free again
    (point.run_dir / "record.json").write_text("{}")
    assert (status().state, status().progress) == (State.FINISHED, "done")
