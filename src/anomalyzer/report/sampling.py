"""Keeping figures small: sampled rows for scatter plots, binned counts for histograms.

Scores and flags are always computed on every row; only what a figure draws is
reduced, so a report of a million rows stays a few megabytes.

>>> rows = sample_rows(1_000_000, 1000, keep=np.array([5, 999_999]))
>>> len(rows), {5, 999_999} <= set(rows.tolist())
(1000, True)
>>> counts, edges = binned(np.array([1.0, 2.0, 2.5, np.nan]), bins=3)
>>> counts.tolist(), edges.tolist()
([1, 0, 2], [1.0, 1.5, 2.0, 2.5])
"""

from __future__ import annotations

import numpy as np

#: Most points in one scatter plot.
MAX_POINTS = 20_000


def sample_rows(
    n: int, limit: int = MAX_POINTS, *, keep: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """Sorted positions of at most ``limit`` of ``n`` rows, always including ``keep``.

    ``keep`` (the flagged rows, most anomalous first) takes at most half the
    budget, so the bulk stays visible around the anomalies; the rest is a
    uniform random sample of the other rows.
    """
    if n <= limit:
        return np.arange(n)
    keep = np.asarray(keep if keep is not None else [], dtype=np.int64)[: limit // 2]
    rng = np.random.default_rng(seed)
    others = np.ones(n, dtype=bool)
    others[keep] = False
    pool = np.flatnonzero(others)
    rest = rng.choice(pool, size=limit - keep.size, replace=False)
    return np.sort(np.concatenate([keep, rest]))


def binned(
    values: np.ndarray, *, bins: int = 50, edges: np.ndarray | None = None, log: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of the finite ``values`` (log-spaced edges when ``log``)."""
    finite = values[np.isfinite(values)]
    if edges is None:
        edges = bin_edges(finite, bins=bins, log=log)
    counts, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)
    return counts, edges


def bin_edges(values: np.ndarray, *, bins: int = 50, log: bool = False) -> np.ndarray:
    """Edges spanning the finite ``values``; log-spaced when ``log`` (values must be positive).

    >>> bin_edges(np.array([1.0, 100.0]), bins=2, log=True).tolist()
    [1.0, 10.0, 100.0]
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo - 0.5, hi + 0.5])
    if log:
        return np.logspace(np.log10(lo), np.log10(hi), bins + 1)
    return np.linspace(lo, hi, bins + 1)


def log_scale(values: np.ndarray) -> str | None:
    """How to bin heavy-tailed values: ``"log"`` (all positive), ``"log1p"`` (with zeros), or None.

    Values count as heavy-tailed when the largest is more than 50 times the
    median; on a linear axis the bulk would then sit in one bin.

    >>> log_scale(np.r_[np.ones(99), 1e4]), log_scale(np.r_[0.0, np.ones(98), 1e4])
    ('log', 'log1p')
    >>> log_scale(np.arange(1.0, 100)) is None, log_scale(np.r_[-1.0, np.ones(98), 1e4]) is None
    (True, True)
    """
    finite = values[np.isfinite(values)]
    if finite.size < 2 or finite.min() < 0:
        return None
    median = float(np.median(finite))
    if median <= 0 or float(finite.max()) / median <= 50.0:
        return None
    if finite.min() > 0:
        return "log"
    return "log1p" if median >= 1.0 else None
