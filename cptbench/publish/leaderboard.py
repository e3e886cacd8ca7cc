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
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cptbench.core import metrics
from cptbench.core.errors import ConfigError
from cptbench.core.records import load_verified_record, matrix_from_record
from cptbench.config.suites import Suite
from cptbench.publish.submissions import (
    DEFAULT_METHOD, Entry, Submission, SubmissionError, SubmissionHeader, check_name, check_record, check_text,
    load_entries, make_entry, record_method_label, submission_payload, waiting_lock, write_text_atomic,
)

BOARD_METRICS = ("final", "plasticity", "bwt", "fwt", "forgetting_max", "general_retention")
"""The ranked columns, by ``metrics.METRICS`` name, for ``PREFERRED_FAMILY`` (else the suite's first family)."""
PREFERRED_FAMILY = "bpb"
"""The family ranked when the suite has it: bits-per-byte does not depend on the tokenizer."""
DEFAULT_SORT = "final"
README, INDEX, SCHEMA = "README.md", "index.html", "submission.schema.json"


def default_root() -> Path:
    """The checkout's ``leaderboards/`` when cptbench runs from one, else ``./leaderboards``."""
    import cptbench

    checkout = Path(cptbench.__file__).resolve().parent.parent / "leaderboards"
    return checkout if checkout.is_dir() else Path("leaderboards")


# --- entries and ranking ---------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    suite: Suite
    family: str
    entries: tuple[Entry, ...]  # ranked
    sort: str

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


def make_board(suite: Suite, entries: list[Entry], sort: str | None = None) -> Board:
    """Rank ``entries`` best first by ``sort`` (direction from the METRICS table); undefined last; ties by id."""
    families = [task.column.metric for task in suite.tasks]
    family = PREFERRED_FAMILY if PREFERRED_FAMILY in families else families[0]
    key = resolve_sort(sort, family)
    higher = Board(suite, family, (), key).higher_is_better(key)

    def order(entry: Entry) -> tuple:
        value = entry.values[key].value
        return (value is None, 0.0 if value is None else (-value if higher else value), entry.id)

    return Board(suite, family, tuple(sorted(entries, key=order)), key)


def shipped_suite(suite_name: str) -> Suite:
    from cptbench.config.suites import available_suites, load_suite

    if suite_name not in available_suites():
        raise ConfigError(f"suite {suite_name!r}: not a shipped suite (shipped: {', '.join(available_suites())})")
    return load_suite(suite_name)


def load_board(root: Path, suite_name: str, sort: str | None = None) -> Board:
    suite = shipped_suite(suite_name)
    return make_board(suite, load_entries(Path(root) / suite.name, suite), sort)


def regenerate(root: Path, suite_name: str, sort: str | None = None, *, write: bool = True) -> tuple[Board, list[Path]]:
    """Validate and rank every submission (by ``sort``); sync the pages (default ranking) under the lock.

    Returns the board and the pages that were stale (rewritten unless ``write`` is false).
    """
    directory = Path(root) / shipped_suite(suite_name).name
    with waiting_lock(directory / ".lock") if write else contextlib.nullcontext():
        board = load_board(root, suite_name, sort)
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
    replace: bool = False, today: dt.date | None = None, lock_timeout: float = 60.0,
) -> SubmitResult:
    """Validate a run record and add it to its suite's leaderboard; regenerate the pages.

    Nothing is written unless every check passes. Concurrent submissions wait for each other.
    """
    name = _option("--name", check_name, name)
    header = SubmissionHeader(
        name=name, submitter=_option("--submitter", check_text, submitter),
        submitted=today or dt.datetime.now(dt.timezone.utc).date(),
        method=_option("--method", check_text, method) or DEFAULT_METHOD,
    )
    record_file = Path(record_path) / "record.json" if Path(record_path).is_dir() else Path(record_path)
    record = load_verified_record(record_file)
    suite = check_record(record, str(record_file))
    submission = Submission.model_validate(submission_payload(record, header))
    directory = Path(root) / suite.name
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
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if write:
                write_text_atomic(path, text)
    return stale


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:.4f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def arrow(board: Board, key: str) -> str:
    return "↑" if board.higher_is_better(key) else "↓"


def row_cells(board: Board, rank_index: int, entry: Entry) -> list[str]:
    """One ranked row as plain text: #, name, model, method, budget, metrics..., submitted."""
    head = [str(rank_index), entry.id, entry.model, record_method_label(entry.submission), entry.submission.suite.budget]
    return head + [fmt(entry.values[key].value) for key in board.columns] + [entry.header.submitted.isoformat()]


def header_cells(board: Board) -> list[str]:
    return ["#", "name", "model", "method", "budget", *(f"{k} {arrow(board, k)}" for k in board.columns), "submitted"]


def describe(board: Board) -> str:
    suite = board.suite
    general = ", ".join(t.name for t in suite.tasks if t.stage is None) or "none"
    return (
        f"Suite **{suite.name}** v{suite.version} (content hash `{suite.content_hash[:12]}`): "
        f"{' → '.join(s.name for s in suite.stages)}; general tasks: {general}. "
        f"Ranked by `{board.sort}` ({'higher' if board.higher_is_better(board.sort) else 'lower'} is better). "
        "Every entry is validated on submission and again whenever this page is generated: the suite's "
        "content hash, a complete and finite matrix, provenance (model, recipes, seed, versions, budget), "
        "and every metric recomputed from the matrix."
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(board: Board, page: bool = False) -> str:
    """The ranked table; with ``page=True`` the whole generated README.md."""
    header = header_cells(board)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, entry in enumerate(board.entries, start=1):
        lines.append("| " + " | ".join(_md(c) for c in row_cells(board, i, entry)) + " |")
    table = "\n".join(lines) + "\n" + ("" if board.entries else "\n_No submissions yet._\n")
    if not page:
        return table
    docs = "\n".join(
        f"- `{m.name}[{board.family}]` ({arrow(board, f'{m.name}[{board.family}]')}): {m.doc}"
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
            "rank": i, "id": e.id, "model": e.model, "method": record_method_label(e.submission), "description": e.header.method, "submitter": e.header.submitter,
            "budget": e.submission.suite.budget, "seed": e.submission.seed, "submitted": e.header.submitted.isoformat(),
            "metrics": {key: e.values[key].value for key in board.columns},
        }
        for i, e in enumerate(board.entries, start=1)
    ]
    payload = {"suite": board.suite.name, "suite_hash": board.suite.content_hash, "sort": board.sort, "entries": rows}
    return json.dumps(payload, indent=2) + "\n"


# --- the HTML page: self-contained (inline CSS and JS), deterministic byte for byte -----------

_CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:78em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
td.text,th.text{text-align:left}td,th{white-space:nowrap}div.scroll{overflow-x:auto}table.board th{background:#f3f3f3;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
table.heatmap td{font-variant-numeric:tabular-nums}td.own{font-weight:bold;outline:2px solid #222;outline-offset:-2px}
section.entry{border-top:1px solid #ddd;margin-top:1.5em}code{background:#f6f6f6;padding:0 .2em}"""

_JS = """(function(){"use strict";
function key(row,i,num){var c=row.cells[i];if(!num)return c.textContent.trim().toLowerCase();
var v=c.getAttribute("data-value");return v===null||v===""?null:parseFloat(v);}
document.querySelectorAll("table.board th[data-type]").forEach(function(th){th.tabIndex=0;
function sort(){var table=th.closest("table"),body=table.tBodies[0],i=th.cellIndex,num=th.getAttribute("data-type")==="num";
var now=th.getAttribute("aria-sort"),asc=now?now!=="ascending":th.getAttribute("data-higher")!=="1";
var rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){var x=key(a,i,num),y=key(b,i,num);
if(x===y)return 0;if(x===null)return 1;if(y===null)return -1;return(x<y?-1:1)*(asc?1:-1);});
table.querySelectorAll("th[aria-sort]").forEach(function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",asc?"ascending":"descending");rows.forEach(function(r){body.appendChild(r);});}
th.addEventListener("click",sort);th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort();}});});
})();"""


def _h(text: object) -> str:
    import html

    return html.escape(str(text), quote=True)


def _board_table(board: Board) -> str:
    kinds = ["num", "text", "text", "text", "text", *["num"] * len(board.columns), "text"]
    heads = []
    for label, kind, key in zip(header_cells(board), kinds, ["#", "", "", "", "", *board.columns, ""]):
        higher = f' data-higher="{int(board.higher_is_better(key))}"' if key in board.columns else ""
        current = ""
        if key == board.sort:
            current = f' aria-sort="{"descending" if board.higher_is_better(key) else "ascending"}"'
        heads.append(f'<th scope="col" data-type="{kind}"{higher}{current} class="{kind}">{_h(label)}</th>')
    rows = []
    for i, entry in enumerate(board.entries, start=1):
        cells = row_cells(board, i, entry)
        values = [i, None, None, None, None, *(entry.values[k].value for k in board.columns), None]
        tds = []
        for j, (text, value) in enumerate(zip(cells, values)):
            if value is not None:
                tds.append(f'<td data-value="{value!r}">{_h(text)}</td>')
            elif kinds[j] == "num":
                tds.append('<td data-value="">—</td>')
            else:
                inner = f'<a href="#entry-{_h(entry.id)}">{_h(text)}</a>' if j == 1 else _h(text)
                tds.append(f'<td class="text">{inner}</td>')
        rows.append(f'<tr id="row-{_h(entry.id)}">' + "".join(tds) + "</tr>")
    empty = "" if rows else "<p><em>No submissions yet.</em></p>\n"
    return (f'<div class="scroll"><table class="board" id="board"><thead><tr>{"".join(heads)}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>\n" + empty)


def _colour(delta: float, limit: float) -> tuple[str, bool]:
    """Diverging colour of a gain vs the base row: blue = better, red = worse; (hex, dark?)."""
    x = max(-1.0, min(1.0, delta / limit)) if limit else 0.0
    target = (33, 102, 172) if x > 0 else (178, 24, 43)
    rgb = [round(255 + (c - 255) * abs(x)) for c in target]
    return "#{:02x}{:02x}{:02x}".format(*rgb), abs(x) > 0.6


def _heatmap(entry: Entry) -> str:
    """The entry's matrix as an HTML table; cell colour = gain vs the base model, bold = own stage."""
    from cptbench.publish.report import gain_deltas, row_labels

    record = entry.submission
    deltas = gain_deltas(matrix_from_record(record))
    limits = {  # colour scale per metric family: bits-per-byte and accuracy do not share units
        t.metric: max(abs(row[j]) for row in deltas for j, u in enumerate(record.tasks) if u.metric == t.metric)
        for t in record.tasks
    }
    arrows = {"higher": "↑", "lower": "↓"}
    head = "".join(f'<th scope="col">{_h(t.name)} {arrows[t.direction]}</th>' for t in record.tasks)
    rows = []
    for t, label in enumerate(row_labels(record)):
        cells = []
        for j, value in enumerate(record.matrix[t]):
            colour, dark = _colour(deltas[t][j], limits[record.tasks[j].metric])
            own = ' class="own"' if record.tasks[j].stage == t else ""
            style = f"background:{colour}" + (";color:#fff" if dark else "")
            cells.append(f'<td{own} style="{style}">{value:.4f}</td>')
        rows.append(f'<tr><th scope="row" class="text">{_h(label)}</th>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="heatmap"><thead><tr><th class="text">after stage</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _entry_section(entry: Entry) -> str:
    s, h = entry.submission, entry.header
    packages = s.environment.get("packages") if isinstance(s.environment.get("packages"), dict) else {}
    facts = [
        ("model", f"{entry.model} ({s.model.source}, {s.model.parameters:,} parameters)"),
        ("method", record_method_label(s)), ("description", h.method), ("submitter", h.submitter or "—"), ("submitted", h.submitted.isoformat()),
        ("budget", s.suite.budget), ("seed", s.seed), ("recipes", ", ".join(sorted(s.recipes))),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))),
    ]
    items = "".join(f"<li><b>{_h(k)}</b>: {_h(v)}</li>" for k, v in facts)
    return (f'<section class="entry" id="entry-{_h(entry.id)}"><h3>{_h(entry.id)}</h3><ul>{items}</ul>\n'
            f"{_heatmap(entry)}</section>\n")


def render_html(board: Board) -> str:
    title = f"{board.suite.name} leaderboard — cptbench"
    intro = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", re.sub(r"`([^`]+)`", r"<code>\1</code>", _h(describe(board))))
    sections = "".join(_entry_section(e) for e in board.entries)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
        f"<title>{_h(title)}</title>\n<style>\n{_CSS}\n</style></head><body>\n"
        f"<!-- Generated by `cptbench leaderboard {_h(board.suite.name)}` from submissions/*.json: do not edit. -->\n"
        f"<h1>{_h(board.suite.name)} leaderboard</h1>\n<p>{intro}</p>\n"
        "<p>Click a column header to sort (again to reverse). Heatmaps: blue = better than the base model, "
        "red = worse; outlined = the stage's own task.</p>\n"
        f"{_board_table(board)}<h2>Entries</h2>\n{sections or '<p><em>None yet.</em></p>'}\n"
        f"<script>\n{_JS}\n</script>\n</body></html>\n"
    )
