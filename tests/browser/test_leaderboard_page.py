"""The generated leaderboard page in a real browser (headless Chromium driven by selenium): every
entry renders with its heatmap, clicking a column header sorts the table, the console stays clean."""

import functools
import http.server
import json
import math
import shutil
import threading

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core import metrics
from cptbench.core.records import RunRecord, matrix_from_record

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
)
NAMES = ("bravo", "alpha", "charlie")


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
def board(tmp_path_factory, data_dir, tiny_model_path):
    root = tmp_path_factory.mktemp("browser")
    result = CliRunner().invoke(app, ["run", "--budget", "smoke", "--model", "tiny-llama", "--out", str(root / "run")])
    assert result.exit_code == 0, result.output
    record = json.loads((root / "run" / "record.json").read_text())
    for k, name in enumerate(NAMES):
        run = root / name
        run.mkdir()
        (run / "record.json").write_text(json.dumps(variant(record, k)))
        args = ["submit", str(run), "--name", name, "--method", f"method <{k}>", "--leaderboards", str(root / "boards")]
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

    rows = driver.find_elements(By.CSS_SELECTOR, "table.board tbody tr")
    result = []
    for row in rows:
        cell = row.find_elements(By.TAG_NAME, "td")[index]
        result.append((row.get_attribute("id").removeprefix("row-"), cell.get_attribute("data-value") or cell.text))
    return result


def test_page_renders_sorts_and_logs_nothing(driver, page_url, board):
    from selenium.webdriver.common.by import By

    driver.get(page_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "table.board tbody tr")
    assert sorted(r.get_attribute("id") for r in rows) == sorted(f"row-{n}" for n in NAMES)
    for name in NAMES:
        section = driver.find_element(By.ID, f"entry-{name}")
        assert section.is_displayed() and f"method <{NAMES.index(name)}>" in section.text
        assert len(section.find_elements(By.CSS_SELECTOR, "table.heatmap tbody tr")) == 6  # base + 5 stages
    assert "final[bpb]" in driver.find_element(By.CSS_SELECTOR, "th[aria-sort]").text

    bwt = column(driver, "bwt[bpb]")  # higher is better: the first click puts the best on top
    index = int(bwt.get_attribute("cellIndex"))
    bwt.click()
    first = order(driver, index)
    assert [float(v) for _, v in first] == sorted((float(v) for _, v in first), reverse=True)
    assert bwt.get_attribute("aria-sort") == "descending"
    bwt.click()
    assert order(driver, index) == first[::-1] and bwt.get_attribute("aria-sort") == "ascending"

    name = column(driver, "name")
    name.click()
    assert [entry for entry, _ in order(driver, 1)] == sorted(NAMES)

    problems = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not problems, problems
    driver.execute_script("console.error('canary')")  # the log is really captured
    assert any("canary" in e["message"] for e in driver.get_log("browser"))
