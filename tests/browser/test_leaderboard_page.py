"""The generated leaderboard page in a real browser (headless Chromium driven by selenium): at a
1400 px wide window the ranking table needs no horizontal scroll (details open or closed), the
trade-off plot has one point per row, every entry renders with its heatmap, clicking a column
header sorts the table (each row's details line travels with it), the console stays clean.

The entries are variants of a committed crossdomain submission: nothing is trained."""

import functools
import http.server
import json
import math
import shutil
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core import metrics
from cptbench.core.records import RunRecord, load_record, matrix_from_record

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "leaderboards" / "crossdomain" / "submissions" / "smollm2-135m-naive-s0.json"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
)
NAMES = ("bravo", "alpha", "charlie-with-a-long-name-that-the-name-column-cuts-short-s0")
DESCRIBED = 2  # entries submitted with --method "method <k>"; the last one with the default text


def variant(record: dict, k: int) -> dict:
    """A valid record with different numbers: later rows of the BPB columns shifted, their details,
    samples and the metrics made to agree (the leaderboard recomputes every cell from its details)."""
    changed = json.loads(json.dumps(record))
    for t in range(1, len(changed["matrix"])):
        for j, task in enumerate(changed["tasks"]):
            if task["metric"] == "bpb":
                old = changed["matrix"][t][j]
                value = changed["matrix"][t][j] = old + 0.01 * k * t * (1 if (j + k) % 2 else -1)
                samples = (changed.get("samples") or [[None] * len(changed["tasks"])] * len(changed["matrix"]))[t][j]
                if samples:  # each document's bits scaled alike: its items still give the cell
                    samples["values"] = [v * value / old for v in samples["values"]]
                details = changed["details"][t][j]
                if "nll" in details:  # cptbench's own BPB: summed NLL over bytes
                    details["nll"] = value * math.log(2) * details["bytes"]
                    details["perplexity"] = math.exp(details["nll"] / details["tokens"])
                if "byte_perplexity" in details:  # lm-eval's bits_per_byte
                    details["byte_perplexity"] = 2**value
    changed["metrics"] = metrics.as_dict(metrics.compute_all(matrix_from_record(RunRecord.model_validate(changed))))
    return changed


@pytest.fixture(scope="module")
def board(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("browser")
    raw = json.loads(BASE.read_text(encoding="utf-8"))
    raw.pop("submission")
    (root / "base.json").write_text(json.dumps(raw))
    record = load_record(root / "base.json").model_dump(mode="json")  # in the schema this cptbench writes
    for k, name in enumerate(NAMES):
        run = root / name
        run.mkdir()
        (run / "record.json").write_text(json.dumps(variant(record, k)))
        described = ["--method", f"method <{k}>"] if k < DESCRIBED else []
        args = ["submit", str(run), "--name", name, *described, "--leaderboards", str(root / "boards")]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    return root / "boards" / "crossdomain"


@pytest.fixture(scope="module")
def page_url(board):
    handler = functools.partial(Quiet, directory=str(board))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    thread.join(timeout=10)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("headless Chromium not found (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield browser
    browser.quit()


def column(driver, label: str):
    from selenium.webdriver.common.by import By

    heads = driver.find_elements(By.CSS_SELECTOR, "table.board thead th")
    return next(h for h in heads if h.text.split(" ")[0] == label)


def order(driver, index: int) -> list[tuple[str, str | None]]:
    """(entry id, the column's data-value or text) for each body row, top to bottom."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "table.board tbody tr[id]")
    result = []
    for row in rows:
        cell = row.find_elements(By.TAG_NAME, "td")[index]
        result.append((row.get_attribute("id").removeprefix("row-"), cell.get_attribute("data-value") or cell.text))
    return result


def no_horizontal_scroll(driver) -> tuple[int, int]:
    """(the board table's scrollWidth, its container's clientWidth)."""
    return tuple(driver.execute_script(
        "var t = document.getElementById('board'); return [t.scrollWidth, t.parentElement.clientWidth];"))


def test_page_reads_at_a_glance_at_1400_px(driver, page_url):
    from selenium.webdriver.common.by import By

    driver.get(page_url)
    assert driver.execute_script("return window.innerWidth;") == 1400
    width, room = no_horizontal_scroll(driver)
    assert width <= room, f"the table scrolls sideways: {width} > {room}"
    heads = [h.text.replace("\n", "") for h in driver.find_elements(By.CSS_SELECTOR, "table.board thead th")]
    assert heads == ["rank", "name", "final[bpb] ↓", "forgetting_max[bpb] ↓"]
    for cell in driver.find_elements(By.CSS_SELECTOR, "table.board tbody tr[id] td"):  # nothing clipped but the name
        clipped = driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth;", cell)
        assert not clipped or "name" in cell.get_attribute("class"), cell.text
    long_name = driver.find_element(By.CSS_SELECTOR, f"tr[id='row-{NAMES[2]}'] td.name")
    assert long_name.get_attribute("title") == NAMES[2]  # cut short in its column, whole on hover
    assert driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth;", long_name)

    for summary in driver.find_elements(By.CSS_SELECTOR, "tr.more summary"):
        summary.click()
    opened = driver.find_elements(By.CSS_SELECTOR, "tr.more details[open]")
    assert len(opened) == len(NAMES) and all("plasticity[bpb]" in d.text and "bwt[bpb]" in d.text for d in opened)
    width, room = no_horizontal_scroll(driver)
    assert width <= room, f"the table scrolls sideways with its details open: {width} > {room}"

    svg = driver.find_element(By.CSS_SELECTOR, "svg#tradeoff")
    assert svg.is_displayed() and svg.rect["x"] + svg.rect["width"] <= 1400
    points = svg.find_elements(By.CSS_SELECTOR, "g.point")
    row_ids = {", ".join([n]) for n in NAMES}
    assert sorted(p.get_attribute("data-name") for p in points) == sorted(row_ids)  # one point per row
    assert all(p.find_element(By.CSS_SELECTOR, "circle, rect").is_displayed() for p in points)


def test_page_renders_sorts_and_logs_nothing(driver, page_url, board):
    from selenium.webdriver.common.by import By

    driver.get(page_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "table.board tbody tr[id]")
    assert sorted(r.get_attribute("id") for r in rows) == sorted(f"row-{n}" for n in NAMES)
    for k, name in enumerate(NAMES):
        section = driver.find_element(By.ID, f"entry-{name}")
        described = f"method <{k}>" if k < DESCRIBED else "description: naive"  # the default text: the record's method
        assert section.is_displayed() and described in section.text
        assert "naive sequential CPT" not in section.text
        assert len(section.find_elements(By.CSS_SELECTOR, "table.heatmap tbody tr")) == 6  # base + 5 stages
    assert "final[bpb]" in driver.find_element(By.CSS_SELECTOR, "th[aria-sort]").text

    forgetting = column(driver, "forgetting_max[bpb]")  # lower is better: the first click puts the best on top
    index = int(forgetting.get_attribute("cellIndex"))
    forgetting.click()
    first = order(driver, index)
    assert [float(v) for _, v in first] == sorted(float(v) for _, v in first)
    assert forgetting.get_attribute("aria-sort") == "ascending"
    forgetting.click()
    assert order(driver, index) == first[::-1] and forgetting.get_attribute("aria-sort") == "descending"
    for group in driver.find_elements(By.CSS_SELECTOR, "table.board tbody"):  # each row's details line moved with it
        row_id = group.find_element(By.CSS_SELECTOR, "tr[id]").get_attribute("id").removeprefix("row-")
        k = NAMES.index(row_id)
        summary = group.find_element(By.CSS_SELECTOR, "tr.more summary").get_attribute("title")
        assert (f"method <{k}>" in summary) == (k < DESCRIBED), (row_id, summary)

    name = column(driver, "name")
    name.click()
    assert [entry for entry, _ in order(driver, 1)] == sorted(NAMES)

    problems = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not problems, problems
    driver.execute_script("console.error('canary')")  # the log is really captured
    assert any("canary" in e["message"] for e in driver.get_log("browser"))
