"""The most anomalous periods of a scored series, and whether a labelled region is among them.

A person reviewing a long recording looks at the few stretches that score
highest, not at a threshold. :func:`top_periods` picks them greedily: the
highest-scoring point not yet covered, a period of ``width`` points centred on
it, and again, so that no two periods overlap. :func:`region_rank` says which
of the top ``k`` periods (1 = the first) overlaps the labelled region, the
way the UCR anomaly archive scores a single-anomaly series (there, a
detection counts within 100 points of the region).

>>> scores = np.zeros(1000)
>>> scores[[100, 500, 505, 800]] = [3.0, 5.0, 4.0, 2.0]
>>> top_periods(scores, width=50, k=3)
[(475, 525), (75, 125), (775, 825)]
>>> labels = np.zeros(1000, dtype=int)
>>> labels[90:110] = 1
>>> region_rank(labels, scores, k=3, width=50)
2
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anomalyzer.errors import AnomalyzerError

#: Shortest period, in points: a detection this close to a short region still counts.
MIN_WIDTH = 100


def top_periods(scores: Any, width: int, k: int = 3) -> list[tuple[int, int]]:
    """The ``k`` highest-scoring, non-overlapping periods ``[start, end)`` of ``width`` points."""
    s = np.asarray(scores, dtype=np.float64).copy()
    if s.ndim != 1 or s.size == 0:
        raise AnomalyzerError("top_periods needs a non-empty 1-D array of scores.")
    width = max(1, int(width))
    s[~np.isfinite(s)] = -np.inf
    out = []
    for _ in range(int(k)):
        if not np.isfinite(s).any():
            break
        centre = int(np.argmax(s))
        start = max(0, centre - width // 2)
        end = min(s.size, start + width)
        out.append((start, end))
        # Nothing within a width of this period can start another one.
        s[max(0, start - width // 2) : min(s.size, end + width // 2)] = -np.inf
    return out


def region_rank(labels: Any, scores: Any, k: int = 3, width: int | None = None) -> int | None:
    """Which of the top ``k`` periods overlaps the labelled region (1 = the first), or None.

    ``width`` defaults to the region's length, at least :data:`MIN_WIDTH` points.
    """
    y = np.asarray(labels).astype(bool)
    if not y.any():
        raise AnomalyzerError("region_rank needs labels with at least one anomalous point.")
    where = np.flatnonzero(y)
    if width is None:
        width = max(MIN_WIDTH, int(where[-1] - where[0] + 1))
    for rank, (start, end) in enumerate(top_periods(scores, width, k), start=1):
        if y[start:end].any():
            return rank
    return None
