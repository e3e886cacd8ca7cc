"""Runs side by side: every metric, and each later side's delta against the first (A), with the
delta's 95 % interval and whether it is distinguishable from noise; and the sides on the
plasticity–forgetting plane (``tradeoff.png``). A side is one run, or the runs of one configuration
over several seeds (averaged, resampled over seeds too)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cptbench.core import metrics
from cptbench.core.errors import ConfigError
from cptbench.core.io import write_text_atomic
from cptbench.core.records import RunRecord
from cptbench.core.uncertainty import Delta, compare, mean_matrix, summarize
from cptbench.publish.figures import write_tradeoff
from cptbench.publish.format import DASH, markdown_table, number, spanned
from cptbench.publish.tradeoff import X_METRIC, Y_METRIC, Point, axis_titles, is_naive, point, record_family
from cptbench.run.plan import method_label

COMPARISON_MD, TRADEOFF_PNG = "compare.md", "tradeoff.png"

NOT_DISTINGUISHABLE = "not distinguishable"


def configuration(record: RunRecord) -> tuple:
    """What must agree between the seeds of one configuration: everything that is not the seed."""
    return (record.suite.name, record.suite.hash, record.suite.budget, record.model.reference,
            method_label(record.method, record.recipes), repr(sorted(record.recipes.items())),
            record.trainer.declared if record.trainer else None)


def check_seed_group(group: Sequence[RunRecord], where: str) -> None:
    """The runs of one side are one configuration, each seed once."""
    first = group[0]
    for record in group[1:]:
        if configuration(record) != configuration(first):
            raise ConfigError(f"{where}: seed {record.seed} is not the same configuration as seed {first.seed} "
                              "(suite, budget, model, method and recipes must agree)")
    seeds = [r.seed for r in group]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: seed {next(s for s in seeds if seeds.count(s) > 1)} appears twice")


def group_label(group: Sequence[RunRecord]) -> str:
    first = group[0]
    seeds = ",".join(f"s{r.seed}" for r in group)
    return (f"{first.model.reference} {seeds} ({first.suite.name} {first.suite.budget}, "
            f"{method_label(first.method, first.recipes)})")


def verdict(delta: Delta, value: float | None) -> str:
    """better / worse (direction-aware) when the interval excludes 0, else not distinguishable."""
    if value is None:
        return DASH
    if delta.interval is None:
        return "same" if value == 0 else "no interval"
    if not delta.distinguishable:
        return NOT_DISTINGUISHABLE
    return "better" if (value > 0) == delta.higher_is_better else "worse"


def side_names(count: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(count)]


def compare_markdown(*groups: Sequence[RunRecord]) -> str:
    """Every metric some side defines, one column per side (seed means), and each later side's
    delta against A with its paired 95 % interval and verdict."""
    names = side_names(len(groups))
    means = [mean_matrix(g) for g in groups]
    values = [metrics.as_dict(metrics.compute_all(m)) for m in means]
    same_items = all(configuration(g[0])[:3] == configuration(groups[0][0])[:3] for g in groups)
    comparisons = [compare(groups[0], g) if same_items else None for g in groups[1:]]
    header = ["metric", *names, *(f"{n} − A [95 % interval]" for n in names[1:]), *(f"{n} is" for n in names[1:])]
    rows = []
    for key in values[0]:
        if all(v.get(key) is None for v in values):  # a family no side measures, e.g. bpb on facts
            continue
        deltas = [None if values[0][key] is None or v.get(key) is None else v[key] - values[0][key] for v in values[1:]]
        found = [c.metrics[key] if c else Delta(None, True) for c in comparisons]
        rows.append([
            key, *(number(v.get(key), zero_sign=True) for v in values),
            *(spanned(d, f.interval, signed=True) for d, f in zip(deltas, found)),
            *(verdict(f, d) for f, d in zip(found, deltas)),
        ])
    lines = [f"- **{n}**: {group_label(g)}" for n, g in zip(names, groups)]
    text = "\n".join([*lines, "", markdown_table(header, rows)])
    other = [n for n, g in zip(names, groups) if g[0].stages != groups[0][0].stages]
    if other:  # joint trains one stage: the metrics of a sequence (bwt, forgetting) are undefined there
        text += (f"\nStages: {', '.join(other)} ran other stages than A ({' → '.join(groups[0][0].stages)}); "
                 "compared on the metrics both define (—: undefined on a side).\n")
    if same_items:
        text += ("\nIntervals: paired bootstrap over the items both sides scored"
                 f"{' and over seeds' if any(len(g) > 1 for g in groups) else ''} (1,000 resamples). "
                 f"`{NOT_DISTINGUISHABLE}`: the interval includes 0.\n")
        if any(len(g) == 1 for g in groups):
            text += ("One seed on a side: its intervals cover evaluation noise only, not training noise "
                     "(two seeds of one configuration can differ beyond them); compare methods with "
                     "several seeds per side (`A_s0,A_s1,A_s2 B_s0,B_s1,B_s2`).\n")
    else:
        text += "\nNote: the runs differ in suite version or budget, so no interval: compare with care.\n"
    return text


def tradeoff_points(groups: Sequence[Sequence[RunRecord]]) -> tuple[str, list[Point]]:
    """A's ranked family (``tradeoff.record_family``) and one point per side: its seeds' mean, with
    the 95 % intervals of ``summarize`` (over items, and over seeds), labelled by letter and method."""
    family = record_family(groups[0][0])
    points = []
    for name, group in zip(side_names(len(groups)), groups):
        label = f"{name}: {method_label(group[0].method, group[0].recipes)}"
        label = label if len(label) <= 32 else label[:31] + "…"
        points.append(point(label, group_label(group), summarize(group), family, is_naive(group[0])))
    return family, points


def tradeoff_markdown(points: Sequence[Point], family: str, image: str | None) -> str:
    """The trade-off section of a comparison: the picture (``image``, None: nothing drawable) and its numbers."""
    x_title, y_title = axis_titles(family)
    names = side_names(len(points))
    rows = [[n, spanned(p.x, p.x_interval), spanned(p.y, p.y_interval), "yes" if p.naive else ""] for n, p in zip(names, points)]
    lines = ["## Plasticity–forgetting trade-off", ""]
    if image is not None:
        lines += [f"![{X_METRIC} against {Y_METRIC}, one point per side]({image})", ""]
    lines += [f"x = {x_title}, y = {y_title}: one point per side (its seeds' mean) with its 95 % interval on both "
              "axes; the best corner is the bottom right (learns the most, forgets the least). Orange square: naive.", ""]
    text = "\n".join(lines) + "\n" + markdown_table(["side", f"{X_METRIC}[{family}] [95 %]", f"{Y_METRIC}[{family}] [95 %]", "naive"], rows)
    undrawn = [n for n, p in zip(names, points) if not p.drawn]
    if undrawn:
        text += f"\nNot drawn: {', '.join(undrawn)} ({X_METRIC} or {Y_METRIC} undefined, e.g. a single stage).\n"
    return text


def write_comparison(groups: Sequence[Sequence[RunRecord]], out_dir: Path) -> tuple[str, dict[str, Path]]:
    """The comparison (``compare_markdown`` and the trade-off section) written as ``compare.md``
    beside ``tradeoff.png`` in ``out_dir``; returns the markdown and the paths written."""
    family, points = tradeoff_points(groups)
    written: dict[str, Path] = {}
    if any(p.drawn for p in points):
        suite = groups[0][0].suite
        title = f"{suite.name} v{suite.version}, budget {suite.budget}: plasticity vs forgetting ({family})"
        written["tradeoff"] = write_tradeoff(points, family, Path(out_dir) / TRADEOFF_PNG, title)
    text = compare_markdown(*groups) + "\n" + tradeoff_markdown(points, family, TRADEOFF_PNG if written else None)
    write_text_atomic(Path(out_dir) / COMPARISON_MD, text, mode=None)
    return text, {"markdown": Path(out_dir) / COMPARISON_MD, **written}
