"""The drift page in a real browser: it loads without errors, draws every chart, sorts its table.

The page is written by ``anomalyzer monitor --report`` for a drifted copy of
the example transactions and opened from disk in headless Chromium.
"""

from __future__ import annotations

import time
from pathlib import Path

import browser_helpers
import pandas as pd
import pytest
from test_report_browser import _drawn, _severe
from typer.testing import CliRunner

from anomalyzer import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "transactions.csv"
RENDER_TIMEOUT = 90


@pytest.fixture(scope="module")
def page_file(browser_ready, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("drift_page")
    model, drifted, page = tmp / "m.azm", tmp / "drifted.csv", tmp / "monitor.html"
    runner = CliRunner()
    res = runner.invoke(
        cli.app,
        [
            "detect",
            str(EXAMPLE),
            "--detector",
            "iforest",
            "--contamination",
            "0.02",
            "--top",
            "0",
            "--save",
            str(model),
        ],
    )
    assert res.exit_code == 0, res.output
    df = pd.read_csv(EXAMPLE)
    df["amount"] = df["amount"] * 1.5
    df.loc[df.index[::10], "country"] = "XK"
    df.to_csv(drifted, index=False)
    res = runner.invoke(cli.app, ["monitor", str(model), str(drifted), "--report", str(page)])
    assert res.exit_code == 3, res.output
    return page


@pytest.fixture(scope="module")
def page(page_file, tmp_path_factory):
    with browser_helpers.chromium(tmp_path_factory.mktemp("profile")) as driver:
        driver.get(page_file.as_uri())
        deadline = time.monotonic() + RENDER_TIMEOUT
        while time.monotonic() < deadline and not all(_drawn(driver).values()):
            time.sleep(0.5)
        yield driver


def test_drift_page_loads_and_draws_every_chart(page):
    assert _severe(page) == []
    drawn = _drawn(page)
    # Scores, at least the two drifted columns, the domain classifier's columns.
    assert len(drawn) >= 4, drawn
    assert all(drawn.values()), [k for k, ok in drawn.items() if not ok]
    sections = {e.get_attribute("id") for e in page.find_elements("css selector", "section")}
    assert {
        "summary",
        "drift-verdict",
        "drift-scores",
        "drift-columns",
        "drift-rows",
        "drift-checks",
    } <= sections


def test_drift_page_says_what_moved(page):
    verdict = page.find_element("css selector", "#drift-verdict").text
    assert verdict.startswith("Verdict\nDrift in 5,000 new rows")
    assert "amount" in verdict and "new level 'XK' (10.0%)" in verdict
    titles = page.execute_script(
        "return Array.from(document.querySelectorAll('#drift-columns .gtitle'))"
        ".map(function (t) { return t.textContent; });"
    )
    # Before/after plots of the drifted columns, the most drifted first.
    assert titles[0].startswith(("amount", "country")) and any("→" in t for t in titles)
    legend = page.execute_script(
        "return Array.from(document.querySelectorAll('#drift-scores .legendtext'))"
        ".map(function (t) { return t.textContent; });"
    )
    assert legend == ["before", "after"]


def test_drift_table_sorts_on_click(page):
    head = page.find_elements("css selector", "#drift-table thead th")
    col = [th.text.strip() for th in head].index("value") + 1

    def values() -> list[float]:
        cells = page.find_elements("css selector", f"#drift-table tbody td:nth-child({col})")
        return [float(c.get_attribute("data-value")) for c in cells]

    header = head[col - 1]
    header.click()
    assert values() == sorted(values())
    header.click()
    assert values() == sorted(values(), reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    flagged = page.find_elements("css selector", "#drift-table tbody tr.flagged")
    assert len(flagged) >= 3  # scores, amount, country at least
