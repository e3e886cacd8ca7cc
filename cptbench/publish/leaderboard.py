"""Leaderboards: submissions -> validation -> ranking -> markdown / HTML / JSON, from run records only.

    leaderboards/<suite>/
      submissions/<id>.json    one validated run record + submission header each (the only input)
      baselines/               regression-gate baselines (``cptbench baseline create``), reviewed by hand
      README.md, index.html    generated from submissions/ (deterministic: regenerating gives no diff)
      submission.schema.json   the JSON schema of a submission file (generated)
      .lock                    held (flock) while a submission is written and the pages regenerated

Every submission is validated when it is submitted *and* whenever the pages are generated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from cptbench.config.suites import Suite, available_suites, load_suite
from cptbench.core import metrics
from cptbench.core.constants import RECORD_NAME
from cptbench.core.errors import ConfigError
from cptbench.core.io import write_text_atomic
from cptbench.core.records import load_verified_record
from cptbench.core.uncertainty import Interval, Summary, ranks_with_ties, summarize
from cptbench.publish.compare import configuration
from cptbench.publish.format import DASH, arrow, markdown_table, plus_minus
from cptbench.publish.page import asset, description_of, entry_view, template
from cptbench.publish.report import HEADLINE_METRICS
from cptbench.publish.submissions import (
    Entry,
    Submission,
    SubmissionError,
    SubmissionHeader,
    board_folder,
    check_name,
    check_record,
    check_text,
    load_entries,
    make_entry,
    record_method_label,
    submission_payload,
    verification_of,
    waiting_lock,
)
from cptbench.publish.tradeoff import X_METRIC, Y_METRIC, Point, axis_titles, is_naive, point, ranked_family, short_name, tradeoff_svg

BOARD_METRICS = HEADLINE_METRICS
"""The ranked columns, by ``metrics.METRICS`` name, for the suite's ``board_family``."""
DEFAULT_SORT = "final"
README, INDEX, SCHEMA = "README.md", "index.html", "submission.schema.json"


def default_root() -> Path:
    """The checkout's ``leaderboards/`` when cptbench runs from one, else ``./leaderboards``."""
    checkout = Path(__file__).resolve().parents[2] / "leaderboards"
    return checkout if checkout.is_dir() else Path("leaderboards")


# --- entries and ranking ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One configuration on the board: its entries (one per seed), its rank and intervals."""

    entries: tuple[Entry, ...]  # by seed
    rank: int  # 1 + the number of rows significantly better on the ranked metric (ties share it)
    summary: Summary  # mean over seeds, its metrics, 95 % intervals over items (and seeds)

    @property
    def id(self) -> str:
        return ", ".join(e.id for e in self.entries)

    @property
    def first(self) -> Entry:
        return self.entries[0]

    def shown(self, key: str) -> str:
        return plus_minus(self.summary.estimates.get(key), self.summary.metrics.get(key))


@dataclass(frozen=True)
class Board:
    suite: Suite
    family: str
    rows: tuple[Row, ...]  # ranked
    sort: str

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(e for row in self.rows for e in row.entries)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f"{name}[{self.family}]" for name in BOARD_METRICS)

    def higher_is_better(self, key: str) -> bool:
        name, family = key[:-1].split("[")
        metric = next(m for m in metrics.METRICS if m.name == name)
        task = next(t for t in self.suite.tasks if t.column.metric == family)
        return metric.higher_is_better(task.column.direction)


def resolve_sort(sort: str | None, family: str) -> str:
    key = sort or DEFAULT_SORT
    key = key if "[" in key else f"{key}[{family}]"
    known = [f"{m.name}[{family}]" for m in metrics.METRICS]
    if key not in known:
        raise ConfigError(f"--sort {sort}: not a metric (choose from {', '.join(known)})")
    return key


def board_family(suite: Suite) -> str:
    """The ranked family (``tradeoff.ranked_family``): the first of ``tradeoff.PREFERRED_FAMILIES``
    (bpb, logprob) that a stage's own task measures (so that final, plasticity and forgetting are
    defined), else the first aligned task's."""
    return ranked_family([t.column.metric for t in suite.tasks if t.stage is not None], [t.column.metric for t in suite.tasks])


def make_board(suite: Suite, entries: list[Entry], sort: str | None = None) -> Board:
    """Group ``entries`` by configuration (their seeds form one row) and rank the rows by ``sort``
    with ties: rank = 1 + the rows significantly better (paired bootstrap); within a rank, best
    estimate first, undefined last, then by id."""
    family = board_family(suite)
    key = resolve_sort(sort, family)
    higher = Board(suite, family, (), key).higher_is_better(key)
    groups = _seed_groups(entries)
    records = [[e.submission for e in group] for group in groups]
    ranks = ranks_with_ties(records, key, higher) if records else []
    rows = [Row(tuple(group), rank, summarize(runs)) for group, rank, runs in zip(groups, ranks, records)]

    def order(row: Row) -> tuple:
        value = row.summary.estimates[key]
        return (row.rank, value is None, 0.0 if value is None else (-value if higher else value), row.id)

    return Board(suite, family, tuple(sorted(rows, key=order)), key)


def _seed_groups(entries: list[Entry]) -> list[list[Entry]]:
    """Entries of one configuration with different seeds share a group; a seed submitted twice
    (a resubmission under another name) starts a group of its own."""
    groups: list[list[Entry]] = []
    for entry in sorted(entries, key=lambda e: (e.submission.seed, e.id)):
        config, seed = configuration(entry.submission), entry.submission.seed
        home = next((g for g in groups if configuration(g[0].submission) == config
                     and seed not in {e.submission.seed for e in g}), None)
        if home is None:
            groups.append([entry])
        else:
            home.append(entry)
    return groups


def board_suite(suite_name: str) -> Suite:
    """A shipped suite by name, or a suite file of one's own (``*.yaml``)."""
    if Path(suite_name).suffix in {".yaml", ".yml"}:
        return load_suite(suite_name)
    if suite_name not in available_suites():
        raise ConfigError(f"suite {suite_name!r}: not a shipped suite (shipped: {', '.join(available_suites())}); "
                          f"for a suite of your own give its YAML file")
    return load_suite(suite_name)


def load_board(root: Path, suite_name: str, sort: str | None = None) -> Board:
    return _board(Path(root), board_suite(suite_name), sort)


def _board(root: Path, suite: Suite, sort: str | None) -> Board:
    return make_board(suite, load_entries(root / board_folder(suite), suite), sort)


def regenerate(root: Path, suite_name: str, sort: str | None = None, *, write: bool = True) -> tuple[Board, list[Path]]:
    """Validate and rank every submission (by ``sort``); sync the pages (default ranking) under the lock.

    Returns the board and the pages that were stale (rewritten unless ``write`` is false).
    """
    suite = board_suite(suite_name)
    resolve_sort(sort, board_family(suite))  # a bad --sort before the lock: nothing written
    directory = Path(root) / board_folder(suite)
    with waiting_lock(directory / ".lock") if write else contextlib.nullcontext():
        board = _board(Path(root), suite, sort)
        return board, sync_pages(directory, make_board(board.suite, list(board.entries)), write=write)


# --- submitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    path: Path
    replaced: bool
    pages: tuple[Path, ...]


def _option(flag: str, check, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as exc:
        raise SubmissionError(f"{flag}: {exc}") from None


def submit(
    record_path: Path, name: str, *, root: Path, submitter: str | None = None, method: str | None = None,
    replace: bool = False, today: dt.date | None = None, lock_timeout: float = 60.0, suite_file: Path | None = None,
) -> SubmitResult:
    """Validate a run record and add it to its suite's leaderboard; regenerate the pages.

    ``suite_file``: the suite of a record whose suite is not shipped (its board is
    ``<root>/<name>-<hash12>``). Nothing is written unless every check passes. Concurrent
    submissions wait for each other.
    """
    name = _option("--name", check_name, name)
    header = SubmissionHeader(
        name=name, submitter=_option("--submitter", check_text, submitter),
        submitted=today or dt.datetime.now(dt.timezone.utc).date(),
    )
    described = _option("--method", check_text, method)
    record_file = Path(record_path) / RECORD_NAME if Path(record_path).is_dir() else Path(record_path)
    record = load_verified_record(record_file)
    suite = check_record(record, str(record_file), load_suite(str(suite_file)) if suite_file else None)
    header = header.model_copy(update={"verified": verification_of(record_file, record),
                                       "method": described or record_method_label(record)})  # says what it is
    submission = Submission.model_validate(submission_payload(record, header))
    directory = Path(root) / board_folder(suite)
    with waiting_lock(directory / ".lock", lock_timeout):
        entries = load_entries(directory, suite)
        clash = [e for e in entries if e.id.lower() == name.lower()]
        if clash and not replace:
            raise SubmissionError(f"--name {name}: a submission with this id exists ({clash[0].id}.json); pass --replace")
        path = directory / "submissions" / f"{name}.json"
        write_text_atomic(path, json.dumps(submission_payload(record, header), indent=2, allow_nan=False) + "\n")
        for old in clash:
            if old.id != name:  # the same id in another case
                (directory / "submissions" / f"{old.id}.json").unlink()
        kept = [e for e in entries if e not in clash] + [make_entry(submission)]
        sync_pages(directory, make_board(suite, kept))
    return SubmitResult(path, bool(clash), tuple(directory / page for page in (README, INDEX, SCHEMA)))


# --- pages -----------------------------------------------------------------------------------


def pages(board: Board) -> dict[str, str]:
    """The generated files of a board (default ranking), by file name."""
    schema = json.dumps(Submission.model_json_schema(), indent=2, sort_keys=True) + "\n"
    return {README: render_markdown(board, page=True), INDEX: render_html(board), SCHEMA: schema}


def sync_pages(directory: Path, board: Board, *, write: bool = True) -> list[Path]:
    """The pages that are missing or differ from what ``board`` generates; rewritten (atomically) if ``write``."""
    stale = []
    for name, text in pages(board).items():
        path = directory / name
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):  # a page edited into non-UTF-8 is stale too
            stale.append(path)
            if write:
                write_text_atomic(path, text)
    return stale


def row_cells(board: Board, row: Row) -> list[str]:
    """One ranked row as plain text: rank, name, model, method, budget, seeds, metrics (± half the
    95 % interval)..., submitted, verified."""
    first = row.first
    seeds = ", ".join(str(e.submission.seed) for e in row.entries)
    head = [str(row.rank), row.id, first.model, record_method_label(first.submission), first.submission.suite.budget, seeds]
    submitted = max(e.header.submitted for e in row.entries).isoformat()
    return head + [row.shown(key) for key in board.columns] + [submitted, verified_cell([e.header for e in row.entries])]


def verified_text(header: SubmissionHeader) -> str:
    """The entry's level and the cptbench that reached it: ``verified`` (``cptbench verify``: base
    and final rows re-evaluated), ``reproduced`` (``verify --reproduce``: every row trained again), or a dash."""
    return f"{header.verified.level} (cptbench {header.verified.cptbench_version})" if header.verified else DASH


def verified_cell(headers: list[SubmissionHeader]) -> str:
    """A row's seeds: their common text, else how many reached each level (``1 of 2 reproduced``)."""
    texts = [verified_text(h) for h in headers]
    if len(set(texts)) == 1:
        return texts[0]
    levels = [h.verified.level for h in headers if h.verified]
    return ", ".join(f"{levels.count(level)} of {len(headers)} {level}" for level in ("reproduced", "verified") if level in levels)


def header_cells(board: Board) -> list[str]:
    metric_heads = [f"{key} {arrow(board.higher_is_better(key))}" for key in board.columns]
    return ["rank", "name", "model", "method", "budget", "seeds", *metric_heads, "submitted", "verified"]


def describe(board: Board) -> str:
    suite = board.suite
    general = ", ".join(t.name for t in suite.tasks if t.stage is None) or "none"
    return (
        f"Suite **{suite.name}** v{suite.version} (content hash `{suite.content_hash[:12]}`): "
        f"{' → '.join(s.name for s in suite.stages)}; general tasks: {general}. "
        f"Ranked by `{board.sort}` ({'higher' if board.higher_is_better(board.sort) else 'lower'} is better). "
        "Every entry is validated on submission and again whenever this page is generated: the suite's "
        "content hash, a complete and finite matrix, provenance (model, recipes, seed, versions, budget), "
        "every metric recomputed from the matrix, every cell recomputed from its per-document details, "
        "document, item and token counts against the budget, the pinned hash of every data file, and "
        "the model's name against its size. Entries marked verified had their base and final rows evaluated "
        "again by `cptbench verify`; entries marked reproduced were trained and evaluated again, every row, "
        "by `cptbench verify --reproduce`. "
        "Runs of one configuration over several seeds form one row (their mean). ± is half the 95 % interval "
        "(paired bootstrap over the documents and items every row scores, and over the seeds). Rank = 1 + the "
        "number of rows significantly better on the ranked metric (the paired interval of their difference "
        "excludes 0; narrower than the ± of each row, because the rows score the same documents): "
        "rows that share a rank are not distinguishable. A row of one seed has intervals over documents and "
        "items only, not over training seeds: read its rank with that in mind."
    )


def _md(text: str) -> str:
    """Free text in a markdown cell: no HTML tags (``markdown_table`` escapes ``|``)."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(board: Board, page: bool = False) -> str:
    """The ranked table; with ``page=True`` the whole generated README.md."""
    rows = [[_md(c) for c in row_cells(board, row)] for row in board.rows]
    table = markdown_table(header_cells(board), rows) + ("" if board.rows else "\n_No submissions yet._\n")
    if not page:
        return table
    docs = "\n".join(
        f"- `{m.name}[{board.family}]` ({arrow(board.higher_is_better(f'{m.name}[{board.family}]'))}): {m.doc}"
        for m in metrics.METRICS if m.name in BOARD_METRICS
    )
    return (
        f"# {board.suite.name} leaderboard\n\n"
        f"<!-- Generated by `cptbench leaderboard {board.suite.name}` from submissions/*.json: do not edit. -->\n\n"
        f"{describe(board)}\n\n{table}\n## Columns\n\n{docs}\n\n"
        "The sortable page with a heatmap of every entry's matrix is `index.html` (self-contained).\n\n"
        f"## Submitting\n\n```console\n$ cptbench submit RUN_DIR --name NAME --submitter \"Your Name\"\n```\n\n"
        "validates the run record and regenerates this page; commit both. See `docs/leaderboard.md`.\n"
    )


def render_json(board: Board) -> str:
    rows = [
        {
            "rank": row.rank, "ids": [e.id for e in row.entries], "model": row.first.model,
            "method": record_method_label(row.first.submission), "description": description_of(row.first),
            "submitter": row.first.header.submitter, "budget": row.first.submission.suite.budget,
            "seeds": [e.submission.seed for e in row.entries],
            "submitted": max(e.header.submitted for e in row.entries).isoformat(),
            "verified": [None if e.header.verified is None else e.header.verified.model_dump(mode="json") for e in row.entries],
            "metrics": {key: _interval_json(row.summary.estimates[key], row.summary.metrics.get(key)) for key in board.columns},
        }
        for row in board.rows
    ]
    payload = {"suite": board.suite.name, "suite_hash": board.suite.content_hash, "sort": board.sort, "rows": rows}
    return json.dumps(payload, indent=2) + "\n"


def _interval_json(value: float | None, interval: Interval | None) -> dict[str, float | None]:
    return {"value": value, "low": interval and interval.low, "high": interval and interval.high}


# --- the HTML page: templates/leaderboard.html.j2 (cptbench.publish.page), self-contained, deterministic byte for byte

MANY_ROWS = 8
"""From this many rows on, the trade-off plot comes before the ranking table (above it on a narrow screen)."""


def _intro(board: Board) -> Markup:
    """``describe`` as HTML: `code` and **bold** kept."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(describe(board), quote=True))
    return Markup(re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text))


def visible_columns(board: Board) -> tuple[str, ...]:
    """The metrics the page's table shows: the ranked one and forgetting (max); the others are in each row's details."""
    return tuple(dict.fromkeys((board.sort, f"{Y_METRIC}[{board.family}]")))


def _head(label: str, kind: str, higher: bool | None = None, sort: str | None = None) -> dict:
    name, bracket, rest = label.partition("[")  # a line may break before the family: forgetting_max / [bpb] ↓
    return {"name": name, "rest": bracket + rest, "kind": kind, "higher": None if higher is None else int(higher), "sort": sort}


def _board_view(board: Board) -> tuple[list[dict], list[dict]]:
    """The page's table: rank, name (the row id, cut to its column's width, whole on hover) and the
    visible metrics (each cell with its sort value, ``""``: none); under each row a line that opens
    its details: method, description, the other metrics, submitter..."""
    keys = visible_columns(board)
    heads = [_head("rank", "num"), _head("name", "text")]
    for key in keys:
        higher = board.higher_is_better(key)
        sort = None if key != board.sort else ("descending" if higher else "ascending")
        heads.append(_head(f"{key} {arrow(higher)}", "num", higher, sort))
    labels, rows = header_cells(board), []
    for row in board.rows:
        cells = dict(zip(labels, row_cells(board, row)))
        shown = {key: cells[f"{key} {arrow(board.higher_is_better(key))}"] for key in board.columns}
        description = " / ".join(dict.fromkeys(description_of(e) for e in row.entries))
        details = [
            ("model", cells["model"]), ("method", cells["method"]), ("description", description),
            ("budget", cells["budget"]), ("seeds", cells["seeds"]),
            *((f"{key} {arrow(board.higher_is_better(key))}", shown[key]) for key in board.columns if key not in keys),
            ("submitter", ", ".join(dict.fromkeys(e.header.submitter or DASH for e in row.entries))),
            ("submitted", cells["submitted"]), ("verified", cells["verified"]),
        ]
        summary = cells["method"] + ("" if description == cells["method"] else f" — {description}")
        metric_cells = [{"text": shown[key], "value": _sort_value(row.summary.estimates[key])} for key in keys]
        rows.append({"id": row.first.id, "name": row.id, "rank": row.rank, "metrics": metric_cells,
                     "summary": f"{summary} · {cells['model']} · seeds {cells['seeds']}", "details": details})
    return heads, rows


def _sort_value(value: float | None) -> str:
    return "" if value is None else repr(value)


def board_points(board: Board) -> list[Point]:
    """One point of the plasticity–forgetting plane per row: its seeds' mean and intervals, a short name."""
    return [point(short_name([e.id for e in row.entries]), row.id, row.summary, board.family, is_naive(row.first.submission))
            for row in board.rows]


def _plot_note(board: Board, points: list[Point]) -> str:
    x_title, y_title = axis_titles(board.family)
    undrawn = [p.name for p in points if not p.drawn]
    return (f"x = {x_title}, y = {y_title}: one point per row (its seeds' mean) with its 95 % intervals on both axes; "
            "orange square: naive; the best corner is the bottom right. Hover a point for its name and values."
            + (f" Not drawn ({X_METRIC} or {Y_METRIC} undefined): {', '.join(undrawn)}." if undrawn else ""))


def render_html(board: Board) -> str:
    """The self-contained page (CSS, JavaScript and the trade-off plot's SVG inlined) of a board."""
    heads, rows = _board_view(board)
    points = board_points(board)
    return template().render(
        suite=board.suite.name, intro=_intro(board), heads=heads, rows=rows,
        plot=Markup(tradeoff_svg(points, board.family)), plot_note=_plot_note(board, points),
        plot_first=len(board.rows) >= MANY_ROWS, entries=[entry_view(e) for e in board.entries],
        css=Markup(asset("leaderboard.css")), js=Markup(asset("leaderboard.js")),
    )
