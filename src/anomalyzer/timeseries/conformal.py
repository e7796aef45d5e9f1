"""Causal surprise: how rare a value is among the values seen before it.

The surprise of ``v`` is ``-log p`` with the conformal p-value
``p = (1 + #{past values at least as extreme}) / (1 + #past)`` (Vovk et al.,
"Algorithmic Learning in a Random World"; the inductive conformal anomaly
detection of Laxhammar & Falkman, 2015). It puts scores of any scale, from any
series, on one scale, so one threshold means the same rarity everywhere. The
past is a bounded sorted buffer: the newest ``capacity`` values, the oldest
dropping out first, so memory and time per point stay fixed.

An empirical p-value cannot go below ``1 / (1 + #past)``: with a short past,
a value far beyond anything seen would score no higher than one just past the
maximum. Beyond the ``TAIL`` largest past values (or smallest, two-sided) the
tail is extrapolated as exponential, the peaks-over-threshold model with shape
0: ``p = K / (1 + #past) * exp(-(v - u) / mean excess over u)``, where ``u`` is
the K-th largest past value.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

# Fewest past values a p-value is computed from; before, the surprise is 0.
MIN_PAST = 20
# Surprises stop at -log(1e-30), about 69: beyond it every value is as
# impossible as the next, and scores stay finite.
_SMALLEST_P = 1e-30
# Past values in each tail the exponential extrapolation is fitted to: at
# least 10, else 1% of the past.
TAIL = 10


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
def _tail_p(top, v, tail, held, sign):  # pragma: no cover - compiled
    # top: the `tail` most extreme past values (sorted ascending); sign +1 for
    # the upper tail, -1 for the lower one.
    u = top[0] if sign > 0 else top[tail - 1]
    excess = 0.0
    for x in top:
        excess += sign * (x - u)
    excess /= tail
    if not excess > 0.0:
        return 1.0
    return tail / (1.0 + held) * math.exp(-sign * (v - u) / excess)


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
            above = held - lo  # past values >= v
            p = (1.0 + above) / (1.0 + held)
            tail = max(TAIL, held // 100)
            if above < tail:
                p = min(p, _tail_p(sorted_[held - tail : held], v, tail, held, 1.0))
            if two_sided:
                p = min(p, (1.0 + hi) / (1.0 + held))  # or <= v
                if hi < tail:
                    p = min(p, _tail_p(sorted_[:tail], v, tail, held, -1.0))
            out[i] = -math.log(max(p, _SMALLEST_P))
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
