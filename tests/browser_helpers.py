"""Headless Chromium for the report tests: the system browser driven by Selenium.

Kept apart from ``conftest.py``: only the browser tests import it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SETUP_SCRIPT = Path(__file__).with_name("setup_browser.sh")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists() and shutil.which(path.name) is None:
            return (
                f"{path} not found: install the Debian package {package!r} "
                f"(as root: sh {SETUP_SCRIPT.name}, which `make test` runs)"
            )
    return None


def _binary(path: Path) -> str:
    return str(path) if path.exists() else str(shutil.which(path.name))


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium WebDriver with browser console logging, closed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _binary(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The system driver: Selenium Manager would try to download one.
    service = Service(
        executable_path=_binary(CHROMEDRIVER), env={**os.environ, "SE_OFFLINE": "true"}
    )
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def require() -> None:
    """Skip the calling test with the reason when there is no headless browser.

    As root, the set-up script installs Chromium first when it is missing
    (``make test`` runs it too; this covers a test run on its own).
    """
    import os
    import subprocess

    import pytest

    reason = missing()
    if reason and os.geteuid() == 0 and "selenium" not in reason:
        subprocess.run(["sh", str(SETUP_SCRIPT)], check=False, timeout=900)
        reason = missing()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
