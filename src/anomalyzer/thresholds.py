"""Turning anomaly scores into flags: a fixed share, or a share read off the scores.

``contamination="auto"`` does not assume a rate. It models the bulk of the
scores robustly (median and the spread of the upper half, which is where
inliers' tails live) and flags the scores that lie further out than the
largest score a sample of that size drawn from the bulk would plausibly reach
(a Bonferroni-style cut, ``sqrt(2 ln n)`` robust standard deviations, never
below 3). Skewed, positive scores (distances, densities) are log-transformed
first so that their long but normal right tail is not mistaken for anomalies.
Clear outliers are therefore flagged whatever their share, and a score
distribution without a separated tail yields few or no flags, instead of a
fixed 10% in disguise.
"""

from __future__ import annotations

import numpy as np

from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_contamination

_MIN_Z = 3.0
# Never flag more than this share, even when the scores are all over the place.
_MAX_SHARE = 0.5


def threshold_from_contamination(scores: np.ndarray, contamination: float | str) -> float:
    """Return the score above which a row is an anomaly.

    A float contamination flags that share of ``scores`` (ties permitting);
    ``"auto"`` estimates the share with :func:`auto_threshold`.

    >>> s = np.arange(100.0)
    >>> threshold_from_contamination(s, 0.1)
    89.1
    >>> int((s > threshold_from_contamination(s, 0.1)).sum())
    10
    """
    scores = _check_scores(scores)
    contamination = check_contamination(contamination)
    if contamination == "auto":
        return auto_threshold(scores)
    return float(np.quantile(scores, 1.0 - contamination))


def auto_threshold(scores: np.ndarray) -> float:
    """Estimate a threshold from the shape of the score distribution alone.

    >>> rng = np.random.default_rng(0)
    >>> s = np.concatenate([rng.normal(size=990), rng.normal(12, 1, size=10)])
    >>> int((s > auto_threshold(s)).sum())
    10
    """
    scores = _check_scores(scores)
    n = scores.size
    t = _normalise(scores)
    med = np.median(t)
    upper = t[t >= med]
    # Spread of the upper half (robust to up to ~half of it being anomalies
    # through the median of absolute deviations).
    scale = 1.4826 * np.median(upper - med)
    if not scale > 0:
        # Over half the scores tie at the median: anything above it stands out.
        above = t > med
        if above.mean() <= _MAX_SHARE and above.any():
            return float(np.max(scores[~above]))
        return float(np.max(scores))
    z_cut = max(_MIN_Z, float(np.sqrt(2.0 * np.log(max(n, 2)))))
    cut = med + z_cut * scale
    flagged = t > cut
    if flagged.mean() > _MAX_SHARE:
        return float(np.quantile(scores, 1.0 - _MAX_SHARE))
    if not flagged.any():
        return float(np.max(scores))
    # Threshold in the original score units: the largest unflagged score.
    return float(np.max(scores[~flagged]))


def _normalise(scores: np.ndarray) -> np.ndarray:
    """Log-transform strictly positive, right-skewed scores; leave others as they are."""
    lo = scores.min()
    if lo > 0:
        q50, q90, q99 = np.quantile(scores, [0.5, 0.9, 0.99])
        if q50 > 0 and (q99 - q50) > 2.0 * (q90 - q50) and q99 / q50 > 1.5:
            return np.log(scores)
    return scores


def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise AnomalyzerError("Cannot choose a threshold from an empty set of scores.")
    if not np.isfinite(scores).all():
        raise AnomalyzerError("Scores contain NaN or infinite values; the detector produced invalid scores.")
    return scores
