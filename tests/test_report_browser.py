"""The demo report in a real browser: it loads without errors, draws every chart, sorts.

The report is written by the command line as `make demo` writes it, opened
from disk in headless Chromium (the system's ``chromium`` and
``chromedriver``), and looked at the way a person would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import browser_helpers
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "examples" / "transactions.csv"
SCREENSHOT = ROOT / "out" / "report_screenshot.png"
RENDER_TIMEOUT = 90


@pytest.fixture(scope="module")
def report(browser_ready, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "demo_report.html"
    cmd = [sys.executable, "-m", "anomalyzer.cli", "detect", str(DEMO_DATA),
           "--label", "is_fraud", "--top", "10", "--report", str(path)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return path


@pytest.fixture(scope="module")
def page(report, tmp_path_factory):
    with browser_helpers.chromium(tmp_path_factory.mktemp("profile")) as driver:
        driver.get(report.as_uri())
        deadline = time.monotonic() + RENDER_TIMEOUT
        while time.monotonic() < deadline and not all(_drawn(driver).values()):
            time.sleep(0.5)
        yield driver


_DRAWN_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (div) {
  var svg = div.querySelector('.main-svg');
  var drawn = svg && svg.querySelectorAll('path, rect, text').length > 0
              && div.getBoundingClientRect().height > 0;
  var canvas = div.querySelector('canvas');
  return [div.id, Boolean(drawn || (canvas && canvas.width > 0))];
});
"""


def _drawn(driver) -> dict[str, bool]:
    return dict(driver.execute_script(_DRAWN_JS))


def _severe(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_no_console_errors(page):
    assert _severe(page) == []


def test_every_chart_is_drawn(page):
    drawn = _drawn(page)
    # Scores, at least one column view, the projection, four label views, time.
    assert len(drawn) >= 8, drawn
    assert all(drawn.values()), [k for k, ok in drawn.items() if not ok]
    sections = {e.get_attribute("id") for e in page.find_elements("css selector", "section")}
    assert {"summary", "scores", "top", "columns", "projection", "labels", "time"} <= sections


def _column(driver, header: str) -> list[str]:
    heads = [th.text.strip() for th in driver.find_elements("css selector", "#top-table thead th")]
    col = heads.index(header) + 1
    cells = driver.find_elements("css selector", f"#top-table tbody tr td:nth-child({col})")
    return [c.get_attribute("data-value") or c.text.strip() for c in cells]


def test_table_sorts_on_click(page):
    before = [float(v) for v in _column(page, "score")]
    assert before == sorted(before, reverse=True)  # ranked: highest score first
    header = next(
        th
        for th in page.find_elements("css selector", "#top-table thead th")
        if th.text.strip() == "score"
    )
    header.click()
    after = [float(v) for v in _column(page, "score")]
    assert after == sorted(before) and after != before
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert [float(v) for v in _column(page, "score")] == sorted(before, reverse=True)
    reason = next(
        th
        for th in page.find_elements("css selector", "#top-table thead th")
        if th.text.strip() == "reason"
    )
    reason.click()
    texts = [t.lower() for t in _column(page, "reason")]
    assert texts == sorted(texts)
    assert _severe(page) == []


def test_screenshot(page, tmp_path):
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(1400, min(int(height) + 120, 16000))
    time.sleep(1.0)  # plots resize with the window
    shot = tmp_path / "report_screenshot.png"
    assert page.save_screenshot(str(shot))
    assert shot.stat().st_size > 50_000
    try:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(shot.read_bytes())
    except OSError:
        pass  # a read-only checkout: the copy in tmp_path is enough
