"""Leaderboard submissions: every bad record or name is refused (exit 2, one line, nothing written);
concurrent submissions both land; the generated pages are deterministic and match what is committed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_dir, tiny_model_path) -> Path:
    out = tmp_path_factory.mktemp("smoke") / "run"
    result = CliRunner().invoke(app, ["run", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def record(smoke_run) -> dict:
    return json.loads((smoke_run / "record.json").read_text())


def write_run(directory: Path, record: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "record.json").write_text(json.dumps(record))  # NaN is written as the token NaN
    return directory


def submit(run: Path, boards: Path, *extra: str):
    return CliRunner().invoke(app, ["submit", str(run), "--leaderboards", str(boards), *extra])


def error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


SMALL_CAPS = {"budget": "small", "train_tokens": 6144, "eval_docs": 6, "probe_items": 8}


def drop_cell(record):
    record["matrix"][2].pop()


def drop_packages(record):
    record["environment"].pop("packages")


RECORD_CASES = {
    "tampered metric": (lambda r: r["metrics"].update({"forgetting_max[bpb]": 0.12}), "forgetting_max[bpb]: stored 0.12"),
    "suite hash mismatch": (lambda r: r["suite"].update(hash="0" * 64), "suite.hash 000000000000"),
    "NaN cell": (lambda r: r["matrix"][1].__setitem__(0, float("nan")), "not finite"),
    "missing cell": (drop_cell, "row 2 has"),
    "newer schema version": (lambda r: r.update(schema_version=3), "schema_version 3 is newer"),
    "unknown field": (lambda r: r.update(colour="red"), "colour: unknown field"),
    "unshipped suite": (lambda r: r["suite"].update(name="../../etc/passwd.yaml"), "not a shipped suite"),
    "other budget caps": (lambda r: r["suite"].update(train_tokens=999), "suite.train_tokens 999"),
    "missing recipes": (lambda r: r.update(recipes={}), "recipes.cpt: missing"),
    "missing package versions": (drop_packages, "environment.packages: missing"),
    "empty model reference": (lambda r: r["model"].update(reference=" "), "model.reference is empty"),
    # a smoke run passed off as a small one: caps copied, its details still show 2 documents per task
    "smoke run relabelled small": (lambda r: r["suite"].update(SMALL_CAPS), "details[0][politics_bpb].documents 2"),
    "tiny model relabelled smollm2": (lambda r: r["model"].update(reference="smollm2-135m-instruct"), "model.parameters 90,624"),
    "newline in model reference": (lambda r: r["model"].update(reference="tiny-llama\n| 1 | x |"), "model.reference: 'tiny-llama\\n"),
}


@pytest.mark.parametrize("name", sorted(RECORD_CASES))
def test_bad_record_is_refused(record, tmp_path, name):
    change, fragment = RECORD_CASES[name]
    change(record)
    run = write_run(tmp_path / "run", record)
    result = submit(run, tmp_path / "boards", "--name", "entry")
    assert result.exit_code == 2, result.output
    line = error_line(result.output)
    assert "record.json" in line and fragment in line, line
    assert not (tmp_path / "boards").exists()


HOSTILE_NAMES = {
    "parent": "../x",
    "absolute": "/tmp/x",
    "long": "a" * 10240,
    "separator": "a/b",
    "backslash": "a\\b",
    "dots": "..",
    "hidden": ".x",
    "space": "a b",
    "empty": "",
    "newline": "a\nb",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
def test_hostile_name_is_refused(smoke_run, tmp_path, case):
    result = submit(smoke_run, tmp_path / "boards", "--name", HOSTILE_NAMES[case])
    assert result.exit_code == 2, result.output
    line = error_line(result.output)
    assert line.startswith("error: --name") and len(line) < 200, line
    assert not (tmp_path / "boards").exists()


@pytest.mark.parametrize("option", ["--submitter", "--method"])
def test_hostile_text_is_refused(smoke_run, tmp_path, option):
    result = submit(smoke_run, tmp_path / "boards", "--name", "ok", option, "two\nlines")
    assert result.exit_code == 2 and option in error_line(result.output)
    assert not (tmp_path / "boards").exists()


def test_submit_writes_entry_and_pages(smoke_run, tmp_path):
    boards = tmp_path / "boards"
    result = submit(smoke_run, boards, "--name", "tiny-base", "--submitter", "A <b> | c")
    assert result.exit_code == 0, result.output
    board = boards / "crossdomain"
    stored = json.loads((board / "submissions" / "tiny-base.json").read_text())
    assert stored["submission"]["name"] == "tiny-base"
    assert stored["submission"]["method"] == "naive"  # the record's method, when --method is not given
    assert stored["matrix"] == json.loads((smoke_run / "record.json").read_text())["matrix"]
    readme, index = (board / "README.md").read_text(), (board / "index.html").read_text()
    assert "| 1 | tiny-base | tiny-llama | naive | smoke |" in readme  # method from the record
    assert 'id="entry-tiny-base"' in index and "A &lt;b&gt; | c" in index and "<b> |" not in index


def test_duplicate_id_needs_replace(smoke_run, tmp_path):
    boards = tmp_path / "boards"
    assert submit(smoke_run, boards, "--name", "dup").exit_code == 0
    before = (boards / "crossdomain" / "submissions" / "dup.json").read_bytes()
    for name in ("dup", "DUP"):
        refused = submit(smoke_run, boards, "--name", name, "--method", "other")
        assert refused.exit_code == 2 and "--replace" in error_line(refused.output)
    assert (boards / "crossdomain" / "submissions" / "dup.json").read_bytes() == before
    replaced = submit(smoke_run, boards, "--name", "dup", "--method", "other", "--replace")
    assert replaced.exit_code == 0 and "replaced" in replaced.output
    assert json.loads((boards / "crossdomain" / "submissions" / "dup.json").read_text())["submission"]["method"] == "other"


def test_concurrent_submissions_all_land(smoke_run, tmp_path):
    boards = tmp_path / "boards"
    names = ["first", "second", "third"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cptbench", "submit", str(smoke_run), "--name", name, "--leaderboards", str(boards)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for name in names
    ]
    for proc in procs:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output
    board = boards / "crossdomain"
    assert sorted(p.stem for p in (board / "submissions").glob("*.json")) == sorted(names)
    for name in names:
        assert json.loads((board / "submissions" / f"{name}.json").read_text())["submission"]["name"] == name
    readme = (board / "README.md").read_text()
    assert all(f"| {name} |" in readme for name in names)
    assert not [p for p in board.rglob(".*") if p.name != ".lock"]  # no temp files left behind
    check = CliRunner().invoke(app, ["leaderboard", "crossdomain", "--leaderboards", str(boards), "--check"])
    assert check.exit_code == 0, check.output


def test_regeneration_is_deterministic(smoke_run, tmp_path):
    boards = tmp_path / "boards"
    for name in ("b-entry", "a-entry"):
        assert submit(smoke_run, boards, "--name", name).exit_code == 0
    board = boards / "crossdomain"
    pages = {p: p.read_bytes() for p in (board / "README.md", board / "index.html", board / "submission.schema.json")}
    again = CliRunner().invoke(app, ["leaderboard", "crossdomain", "--leaderboards", str(boards), "--sort", "bwt"])
    assert again.exit_code == 0, again.output
    assert {p: p.read_bytes() for p in pages} == pages  # --sort changes the printout, never the pages
    (board / "README.md").write_text("edited by hand\n")
    stale = CliRunner().invoke(app, ["leaderboard", "crossdomain", "--leaderboards", str(boards), "--check"])
    assert stale.exit_code == 1 and "README.md" in stale.output
    assert (board / "README.md").read_text() == "edited by hand\n"  # --check writes nothing


def test_output_formats_and_sort(smoke_run, tmp_path):
    boards = tmp_path / "boards"
    assert submit(smoke_run, boards, "--name", "one").exit_code == 0
    args = ["leaderboard", "crossdomain", "--leaderboards", str(boards)]
    listed = CliRunner().invoke(app, [*args, "--format", "json", "--sort", "forgetting_max"])
    assert listed.exit_code == 0, listed.output
    payload = json.loads(listed.output)
    assert payload["sort"] == "forgetting_max[bpb]" and [e["ids"] for e in payload["rows"]] == [["one"]]
    interval = payload["rows"][0]["metrics"]["forgetting_max[bpb]"]
    assert interval["low"] <= interval["value"] <= interval["high"]  # a run with per-item values has intervals
    assert CliRunner().invoke(app, [*args, "--format", "html"]).output.startswith("<!DOCTYPE html>")
    bad_sort = CliRunner().invoke(app, [*args, "--sort", "colour"])
    assert bad_sort.exit_code == 2 and "--sort colour" in error_line(bad_sort.output)
    bad_suite = CliRunner().invoke(app, ["leaderboard", "nosuch", "--leaderboards", str(boards)])
    assert bad_suite.exit_code == 2 and "nosuch" in error_line(bad_suite.output)


def test_tampered_submission_file_is_not_ranked(smoke_run, tmp_path):
    boards = tmp_path / "boards"
    assert submit(smoke_run, boards, "--name", "entry").exit_code == 0
    path = boards / "crossdomain" / "submissions" / "entry.json"
    stored = json.loads(path.read_text())
    stored["metrics"]["bwt[bpb]"] = 5.0
    path.write_text(json.dumps(stored))
    result = CliRunner().invoke(app, ["leaderboard", "crossdomain", "--leaderboards", str(boards)])
    assert result.exit_code == 2 and "entry.json" in error_line(result.output) and "bwt[bpb]" in result.output


def test_committed_pages_are_up_to_date():
    """What is committed under leaderboards/ equals what `cptbench leaderboard SUITE` generates."""
    from cptbench.config.suites import available_suites

    for suite in available_suites():
        if not (REPO / "leaderboards" / suite).is_dir():
            continue
        args = ["leaderboard", suite, "--leaderboards", str(REPO / "leaderboards"), "--check"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, f"regenerate with `cptbench leaderboard {suite}` and commit:\n{result.output}"


def test_busy_leaderboard_waits_then_gives_up_in_one_line(tmp_path):
    from cptbench.publish.submissions import LeaderboardBusyError, waiting_lock

    lock = tmp_path / "boards" / "crossdomain" / ".lock"
    with waiting_lock(lock):
        with pytest.raises(LeaderboardBusyError, match=r"\.lock: still locked by another submission after 0\.2 s$") as info:
            with waiting_lock(lock, timeout=0.2):
                pass
        assert info.value.exit_code == 3
    with waiting_lock(lock, timeout=0):  # released by its holder
        pass


def test_seeds_of_one_configuration_share_a_row_and_ties_share_a_rank(smoke_run, tmp_path):
    """Two seeds of the smoke configuration form one row (their mean, with intervals); a third
    submission of seed 0 under another name is a row of its own; with intervals this wide on
    2 documents per task, no row is significantly better than another: every rank is 1."""
    second = tmp_path / "s1"
    result = CliRunner().invoke(app, ["run", "--budget", "smoke", "--model", "tiny-llama", "--seed", "1", "--out", str(second)])
    assert result.exit_code == 0, result.output
    boards = tmp_path / "boards"
    for run, name in [(smoke_run, "tiny-s0"), (second, "tiny-s1"), (smoke_run, "tiny-again-s0")]:
        assert submit(run, boards, "--name", name).exit_code == 0
    listed = CliRunner().invoke(app, ["leaderboard", "crossdomain", "--leaderboards", str(boards), "--format", "json"])
    rows = json.loads(listed.output)["rows"]
    assert sorted(r["seeds"] for r in rows) == [[0], [0, 1]]  # seed 0 twice: two rows
    assert sorted(i for r in rows for i in r["ids"]) == ["tiny-again-s0", "tiny-s0", "tiny-s1"]
    assert [r["rank"] for r in rows] == [1, 1]
    pair = next(r for r in rows if len(r["seeds"]) == 2)
    runs = [json.loads((p / "record.json").read_text()) for p in (smoke_run, second)]
    mean_final = sum(r["metrics"]["final[bpb]"] for r in runs) / 2
    assert pair["metrics"]["final[bpb]"]["value"] == pytest.approx(mean_final)
    readme = (boards / "crossdomain" / "README.md").read_text()
    assert f"| {', '.join(pair['ids'])} |" in readme and " ±" in readme


# --- the page: read at a glance (the committed boards; no training) --------------------------


def board_table(page: str) -> str:
    start = page.index('<table class="board"')
    return page[start:page.index("</table>", start)]


def test_page_table_shows_rank_name_ranked_metric_and_forgetting_the_rest_in_details():
    import re

    from cptbench.publish.leaderboard import MANY_ROWS, load_board, render_html, render_json
    from cptbench.publish.submissions import record_method_label

    board = load_board(REPO / "leaderboards", "facts")
    page = render_html(board)
    table = board_table(page)
    heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table)]
    assert heads == ["rank", "name", "final[logprob] ↑", "forgetting_max[logprob] ↓"]
    assert table.count("<tbody>") == table.count('<tr class="more">') == len(board.rows) >= 2
    for row in board.rows:  # the name cell: the row id, whole on hover; the details: method, the other metrics, submitter
        assert f'<td class="text name" title="{row.id}">' in table
        details = table[table.index(f'id="row-{row.first.id}"'):].split("</tbody>")[0]
        for key in ("plasticity[logprob] ↑", "bwt[logprob] ↑", "fwt[logprob] ↑", "general_retention[logprob] ↑",
                    "submitter", "description", record_method_label(row.first.submission)):
            assert f"{key}</" in details, key
    # every facts entry was submitted with the default text: each says what it is instead
    assert "naive sequential CPT" not in page
    descriptions = {tuple(r["ids"]): r["description"] for r in json.loads(render_json(board))["rows"]}
    assert descriptions[("facts-replay-s0", "facts-replay-s1", "facts-replay-s2")] == "naive + replay 25% (budget-neutral)"
    assert descriptions[("facts-naive-s0", "facts-naive-s1", "facts-naive-s2")] == "naive"
    # the trade-off plot: one point per row, only plain naive marked, before the entries' heatmaps
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count('<g class="point') == len(board.rows)
    assert re.findall(r'<g class="point naive" data-name="([^"]+)"', svg) == ["facts-naive-s0, facts-naive-s1, facts-naive-s2"]
    # a short board shows its table first; a long one (MANY_ROWS rows or more) its plot first
    first, second = ("<svg", "</table>") if len(board.rows) >= MANY_ROWS else ("</table>", "<svg")
    assert page.index(first) < page.index(second) < page.index("<h2>Entries</h2>")
    assert "src=" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_page_with_many_rows_puts_the_plot_first():
    from cptbench.publish.leaderboard import MANY_ROWS, load_board, make_board, render_html
    from cptbench.publish.submissions import Entry

    board = load_board(REPO / "leaderboards", "facts")
    first = board.rows[0].first
    entries = []
    for k in range(MANY_ROWS):  # seed 0 submitted again under another name: a row of its own
        header = first.header.model_copy(update={"name": f"again-{k}", "method": "naive sequential CPT"})
        entries.append(Entry(f"again-{k}", first.submission.model_copy(update={"submission": header})))
    many = make_board(board.suite, entries)
    page = render_html(many)
    assert len(many.rows) == MANY_ROWS
    assert page.index("<svg") < page.index('<table class="board"') < page.index("<h2>Entries</h2>")
    assert page.count('<g class="point') == MANY_ROWS
