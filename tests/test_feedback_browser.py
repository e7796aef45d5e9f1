"""The review page in a real browser: the row, its reason, column plots, three buttons that teach the ranking.

A :class:`~anomalyzer.feedback.review_web.ReviewServer` serves on the loopback
interface; headless Chromium (the system's ``chromium`` and ``chromedriver``,
driven by Selenium) clicks as an analyst would.
"""

from __future__ import annotations

import time

import browser_helpers
import numpy as np
import pandas as pd

from anomalyzer.feedback import CsvStore, FeedbackSession
from anomalyzer.feedback.review_web import ReviewServer
from anomalyzer.model import Model

WAIT = 60


def _frame() -> pd.DataFrame:
    """Normal rows and two tight clusters of outliers, so that labels have neighbours to move."""
    rng = np.random.default_rng(0)
    a = np.r_[rng.normal(size=400), 6 + 0.1 * rng.normal(size=8), 0.1 * rng.normal(size=8)]
    b = np.r_[rng.normal(size=400), 0.1 * rng.normal(size=8), 6 + 0.1 * rng.normal(size=8)]
    return pd.DataFrame({"row_id": [f"R{i:04d}" for i in range(len(a))], "a": a, "b": b,
                         "shop": rng.choice(["<b>north</b>", "south"], size=len(a))})  # fmt: skip


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_labelling_three_rows_on_the_page_reorders_the_next_ones(browser_ready, tmp_path):
    from selenium.webdriver.common.by import By

    frame = _frame()
    labels = tmp_path / "labels.csv"
    session = FeedbackSession(Model("iforest", random_state=0).fit(frame), frame,
                              store=CsvStore(labels))  # fmt: skip
    unsupervised = [session.ids[p] for p in session.next(30)]
    server = ReviewServer(session, who="ana").start()
    assert server.url.startswith("http://127.0.0.1:")
    try:
        with browser_helpers.chromium(tmp_path / "profile") as driver:
            driver.get(server.url)

            def text(css: str) -> str:
                return driver.find_element(By.CSS_SELECTOR, css).text

            def queue() -> list[str]:
                return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#next li")]

            _wait(lambda: text("#rowid") != "", "the first row")
            assert text("#rowid") == unsupervised[0] and queue() == unsupervised[1:11]
            assert text("#reason") and "rank 1 of 416" in text("#rank")
            assert len(driver.find_elements(By.CSS_SELECTOR, "svg.colplot rect")) > 0
            assert len(driver.find_elements(By.CSS_SELECTOR, "td.unusual")) > 0
            for name in ("anomaly", "normal", "skip"):
                assert driver.find_element(By.ID, name).is_displayed()
            shown = []
            for _ in range(3):
                current = text("#rowid")
                shown.append(current)
                driver.find_element(By.ID, "normal").click()
                _wait(lambda c=current: text("#rowid") != c, "the next row")
            _wait(lambda: "Labelled 3 of 416" in text("#progress"), "the progress")
            after = [text("#rowid"), *queue()]
            # Without learning, the next rows would be the old order minus the three judged.
            unchanged = [i for i in unsupervised if i not in shown][: len(after)]
            assert after != unchanged
            assert len(set(shown)) == 3 and shown[0] == unsupervised[0]
            # The labels are the user's text shown as text: no markup from the data ran.
            assert not driver.find_elements(By.CSS_SELECTOR, "#values b")
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == []
    finally:
        server.shutdown()
    stored = pd.read_csv(labels)
    assert stored[["row", "label", "who"]].values.tolist() == [[r, "normal", "ana"] for r in shown]
