"""Shared fixtures: small synthetic data with known anomalies, and the shared benchmark data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark folder, or a skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


def planted(
    n: int = 400, d: int = 4, n_out: int = 20, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inliers and clearly separated outliers (one or more features far out)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    out = rng.normal(size=(n_out, d))
    cols = rng.integers(0, d, size=n_out)
    out[np.arange(n_out), cols] = rng.choice([-1.0, 1.0], size=n_out) * rng.uniform(6, 9, n_out)
    y = np.r_[np.zeros(n), np.ones(n_out)]
    return np.r_[X, out], y


@pytest.fixture()
def planted_data() -> tuple[np.ndarray, np.ndarray]:
    return planted()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (see tests/postgres_server.py), or a skip saying why."""
    from postgres_server import postgres_server

    try:
        manager = postgres_server()
        server = manager.__enter__()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


# The benchmark scripts' helpers (the PyOD references) are importable in tests.
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture(scope="module")
def browser_ready() -> None:
    """A headless Chromium for the browser tests, or a skip with the reason."""
    import browser_helpers

    browser_helpers.require()
