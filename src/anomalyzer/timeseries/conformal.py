"""Causal surprise: how rare a value is among the values seen before it.

The surprise of ``v`` is ``-log p`` with the conformal p-value
``p = (1 + #{past values at least as extreme}) / (1 + #past)`` (Vovk et al.,
"Algorithmic Learning in a Random World"; the inductive conformal anomaly
detection of Laxhammar & Falkman, 2015). It puts scores of any scale, from any
series, on one scale, so one threshold means the same rarity everywhere. The
past is a bounded sorted buffer: the newest ``capacity`` values, the oldest
dropping out first, so memory and time per point stay fixed.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

# Fewest past values a p-value is computed from; before, the surprise is 0.
MIN_PAST = 20


def new_state(capacity: int) -> dict[str, Any]:
    """An empty buffer for ``capacity`` past values.

    >>> s = new_state(100)
    >>> float(surprise(np.arange(30.0), s, two_sided=False)[-1].round(2))
    3.4
    """
    return {
        "sorted": np.zeros(capacity),
        "fifo": np.zeros(capacity),
        "counts": np.zeros(2, dtype=np.int64),  # values held, next fifo slot
    }


def surprise(values: np.ndarray, state: dict[str, Any], *, two_sided: bool) -> np.ndarray:
    """``-log p`` of each value among the ones before it, updating ``state``.

    One-sided: rare when large (scores). Two-sided: rare when large or small
    (raw values: a new high or a new low).
    """
    return _surprise(
        np.ascontiguousarray(values, dtype=np.float64),
        state["sorted"],
        state["fifo"],
        state["counts"],
        two_sided,
    )


@numba.njit(cache=True)
def _surprise(values, sorted_, fifo, counts, two_sided):  # pragma: no cover - compiled
    n = values.size
    cap = sorted_.size
    out = np.zeros(n)
    for i in range(n):
        v = values[i]
        held = counts[0]
        lo = np.searchsorted(sorted_[:held], v, side="left")
        hi = np.searchsorted(sorted_[:held], v, side="right")
        if held >= MIN_PAST:
            k = held - lo  # past values >= v
            if two_sided:
                k = min(k, hi)  # or <= v
            out[i] = -math.log((1.0 + k) / (1.0 + held))
        if held == cap:
            # Drop the oldest value before inserting the new one.
            old = fifo[counts[1]]
            j = np.searchsorted(sorted_[:held], old, side="left")
            sorted_[j : held - 1] = sorted_[j + 1 : held].copy()
            held -= 1
            lo = np.searchsorted(sorted_[:held], v, side="left")
        sorted_[lo + 1 : held + 1] = sorted_[lo:held].copy()
        sorted_[lo] = v
        counts[0] = held + 1
        fifo[counts[1]] = v
        counts[1] = (counts[1] + 1) % cap
    return out
