"""The threshold over the scores of a whole distributed data set.

A float ``contamination`` gives the same threshold as locally:
``np.quantile(scores, 1 - contamination)`` over every score, from the exact
order statistics of the distributed sort (no sketch, no tolerance).

``"auto"`` applies the rule of :func:`anomalyzer.thresholds.auto_threshold`
to all scores, with two parts estimated when the data set has more than
:data:`TAIL_ROWS` scores (below that, every score is gathered and the local
function runs unchanged):

- the robust scale (the MAD of the possibly log-transformed scores) comes
  from a uniform sample of :data:`SCALE_SAMPLE` scores; the median, the
  quantiles that decide the log transform and every count are exact;
- the break in the upper tail is searched among the top ``TAIL_ROWS``
  scores (exact), and the spread of the normalised spacings is estimated on
  the sample (under the Rényi representation that spread does not depend on
  how many scores there are). A break below the top ``TAIL_ROWS`` rows is not
  seen; the cut in robust deviations then counts over all scores.

The sample's relative error on the scale is about ``1/sqrt(SCALE_SAMPLE)``
(0.2%); on the planted tables of the tests and the benchmark the flags are
the ones the local rule gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anomalyzer import thresholds
from anomalyzer.validation import check_contamination

#: Top scores gathered exactly to look for the break of ``"auto"``.
TAIL_ROWS = 200_000
#: Uniform sample of scores for the robust scale of ``"auto"``.
SCALE_SAMPLE = 200_000


def threshold_at_scale(
    order: Any,
    contamination: float | str,
    *,
    seed: int | None = 0,
    tail_rows: int = TAIL_ROWS,
    scale_sample: int = SCALE_SAMPLE,
    tail_z: float | None = thresholds.TAIL_Z,
) -> float:
    """The threshold ``contamination`` gives over all the scores held by ``order`` (a ``GlobalOrder``).

    ``tail_z`` is the cut of :func:`anomalyzer.thresholds.auto_threshold`; table
    detectors use :data:`anomalyzer.thresholds.TAIL_Z`, the default here.
    """
    contamination = check_contamination(contamination)
    n = order.n_scored
    if n == 0:
        return float("inf")
    if contamination != "auto":
        return order.quantile(1.0 - float(contamination))
    if n <= tail_rows:
        return thresholds.auto_threshold(order.top(n), tail_z)
    return _auto(order, n, seed, tail_rows, scale_sample, tail_z)


def _auto(
    order: Any, n: int, seed: int | None, tail_rows: int, scale_sample: int, tail_z: float | None
) -> float:
    lowest = order.values_desc([n - 1])[0]
    q50, q90, q99 = (order.quantile(q) for q in (0.5, 0.9, 0.99))
    # The same test as thresholds._normalise, on exact quantiles.
    log = lowest > 0 and (q99 - q50) > 2.0 * (q90 - q50) and q99 / q50 > 1.5

    def t(x: np.ndarray) -> np.ndarray:
        return np.log(x) if log else np.asarray(x, dtype=np.float64)

    middle = order.values_desc([n // 2, (n - 1) // 2])
    med = float(np.mean(t(middle)))
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(n, size=min(scale_sample, n), replace=False))
    sample = order.values_desc(picks)
    scale = 1.4826 * float(np.median(np.abs(t(sample) - med)))
    if not scale > 0:
        # Over half the scores tie at the median: anything above it stands out.
        raw_median = order.quantile(0.5)
        above = order.count_above(raw_median)
        if 0 < above <= thresholds._MAX_SHARE * n:
            return float(order.values_desc([above])[0])
        return float(order.values_desc([0])[0])
    top = (t(order.top(tail_rows)) - med) / scale
    k = _break(top, (t(sample) - med) / scale, n)

    def beyond(z: float) -> int:
        cut = med + z * scale
        return int(order.count_above(float(np.exp(cut)) if log else cut))

    # The rule of thresholds.auto_threshold: a break decides unless it lies
    # inside the far tail; then, as without one, the cut at tail_z.
    far = beyond(thresholds._FAR_Z)
    if tail_z is None:
        if k is None:
            k = far
    elif k is None or 2 * k < far:
        k = beyond(tail_z)
    k = min(k, int(thresholds._MAX_SHARE * n))
    if k == 0:
        return float(order.values_desc([0])[0])
    # Just above the highest unflagged score, as locally.
    flagged, kept = order.values_desc([k - 1, k])
    return float(kept + thresholds.boundary_margin(flagged, kept))


def _break(top: np.ndarray, sample_desc: np.ndarray, n: int) -> int | None:
    """How many top scores lie above a significant break, as in ``thresholds._break_count``."""
    m = min(n - 1, n // 2)
    mt = min(top.size - 1, m)
    if m < 5 or mt < 1:
        return None
    spacings = (top[:mt] - top[1 : mt + 1]) * np.arange(1, mt + 1)
    eligible = top[1 : mt + 1] > thresholds._MIN_BREAK_Z
    if not eligible.any():
        return None
    ms = min(sample_desc.size - 1, sample_desc.size // 2)
    ref = (sample_desc[:ms] - sample_desc[1 : ms + 1]) * np.arange(1, ms + 1)
    sigma = np.median(ref) / np.log(2.0) if ms > 0 else 0.0
    if not sigma > 0:
        sigma = np.mean(ref) if ms > 0 else 0.0
        if not sigma > 0:
            return None
    cut = sigma * (np.log(m) - np.log(-np.log1p(-thresholds._ALPHA)))
    candidates = np.where(eligible, spacings, -np.inf)
    k = int(np.argmax(candidates))
    if candidates[k] <= cut:
        return None
    return k + 1
