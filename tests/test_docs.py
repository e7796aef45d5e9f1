"""The documentation site builds in strict mode and reads in a real browser.

The site is built as ``make docs`` builds it (``docs/build.py``) into a
temporary folder, strict (a broken link or a docstring it cannot read fails
the build), with the card-fraud case study run on a sample (the case studies
have their own test); the built index and that case study are opened in
headless Chromium.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

import browser_helpers  # noqa: E402
import build  # noqa: E402  (docs/build.py)

RENDER_TIMEOUT = 60

_FIGURES_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (div) {
  var svg = div.querySelector('.main-svg');
  return Boolean(svg && svg.querySelectorAll('path, rect').length > 0
                 && div.getBoundingClientRect().height > 0);
});
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip(
        "mkdocs", reason="the docs extra (mkdocs-material, mkdocstrings) is missing"
    )
    pytest.importorskip("jupytext", reason="the docs extra (jupytext) is missing")
    out = tmp_path_factory.mktemp("docs")
    return build.build(out, strict=True, quick=True, studies=["fraud"])


def test_generated_references_cover_the_registries_and_the_commands(site):
    from anomalyzer import detectors, timeseries

    page = (site / "detectors.html").read_text(encoding="utf-8")
    for name in detectors.available(labels=True) + timeseries.available():
        assert f"<code>{name}</code>" in page, name
    cli = (site / "cli.html").read_text(encoding="utf-8")
    for command in ("detect", "score", "explore", "compare", "stream"):
        assert f"anomalyzer {command}" in cli
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "NeuralForecast" in api and "ExploreReport" in api


def test_a_failing_case_study_fails_the_build(tmp_path):
    pytest.importorskip("jupytext", reason="the docs extra (jupytext) is missing")
    script = tmp_path / "broken.py"
    script.write_text("# %% [markdown]\n# # Broken\n\n# %%\nx = 1\n\n# %%\n1 / 0\n")
    with pytest.raises(build.CaseStudyError, match=r"broken\.py, cell 3 raised ZeroDivisionError"):
        build.run_case_study(script)


def test_doctest_examples_become_code_fences():
    from doctest_fences import fence_doctests

    text = "Intro [a].\n\n    >>> f([1])\n    ['x'][0]\n\nMore."
    assert fence_doctests(text).splitlines() == [
        "Intro [a].", "", "    ```pycon", "    >>> f([1])", "    ['x'][0]", "    ```", "", "More.",
    ]  # fmt: skip


def test_other_files_under_docs_are_not_pages(site, tmp_path):
    # docs/<feature>.md files hold README sections: only docs/site/ and the feature
    # pages listed in build.FEATURE_PAGES (as how-tos) make pages.
    assert not (site / "build.html").exists() and not (site / "docs.html").exists()
    assert not list(site.glob("*.py"))
    for name in build.FEATURE_PAGES:
        assert (site / "howto" / f"{name}.html").exists(), name


def test_feature_sections_become_pages():
    text = "## Serve\n\n### Routes\n```\n## not a heading\n```"
    assert build.feature_page(text).splitlines() == [
        "# Serve", "", "## Routes", "```", "## not a heading", "```",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    browser_helpers.require()
    with browser_helpers.chromium(tmp_path_factory.mktemp("profile")) as driver:
        yield driver


def _open(driver, path: Path) -> None:
    driver.get(path.as_uri())
    deadline = time.monotonic() + RENDER_TIMEOUT
    while time.monotonic() < deadline:
        # get() returns after the load event; a page without figures is ready then.
        if all(driver.execute_script(_FIGURES_JS)):
            break
        time.sleep(0.5)


def _headings(driver) -> list[str]:
    return [h.text.strip() for h in driver.find_elements("css selector", "article h1, article h2")]


def test_index_reads(site, browser):
    _open(browser, site / "index.html")
    assert "anomalyzer" in _headings(browser)
    assert "Where to start" in _headings(browser)
    links = [a.text for a in browser.find_elements("css selector", "nav a")]
    assert "Card fraud" in links and "Detectors" in links
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_case_study_shows_its_output_and_figures(site, browser):
    _open(browser, site / "case_studies" / "fraud.html")
    headings = _headings(browser)
    assert headings[0] == "Card fraud"
    assert {"Explore", "Evaluate against the labels", "Compare detectors"} <= set(headings)
    text = browser.find_element("css selector", "article").text
    assert "Fraud, auto: ROC-AUC" in text
    drawn = browser.execute_script(_FIGURES_JS)
    assert len(drawn) >= 2 and all(drawn)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
