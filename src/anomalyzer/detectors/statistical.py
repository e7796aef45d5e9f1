"""Univariate statistical detectors: each feature on its own, the worst one decides.

These are the tests an analyst would run by hand (z-score, robust z-score,
Tukey's fences), applied to every feature at once. A row's score is its
largest per-feature deviation, and the explanation is exactly that
per-feature deviation.
"""

from __future__ import annotations

import numpy as np

from anomalyzer.detectors.base import BaseDetector

# Scale floor for features with (near) zero spread, so that a constant
# feature does not divide by zero yet any deviation from it still stands out.
_EPS = 1e-12


def _safe_scale(scale: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Use ``fallback`` where ``scale`` is zero, and a tiny floor where both are."""
    scale = np.where(scale > _EPS, scale, fallback)
    return np.where(scale > _EPS, scale, _EPS)


class _Univariate(BaseDetector):
    """Score = max over features of a per-feature deviation."""

    def _deviations(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._deviations(X).max(axis=1)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._deviations(X)


class ZScore(_Univariate):
    """Largest absolute z-score over the features.

    >>> X = np.r_[np.random.default_rng(0).normal(size=(200, 2)), [[8.0, 0.0]]]
    >>> det = ZScore().fit(X)
    >>> int(np.argmax(det.decision_scores_))
    200
    >>> det.explain(X[-1:]).round(1)
    array([[7.1, 0. ]])
    """

    def __init__(self, contamination: float | str = "auto") -> None:
        self.contamination = contamination

    def _fit(self, X: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = _safe_scale(std, np.abs(self.mean_) * 1e-6)

    def _deviations(self, X: np.ndarray) -> np.ndarray:
        return np.abs(X - self.mean_) / self.scale_


class MAD(_Univariate):
    """Largest robust z-score: distance from the median in scaled median absolute deviations.

    Falls back to the mean absolute deviation for a feature whose MAD is zero
    (more than half the values tie), as in Iglewicz and Hoaglin's modified z-score.

    >>> X = np.r_[np.random.default_rng(0).normal(size=(200, 2)), [[0.0, -9.0]]]
    >>> int(np.argmax(MAD().fit(X).decision_scores_))
    200
    """

    def __init__(self, contamination: float | str = "auto") -> None:
        self.contamination = contamination

    def _fit(self, X: np.ndarray) -> None:
        self.median_ = np.median(X, axis=0)
        abs_dev = np.abs(X - self.median_)
        mad = 1.4826 * np.median(abs_dev, axis=0)
        meanad = 1.2533 * abs_dev.mean(axis=0)
        self.scale_ = _safe_scale(mad, meanad)

    def _deviations(self, X: np.ndarray) -> np.ndarray:
        return np.abs(X - self.median_) / self.scale_


class IQR(_Univariate):
    """Distance outside Tukey's fences (Q1 - k IQR, Q3 + k IQR), in IQRs.

    Rows inside the fences of a feature get a small in-fence score from that
    feature (their distance from the median in IQRs, below ``k``), so that
    scores rank rows everywhere, not only outside the fences.

    >>> X = np.r_[np.random.default_rng(0).normal(size=(200, 2)), [[0.0, 6.0]]]
    >>> int(np.argmax(IQR().fit(X).decision_scores_))
    200
    """

    def __init__(self, k: float = 1.5, contamination: float | str = "auto") -> None:
        self.k = k
        self.contamination = contamination

    def _validate_params(self) -> None:
        from anomalyzer.validation import check_float

        check_float("k", self.k, low=0)

    def _fit(self, X: np.ndarray) -> None:
        q1, self.median_, q3 = np.quantile(X, [0.25, 0.5, 0.75], axis=0)
        iqr = q3 - q1
        # A feature with more than half its values tied (a 0/1 indicator) has no
        # IQR; the IQR a normal distribution of the same spread would have stands in.
        self.iqr_ = _safe_scale(iqr, 1.349 * X.std(axis=0))
        self.lower_ = q1 - self.k * self.iqr_
        self.upper_ = q3 + self.k * self.iqr_

    def _deviations(self, X: np.ndarray) -> np.ndarray:
        outside = np.maximum(self.lower_ - X, X - self.upper_) / self.iqr_
        inside = np.abs(X - self.median_) / self.iqr_
        # Outside the fences: k plus the distance beyond them; inside: below k.
        return np.where(outside > 0, self.k + outside, np.minimum(inside, self.k))
