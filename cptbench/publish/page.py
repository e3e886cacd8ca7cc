"""The leaderboard page's parts that need no ranking: the template (templates/leaderboard.html.j2
with leaderboard.css and leaderboard.js inlined), each entry's facts and heatmap, and what an
entry's description says. ``cptbench.publish.leaderboard.render_html`` assembles the page from
them, its ranking table and the trade-off plot (``cptbench.publish.tradeoff``)."""

from __future__ import annotations

import functools
import html
from importlib import resources

import jinja2
from markupsafe import Markup

from cptbench.core.matrix import Direction
from cptbench.core.records import matrix_from_record
from cptbench.publish.figures import gain_deltas
from cptbench.publish.format import ARROW, DASH, number, row_labels
from cptbench.publish.submissions import DEFAULT_METHOD, Entry, SubmissionHeader, record_method_label


def h(text: object) -> Markup:
    """``html.escape`` (``&quot;``, ``&#x27;``), not markupsafe's entities: the page's bytes stay as they were."""
    return Markup(html.escape(str(text), quote=True))


def asset(name: str) -> str:
    return resources.files("cptbench.publish").joinpath("templates", name).read_text(encoding="utf-8")


@functools.cache
def template() -> jinja2.Template:
    """Autoescaping is on as a safety net; every text goes through the ``h`` filter first."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cptbench.publish"), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    environment.filters["h"] = h
    return environment.get_template("leaderboard.html.j2")


def description_of(entry: Entry) -> str:
    """What the entry says it is: the submitter's ``--method`` text, or, where the header holds the
    default text (``DEFAULT_METHOD``, "naive sequential CPT", whatever the run did), the method
    label derived from the record (``naive + replay 25% (budget-neutral)``)."""
    text = entry.header.method
    return record_method_label(entry.submission) if text == DEFAULT_METHOD else text


def _colour(delta: float, limit: float) -> tuple[str, bool]:
    """Diverging colour of a gain vs the base row: blue = better, red = worse; (hex, dark?)."""
    x = max(-1.0, min(1.0, delta / limit)) if limit else 0.0
    target = (33, 102, 172) if x > 0 else (178, 24, 43)
    rgb = [round(255 + (c - 255) * abs(x)) for c in target]
    return "#{:02x}{:02x}{:02x}".format(*rgb), abs(x) > 0.6


def heatmap_view(entry: Entry) -> dict:
    """The entry's matrix; cell colour = gain vs the base model (one scale per metric family), own = own stage."""
    record = entry.submission
    deltas = gain_deltas(matrix_from_record(record))
    limits = {  # colour scale per metric family: bits-per-byte and accuracy do not share units
        t.metric: max(abs(row[j]) for row in deltas for j, u in enumerate(record.tasks) if u.metric == t.metric)
        for t in record.tasks
    }
    rows = []
    for t, label in enumerate(row_labels(record.stages)):
        cells = []
        for j, value in enumerate(record.matrix[t]):
            colour, dark = _colour(deltas[t][j], limits[record.tasks[j].metric])
            style = f"background:{colour}" + (";color:#fff" if dark else "")
            cells.append({"text": number(value, zero_sign=True), "style": style, "own": record.tasks[j].stage == t})
        rows.append({"label": label, "cells": cells})
    tasks = [{"name": t.name, "arrow": ARROW[Direction(t.direction)]} for t in record.tasks]
    return {"tasks": tasks, "rows": rows}


def entry_view(entry: Entry) -> dict:
    s, header = entry.submission, entry.header
    packages = s.environment.get("packages") if isinstance(s.environment.get("packages"), dict) else {}
    facts = [
        ("model", f"{entry.model} ({s.model.source}, {s.model.parameters:,} parameters)"),
        ("method", record_method_label(s)), ("description", description_of(entry)), ("submitter", header.submitter or DASH),
        ("submitted", header.submitted.isoformat()), ("verified", verified_fact(header)), ("budget", s.suite.budget),
        ("seed", s.seed), ("recipes", ", ".join(sorted(s.recipes))),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))),
    ]
    return {"id": entry.id, "facts": facts, "heatmap": heatmap_view(entry)}


def verified_fact(header: SubmissionHeader) -> str:
    v = header.verified
    if v is None:
        return "no: not re-evaluated (cptbench verify)"
    agree = f"{v.cells} cells and their items agree within {v.tolerance:g} (largest difference {v.max_difference:.2g})"
    if v.level == "reproduced":
        return (f"reproduced: every row ({', '.join(map(str, v.rows))}) trained and evaluated again from the record's "
                f"configuration by cptbench {v.cptbench_version} on {v.created[:10]}: {agree}")
    return (f"rows {', '.join(map(str, v.rows))} (base and final) re-evaluated by cptbench {v.cptbench_version} "
            f"on {v.created[:10]}: {agree}")
