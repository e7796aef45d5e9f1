"""The exploration page in a real browser: it loads offline, draws every chart, sorts.

The page of the example server metrics (numeric and categorical columns, a
time column with several series) is written by ``az.explore`` and opened from
disk in headless Chromium (the system's ``chromium`` and ``chromedriver``).
"""

from __future__ import annotations

import time
from pathlib import Path

import browser_helpers
import pytest

import anomalyzer as az

ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "examples" / "server_metrics.csv"
RENDER_TIMEOUT = 90

_DRAWN_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (div) {
  var svg = div.querySelector('.main-svg');
  var drawn = svg && svg.querySelectorAll('path, rect, text').length > 0
              && div.getBoundingClientRect().height > 0;
  return [div.id, Boolean(drawn)];
});
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    browser_helpers.require()
    path = az.explore(METRICS).write(tmp_path_factory.mktemp("explore") / "explore.html")
    with browser_helpers.chromium(tmp_path_factory.mktemp("profile")) as driver:
        driver.get(path.as_uri())
        deadline = time.monotonic() + RENDER_TIMEOUT
        while time.monotonic() < deadline and not all(
            dict(driver.execute_script(_DRAWN_JS)).values()
        ):
            time.sleep(0.5)
        yield driver


def test_page_loads_without_errors_and_draws_every_chart(page):
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
    drawn = dict(page.execute_script(_DRAWN_JS))
    # Per column: cpu, mem (box + histogram), host, is_incident (bars); correlations; time.
    assert len(drawn) >= 6, drawn
    assert all(drawn.values()), [k for k, ok in drawn.items() if not ok]
    sections = {e.get_attribute("id") for e in page.find_elements("css selector", "section")}
    assert {"summary", "columns", "column-views", "correlations", "time", "time-facts",
            "duplicates"} <= sections  # fmt: skip
    facts = page.find_element("css selector", "#time-facts").text
    assert "5 min" in facts and "288 points (1 day)" in facts


def test_box_plots_are_drawn(page):
    boxes = page.execute_script("return document.querySelectorAll('.boxlayer path.box').length")
    assert boxes >= 2  # cpu and mem


def test_columns_table_sorts_on_click(page):
    def distinct_column() -> list[str]:
        heads = [th.text.strip() for th in page.find_elements("css selector", "#columns-table th")]
        col = heads.index("distinct") + 1
        cells = page.find_elements("css selector", f"#columns-table tbody td:nth-child({col})")
        return [c.get_attribute("data-value") for c in cells]

    header = next(
        th
        for th in page.find_elements("css selector", "#columns-table thead th")
        if th.text.strip() == "distinct"
    )
    header.click()
    values = [float(v) for v in distinct_column()]
    assert values == sorted(values)
    header.click()
    assert [float(v) for v in distinct_column()] == sorted(values, reverse=True)
