"""Turning anomaly scores into flags: a fixed share, or a share read off the scores.

``contamination="auto"`` assumes no rate. It looks for the place where the
upper tail of the scores breaks away from the bulk:

1. Skewed positive scores (distances, densities) are log-transformed, and all
   scores are put on a robust z scale (median and scaled MAD).
2. Sorted from the top, the spacings between consecutive scores are
   normalised by their rank, ``k * (z(k) - z(k+1))``. Under an
   exponential-type tail these are independent and identically distributed
   (Rényi's representation of order statistics), so a break between anomalies
   and inliers shows as one normalised spacing far larger than the rest. A
   break is accepted when it exceeds what the largest of that many
   exponential spacings reaches with 1% probability, and when it lies above
   the bulk (robust z above 2).
3. Without such a break, rows more than 3 robust standard deviations above
   the median are flagged (a few, or none, on clean data).

Table detectors (``threshold_from_contamination(..., tail_z=TAIL_Z)``) use a
rule that acts on heavy-tailed scores, where the one above flags a handful of
rows of a long tail:

- a break is used unless it flags fewer than half of the rows beyond 3
  robust standard deviations: then it lies inside the far tail, separating a
  few extreme rows from the other anomalous ones (on a heavy-tailed network
  table, 1 row of thousands);
- otherwise (no break, or a break inside the far tail) the rows more than
  ``tail_z`` = 2 robust standard deviations above the median are flagged:
  on heavy-tailed scores the tail, not its first rows; on clean, normally
  distributed scores about 2.3%.

The constant 2 was chosen with the cross-half protocol of
``benchmarks/thresholds.py`` among 3, 2.5, 2 and 1.5: on both halves of the
ADBench split the most liberal cut gives the best F1, and 2 is the most
liberal one that flags at most 2.5% of clean normal scores (1.5 flags 6.7%).
Series detectors keep the first rule.

The share flagged is capped at half the rows. Clear outliers are flagged
whatever their share, and scores without a separated tail never get a fixed
10% in disguise.
"""

from __future__ import annotations

import numpy as np

from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_contamination

# Cut in robust standard deviations without a break; a break used by table
# detectors must flag at least half the rows beyond it.
_FAR_Z = 3.0
#: Table detectors' cut in robust standard deviations without a usable break.
TAIL_Z = 2.0
# A break must sit above this robust z: below it we are still in the bulk.
_MIN_BREAK_Z = 2.0
# Significance of the largest normalised spacing (family-wise).
_ALPHA = 0.01
_MAX_SHARE = 0.5


def threshold_from_contamination(
    scores: np.ndarray, contamination: float | str, tail_z: float | None = None
) -> float:
    """Return the score above which a row is an anomaly.

    A float contamination flags that share of ``scores`` (ties permitting);
    ``"auto"`` estimates the share with :func:`auto_threshold` (``tail_z`` is
    passed on).

    >>> s = np.arange(100.0)
    >>> round(threshold_from_contamination(s, 0.1), 6)
    89.1
    >>> int((s > threshold_from_contamination(s, 0.1)).sum())
    10
    """
    scores = _check_scores(scores)
    contamination = check_contamination(contamination)
    if contamination == "auto":
        return auto_threshold(scores, tail_z)
    return float(np.quantile(scores, 1.0 - float(contamination)))


def auto_threshold(scores: np.ndarray, tail_z: float | None = None) -> float:
    """Estimate a threshold from the shape of the score distribution alone.

    With ``tail_z`` (robust standard deviations), that cut is used when the
    scores show no break that sets the anomalies apart as a group; without
    it, 3 is used and only when there is no break at all.

    >>> rng = np.random.default_rng(0)
    >>> s = np.concatenate([rng.normal(size=990), rng.normal(12, 1, size=10)])
    >>> int((s > auto_threshold(s)).sum())
    10
    >>> heavy = np.r_[rng.standard_t(2, size=5000), 1e6]  # one row far beyond a heavy tail
    >>> int((heavy > auto_threshold(heavy)).sum())
    1
    >>> int((heavy > auto_threshold(heavy, tail_z=TAIL_Z)).sum()) > 100
    True
    """
    scores = _check_scores(scores)
    n = scores.size
    z = robust_z(scores)
    if z is None:
        # Over half the scores tie at the median: anything above it stands out.
        med = np.median(scores)
        above = scores > med
        if above.any() and above.mean() <= _MAX_SHARE:
            return float(np.max(scores[~above]))
        return float(np.max(scores))
    k = _break_count(z)
    if tail_z is None:
        if k is None:
            k = int((z > _FAR_Z).sum())
    elif k is None or 2 * k < int((z > _FAR_Z).sum()):
        k = int((z > tail_z).sum())
    k = min(k, int(_MAX_SHARE * n))
    if k == 0:
        return float(np.max(scores))
    order = np.sort(scores)[::-1]
    return float(order[k] + boundary_margin(order[k - 1], order[k]))


def boundary_margin(lowest_flagged: float, highest_kept: float) -> float:
    """How far above the highest unflagged score the threshold sits: a hair, within the gap.

    The threshold stays (to a millionth) at the highest score not flagged, so
    new rows are judged as before; the hair keeps that row unflagged when it is
    scored again (alone, in another batch, in another runtime) and rounding
    moves its score by a few ulps.

    >>> boundary_margin(5.0, 3.0)
    3e-06
    >>> boundary_margin(3.0 + 1e-9, 3.0) < 1e-9
    True
    """
    gap = float(lowest_flagged) - float(highest_kept)
    return min(gap / 2.0, 1e-6 * max(1.0, abs(float(highest_kept))))


def robust_z(scores: np.ndarray) -> np.ndarray | None:
    """Scores on a robust z scale (log first if skewed positive); None if the MAD is zero.

    >>> robust_z(np.array([1.0, 2.0, 3.0, 4.0, 100.0])).round(2)
    array([-1.35, -0.67,  0.  ,  0.67, 65.43])
    """
    t = _normalise(np.asarray(scores, dtype=np.float64))
    med = np.median(t)
    scale = 1.4826 * np.median(np.abs(t - med))
    if not scale > 0:
        return None
    return (t - med) / scale


def _break_count(z: np.ndarray) -> int | None:
    """How many top scores lie above a significant break, or None without one."""
    top = np.sort(z)[::-1]
    m = min(top.size - 1, top.size // 2)
    if m < 5:
        return None
    spacings = (top[:m] - top[1 : m + 1]) * np.arange(1, m + 1)
    eligible = top[1 : m + 1] > _MIN_BREAK_Z
    if not eligible.any():
        return None
    # Exponential scale of the spacings from their median (robust to the break itself).
    sigma = np.median(spacings) / np.log(2.0)
    if not sigma > 0:
        sigma = np.mean(spacings)
        if not sigma > 0:
            return None
    cut = sigma * (np.log(m) - np.log(-np.log1p(-_ALPHA)))
    candidates = np.where(eligible, spacings, -np.inf)
    k = int(np.argmax(candidates))
    if candidates[k] <= cut:
        return None
    return k + 1


def _normalise(scores: np.ndarray) -> np.ndarray:
    """Log-transform strictly positive, right-skewed scores; leave others as they are."""
    if scores.min() > 0:
        q50, q90, q99 = np.quantile(scores, [0.5, 0.9, 0.99])
        if (q99 - q50) > 2.0 * (q90 - q50) and q99 / q50 > 1.5:
            return np.log(scores)
    return scores


def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise AnomalyzerError("Cannot choose a threshold from an empty set of scores.")
    if not np.isfinite(scores).all():
        raise AnomalyzerError(
            "Scores contain NaN or infinite values; the detector produced invalid scores."
        )
    return scores
