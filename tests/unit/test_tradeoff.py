"""The plasticity–forgetting plane: the ranked family, short names, ticks, the inline SVG of the
leaderboard page and the PNG of ``cptbench report A B``, on the committed facts records (three
seeds each of naive and replay 25 %): no training."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.records import load_verified_record
from cptbench.core.uncertainty import Interval, summarize
from cptbench.publish import compare, figures, tradeoff

REPO = Path(__file__).resolve().parents[2]
FACTS = REPO / "leaderboards" / "facts" / "submissions"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, list[Path]]:
    """The committed facts submissions as run directories (the header left out): naive and replay, seeds 0-2."""
    root = tmp_path_factory.mktemp("facts")
    found: dict[str, list[Path]] = {}
    for path in sorted(FACTS.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw.pop("submission")
        (root / path.stem).mkdir()
        (root / path.stem / "record.json").write_text(json.dumps(raw), encoding="utf-8")
        found.setdefault(path.stem.rsplit("-", 1)[0], []).append(root / path.stem)
    return found


@pytest.fixture(scope="module")
def groups(runs):
    return [[load_verified_record(p) for p in runs[name]] for name in ("facts-naive", "facts-replay")]


def point_at(x, y, name="a", naive=False, x_interval=None, y_interval=None) -> tradeoff.Point:
    return tradeoff.Point(name, name, x, y, x_interval, y_interval, naive)


@pytest.mark.parametrize(("aligned", "every", "expected"), [
    (["logprob", "accuracy"], ["logprob", "accuracy", "bpb"], "logprob"),  # facts: the stages' own tasks measure log-prob
    (["bpb", "accuracy"], ["bpb", "accuracy"], "bpb"),  # crossdomain
    (["accuracy"], ["accuracy", "bpb"], "accuracy"),  # none preferred among the aligned: the first aligned
    ([], ["explanation", "bpb"], "bpb"),  # no aligned task: among every task
])
def test_ranked_family(aligned, every, expected):
    assert tradeoff.ranked_family(aligned, every) == expected


def test_the_plane_uses_the_ranked_family_of_the_record(groups):
    assert tradeoff.record_family(groups[0][0]) == "logprob"
    x_title, y_title = tradeoff.axis_titles("logprob")
    assert x_title == "plasticity[logprob] (higher is better)"
    assert y_title == "forgetting_max[logprob] (lower is better)"


@pytest.mark.parametrize(("ids", "expected"), [
    (["facts-naive-s0", "facts-naive-s1", "facts-naive-s2"], "facts-naive"),
    (["smollm2-135m-example-trainer-s0"], "smollm2-135m-example-trainer"),
    (["run_seed3"], "run"),
    (["alpha"], "alpha"),
    (["ab-1", "cd-2"], "ab-1 +1"),  # no common prefix worth a name
    (["x" * 40], "x" * 27 + "…"),
])
def test_short_name(ids, expected):
    assert tradeoff.short_name(ids) == expected


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (-0.0093, 0.0071), (2.1, 7.3), (5.4, 5.6), (-120.0, 30.0)])
def test_ticks_are_round_and_inside(low, high):
    values, decimals = tradeoff.ticks(low, high)
    assert 2 <= len(values) <= 11
    assert all(low <= v <= high for v in values)
    texts = [tradeoff.tick_text(v, decimals) for v in values]
    assert len(set(texts)) == len(texts)  # enough decimals to tell them apart
    assert not any(t.startswith("−0") and float(t.replace("−", "-")) == 0 for t in texts)


def test_svg_one_point_per_drawn_configuration_naive_marked_with_bars():
    bars = Interval(0.5, 0.4, 0.6, 0.05)
    points = [
        point_at(0.5, 0.2, "naive <b>&", naive=True, x_interval=bars, y_interval=Interval(0.2, 0.1, 0.3, 0.05)),
        point_at(0.4, 0.1, "replay"),
        point_at(0.3, None, "joint"),  # forgetting undefined: not drawn
    ]
    svg = tradeoff.tradeoff_svg(points, "bpb")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="tradeoff"') and svg.endswith("</svg>")
    assert svg.count('<g class="point') == 2 and svg.count('<g class="point naive"') == 1
    assert "naive &lt;b&gt;&amp;" in svg and "<b>" not in svg  # names are escaped
    assert "joint" not in svg
    naive = svg[svg.index('<g class="point naive"'):].split("</g>")[0]
    assert naive.count("<line") == 3  # the leader and both interval bars
    replay = svg[svg.index('data-name="replay"'):].split("</g>")[0]
    assert replay.count("<line") == 1  # no interval: the leader only
    assert "plasticity[bpb] (higher is better)" in svg and "forgetting_max[bpb] (lower is better)" in svg
    assert tradeoff.tradeoff_svg(points, "bpb") == svg  # deterministic
    assert tradeoff.tradeoff_svg([points[2]], "bpb") == ""  # nothing to draw


def test_svg_labels_never_overlap_and_stay_inside():
    points = [point_at(0.1 * k, 0.001 * (k % 2), f"p{k}") for k in range(12)]  # many points on two heights
    svg = tradeoff.tradeoff_svg(points, "bpb")
    height = float(re.search(r'height="(\d+)"', svg).group(1))
    label_ys = sorted(float(y) for y in re.findall(r'<text x="\d+" y="([\d.]+)" fill=', svg))
    assert len(label_ys) == 12
    assert all(b - a >= tradeoff.LINE - 0.11 for a, b in zip(label_ys, label_ys[1:]))
    assert label_ys[-1] < height - 20  # above the legend


def test_points_carry_the_summary_intervals(groups):
    summary = summarize(groups[1])
    p = tradeoff.point("replay", "facts-replay", summary, "logprob", naive=False)
    assert p.x == summary.estimates["plasticity[logprob]"] and p.y == summary.estimates["forgetting_max[logprob]"]
    assert p.x_interval == summary.metrics["plasticity[logprob]"] and p.y_interval == summary.metrics["forgetting_max[logprob]"]
    assert p.drawn and p.y_interval.low < p.y < p.y_interval.high


def test_write_tradeoff_png(groups, tmp_path):
    family, points = compare.tradeoff_points(groups)
    path = figures.write_tradeoff(points, family, tmp_path / "plots" / "tradeoff.png", "facts")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in path.parent.iterdir()) == ["tradeoff.png"]  # no temp file left


def test_png_labels_never_overlap_and_stay_in_the_figure():
    """Eight configurations, several on one spot (as merge sits on naive): the labels, drawn in a
    column at the right, do not overlap each other or the plot, and none is cut off."""
    points = [point_at(0.5 + 0.01 * (k % 3), 0.2 + 0.001 * k, f"{chr(65 + k)}: a configuration with a long name", naive=k == 0)
              for k in range(8)]
    fig = figures.tradeoff_figure(points, "logprob", "eight points")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axis = fig.axes[0]
    from matplotlib.text import Text

    # the text's own box: an annotation's get_window_extent includes its leader line
    labels = [Text.get_window_extent(t, renderer) for t in axis.texts if t.get_text().startswith(tuple("ABCDEFGH"))]
    assert len(labels) == 8
    assert not any(a.overlaps(b) for i, a in enumerate(labels) for b in labels[i + 1:])
    plot, page = axis.get_window_extent(renderer), fig.bbox
    assert all(box.x0 > plot.x1 and box.x1 <= page.x1 and 0 <= box.y0 and box.y1 <= page.y1 for box in labels)


def test_only_plain_naive_is_marked_as_the_reference(groups):
    """Replay is a method of its own; a naive run with LoRA or another schedule changes the recipe,
    so it is a configuration to compare, not the reference."""
    naive, replay = groups[0][0], groups[1][0]

    def with_recipe(**change):
        return naive.model_copy(update={"recipes": {k: {**v, **change} for k, v in naive.recipes.items()}})

    lora, wsd = with_recipe(lora={"r": 16, "alpha": 32, "dropout": 0.0}), with_recipe(lr_scheduler_type="warmup_stable_decay")
    assert [tradeoff.is_naive(r) for r in (naive, replay, lora, wsd)] == [True, False, False, False]


def test_comparison_writes_the_plane_and_references_it(groups, tmp_path):
    text, written = compare.write_comparison(groups, tmp_path)
    assert set(written) == {"markdown", "tradeoff"}
    assert written["tradeoff"] == tmp_path / "tradeoff.png" and written["tradeoff"].read_bytes()[:8] == PNG_SIGNATURE
    assert written["markdown"].read_text(encoding="utf-8") == text
    assert "![plasticity against forgetting_max, one point per side](tradeoff.png)" in text
    # facts measures accuracy, log-prob and Reuters bpb: no row for a metric undefined on both sides
    assert "| plasticity[logprob] |" in text and "| final_general[bpb] |" in text
    assert "| plasticity[bpb] |" not in text and "| final_general[accuracy] |" not in text
    table = text[text.index("| side |"):].splitlines()
    assert table[0] == "| side | plasticity[logprob] [95 %] | forgetting_max[logprob] [95 %] | naive |"
    assert table[2].startswith("| A | 6.9852 [") and table[2].endswith("| yes |")  # naive, seeds 0-2
    assert table[3].startswith("| B | 6.3086 [") and "| 2.8289 [" in table[3] and table[3].endswith("|  |")


def test_report_command_compares_and_draws(runs, tmp_path):
    sides = [",".join(map(str, runs[name])) for name in ("facts-naive", "facts-replay")]
    result = CliRunner().invoke(app, ["report", *sides, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "## Plasticity–forgetting trade-off" in result.output
    assert f"wrote {tmp_path / 'out' / 'tradeoff.png'}" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["compare.md", "tradeoff.png"]


def test_comparison_names_a_side_it_cannot_draw():
    points = [point_at(0.5, 0.2, "A: naive", naive=True), point_at(0.3, None, "B: joint")]  # joint: no forgetting
    text = compare.tradeoff_markdown(points, "bpb", "tradeoff.png")
    assert "| A | 0.5000 | 0.2000 | yes |" in text and "| B | 0.3000 | — |  |" in text
    assert "Not drawn: B (plasticity or forgetting_max undefined" in text
    assert "![" not in compare.tradeoff_markdown(points[1:], "bpb", None)  # nothing drawn: no picture to show
