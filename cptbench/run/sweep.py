"""A sweep: a grid of ordinary ``cptbench run`` commands (seeds × methods × orders), one run
directory each, and the state file that makes re-running the sweep skip what is done.

    SWEEP_DIR/
      sweep.json          the grid, the executor options, and per point: name, argv, run dir, last job id
      points/<name>/      one ordinary run directory per point (resumable like any other)
      submitit/<job id>/  submitit's pickles and each job's stdout / stderr
      report.md           the multi-seed view per configuration and their comparison (at the end)

Points run seed-major (every configuration of seed 0 first), so a sweep stopped half-way already
holds one seed of every configuration. Submitting them is cptbench/run/sweep_jobs.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from cptbench.core.constants import DEFAULT_BACKEND
from cptbench.core.errors import ConfigError, CptbenchError
from cptbench.core.io import Strict, read_json_object, validate, write_json_atomic
from cptbench.methods.base import param_defaults, param_values
from cptbench.methods.grammar import canonical_spec, method_from_spec, split_methods
from cptbench.methods.registry import method_class
from cptbench.train.orders import ORDER_HELP, parse_order

STATE_NAME = "sweep.json"


class SweepError(CptbenchError):
    """A sweep cannot go on: a point failed, a job could not be submitted, points are unfinished."""

    exit_code = 1


@dataclass(frozen=True)
class Method:
    spec: str  # canonical, every parameter (cptbench/methods/grammar.py): replay:fraction=0.25,budget_neutral=true
    name: str  # the method's registered name
    params: tuple[tuple[str, object], ...]  # every parameter, validated


def parse_method(spec: str, flag: str = "--methods") -> Method:
    """One method of ``--methods`` in the one method grammar (``replay:0.25`` still reads)."""
    method = method_from_spec(spec, flag)
    return Method(canonical_spec(method), method.name, tuple(param_values(method.params).items()))


def _listed(flag: str, text: str, parts: list[str], parse, example: str) -> tuple:
    """``parts`` of ``text``, each parsed, none twice (after normalization: replay:0.250 is replay:0.25)."""
    values = tuple(parse(part) for part in parts if part.strip())
    if not values:
        raise ConfigError(f"{flag} {text!r}: expected values separated by commas, e.g. {example}")
    seen = [str(getattr(v, "spec", v)) for v in values]
    twice = next((s for s in seen if seen.count(s) > 1), None)
    if twice is not None:
        raise ConfigError(f"{flag} {text}: {twice} appears twice")
    return values


def parse_methods(text: str) -> tuple[Method, ...]:
    """``naive,ewc:lambda=1000,gamma=0.9,replay:0.25``: a piece without ':' continues the previous method."""
    return _listed("--methods", text, split_methods(text), parse_method, "naive,replay:0.25")


def parse_orders(text: str) -> tuple[str, ...]:
    """Orders as ``cptbench run --order`` takes them (``given, reversed, random:SEED, similar``)."""
    def one(spec: str) -> str:
        try:
            return str(parse_order(spec))
        except ConfigError:
            raise ConfigError(f"--orders {spec}: expected {ORDER_HELP}, e.g. given,reversed") from None
    return _listed("--orders", text, text.split(","), one, "given,reversed")


def parse_recipe(item: str) -> tuple[str, str]:
    """``NAME=PATH`` with PATH made absolute (jobs may start in another folder)."""
    name, sep, path = item.partition("=")
    if not sep or not name or not path:
        raise ConfigError(f"--recipe {item}: expected NAME=PATH, e.g. cpt=trainers/cpt_wsd.yaml")
    return name, str(Path(path).absolute())


def point_name(suite: str, budget: str, model: str, seed: int, method: Method, order: str, recipes) -> str:
    """The name ``cptbench run`` gives the same run by default (``--out`` omitted)."""
    parts = [suite, budget, Path(model).name]
    parts += method_name_parts(method)
    if order != "given":
        parts.append(order.replace(":", ""))
    parts += [Path(path).stem for _, path in recipes]
    return "-".join(parts) + f"-s{seed}"


def method_name_parts(method: Method) -> list[str]:
    """The method in a run directory's name: nothing for naive, ``replay25`` (``replay25-extra``
    when not budget-neutral, as before methods were plug-ins), else the name and the parameters
    that differ from their defaults, e.g. ``ewc-lambda1000``."""
    params = dict(method.params)
    if method.name == "naive":
        return []
    if method.name == "replay":
        return [f"replay{round(float(params['fraction']) * 100)}", *([] if params["budget_neutral"] else ["extra"])]
    defaults = param_defaults(method_class(method.name).Params)
    return [method.name, *(f"{k}{_short(v)}" for k, v in params.items() if v != defaults[k])]


def _short(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value).lower()


@dataclass(frozen=True)
class Point:
    name: str
    seed: int
    method: Method
    order: str
    run_dir: Path
    argv: tuple[str, ...]  # the whole `cptbench run` command line

    @property
    def configuration(self) -> tuple[str, str]:
        return self.method.spec, self.order


class Grid(Strict):
    """Everything that decides the points' runs; a sweep directory holds one grid."""

    suite: str  # what `cptbench run --suite` gets: a shipped name, or an absolute YAML path
    suite_name: str
    suite_hash: str  # a changed suite file is another grid (finished points would not match new ones)
    budget: str
    model: str  # an alias, a hub id, or an absolute directory
    seeds: tuple[int, ...] = Field(min_length=1)
    methods: tuple[str, ...] = Field(min_length=1)  # canonical specs: naive, replay:fraction=0.25, ewc:lambda=1000
    orders: tuple[str, ...] = ("given",)
    recipes: tuple[tuple[str, str], ...] = ()
    backend: str = DEFAULT_BACKEND
    backend_options: tuple[str, ...] = ()  # KEY=VALUE, checked by the run
    processes: int = 1
    accelerate_config: str | None = None  # a shipped name or an absolute YAML path
    eval_every: int | None = None
    report_to: str = "none"  # --report-to for every point; not part of what a sweep directory compares

    def parsed_methods(self) -> tuple[Method, ...]:
        return tuple(parse_method(spec) for spec in self.methods)

    def run_options(self) -> list[str]:
        """What every point's command line shares after its own --seed/--method/--order."""
        options = [] if self.backend == DEFAULT_BACKEND else ["--backend", self.backend]
        for item in self.backend_options:
            options += ["--backend-option", item]
        for name, path in self.recipes:
            options += ["--recipe", f"{name}={path}"]
        if self.processes > 1:  # only then: a plain run stays a plain run
            options += ["--processes", str(self.processes)]
        if self.accelerate_config is not None:
            options += ["--accelerate-config", self.accelerate_config]
        if self.eval_every is not None:
            options += ["--eval-every", str(self.eval_every)]
        if self.report_to != "none":
            options += ["--report-to", self.report_to]
        return options

    def points(self, root: Path) -> list[Point]:
        root = root.absolute()
        points = []
        for seed in self.seeds:
            for method in self.parsed_methods():
                for order in self.orders:
                    name = point_name(self.suite_name, self.budget, self.model, seed, method, order, self.recipes)
                    run_dir = root / "points" / name
                    argv = [sys.executable, "-m", "cptbench", "run", "--suite", self.suite, "--budget", self.budget,
                            "--model", self.model, "--seed", str(seed), "--method", method.spec, "--order", order,
                            *self.run_options(), "--out", str(run_dir)]
                    points.append(Point(name, seed, method, order, run_dir, tuple(argv)))
        names = [p.name for p in points]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:  # replay:0.25 and replay:0.251 both round to replay25
            raise ConfigError(f"--methods {','.join(self.methods)}: two points would share the run directory {twice}")
        return points

    def configurations(self, root: Path) -> list[list[Point]]:
        """The points of each (method, order), seeds in order: the report's groups (first = reference)."""
        points = self.points(root)
        keys = [(m.spec, o) for m in self.parsed_methods() for o in self.orders]
        return [[p for p in points if p.configuration == key] for key in keys]


def make_grid(suite: str, budget: str | None, model: str, seeds, methods: str, orders: str, *,
              recipes=(), backend: str = DEFAULT_BACKEND, backend_options=(), processes: int = 1,
              accelerate_config: str | None = None,
              eval_every: int | None = None, report_to: str = "none") -> Grid:
    """The grid of a sweep command line; every malformed value is one ConfigError naming its flag."""
    from cptbench.config.suites import load_suite
    from cptbench.train.trackers import check_report_to

    check_report_to(report_to)  # its package missing: before sweep.json is written
    loaded = load_suite(suite)
    chosen = loaded.budget(budget).name
    suite_ref = str(Path(suite).absolute()) if Path(suite).suffix in {".yaml", ".yml"} else suite
    model_ref = str(Path(model).absolute()) if Path(model).is_dir() else model
    grid = Grid(suite=suite_ref, suite_name=loaded.name, suite_hash=loaded.content_hash, budget=chosen, model=model_ref,
                seeds=tuple(seeds), methods=tuple(m.spec for m in parse_methods(methods)), orders=parse_orders(orders),
                recipes=tuple(parse_recipe(item) for item in recipes), backend=backend,
                backend_options=tuple(backend_options), processes=processes, eval_every=eval_every,
                accelerate_config=_absolute(accelerate_config), report_to=report_to)
    grid.points(Path("."))  # refuses colliding names now, not at submission
    return grid


def _absolute(config: str | None) -> str | None:
    """A config file's path made absolute (jobs may start in another folder); a shipped name as it is."""
    if config is None or Path(config).suffix not in {".yaml", ".yml"}:
        return config
    return str(Path(config).absolute())


class PointEntry(Strict):
    name: str
    run_dir: str
    argv: tuple[str, ...]
    executor: str | None = None  # of the last job
    job_id: str | None = None


class SweepFile(Strict):
    format: int = 1
    grid: Grid
    options: dict[str, object] = {}  # the executor options of the last `cptbench sweep`
    points: tuple[PointEntry, ...] = ()


@dataclass(frozen=True)
class SweepDir:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / STATE_NAME

    @property
    def jobs(self) -> Path:
        """submitit's folder: ``%j`` becomes each job's id."""
        return self.root.absolute() / "submitit" / "%j"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    def load(self) -> SweepFile:
        if not self.state.is_file():
            raise ConfigError(f"{self.root}: not a sweep directory (no {STATE_NAME})")
        return validate(read_json_object(self.state, ConfigError), SweepFile, self.state)

    def claim(self, grid: Grid, options: dict[str, object]) -> SweepFile:
        """Start the state file, or check it holds the same grid (then keep its jobs)."""
        jobs: dict[str, PointEntry] = {}
        if self.state.exists():
            existing = self.load()
            old, new = (g.model_dump(mode="json", exclude={"report_to"}) for g in (existing.grid, grid))  # trackers change no number
            if old != new:
                differs = ", ".join(k for k in new if old.get(k) != new[k])
                raise ConfigError(f"{self.state}: the sweep directory holds another grid (differs in: {differs}); "
                                  "use another --out, or the same options as before")
            jobs = {entry.name: entry for entry in existing.points}
        entries = tuple(PointEntry(name=p.name, run_dir=str(p.run_dir), argv=p.argv,
                                   executor=jobs[p.name].executor if p.name in jobs else None,
                                   job_id=jobs[p.name].job_id if p.name in jobs else None)
                        for p in grid.points(self.root))
        state = SweepFile(grid=grid, options=options, points=entries)
        self.save(state)
        return state

    def save(self, state: SweepFile) -> None:
        write_json_atomic(self.state, state.model_dump(mode="json"))  # makes the folder; an OSError is one line

    def with_job(self, state: SweepFile, name: str, executor: str, job_id: str) -> SweepFile:
        """The state with point ``name``'s last job replaced (saved at once: an interrupted sweep knows it)."""
        points = tuple(e.model_copy(update={"executor": executor, "job_id": job_id}) if e.name == name else e
                       for e in state.points)
        updated = state.model_copy(update={"points": points})
        self.save(updated)
        return updated
