"""LODA: an ensemble of one-dimensional histograms on sparse random projections.

Pevný (2016) projects the data onto ``n_projections`` random directions, each
touching about ``sqrt(d)`` features, fits an equal-width histogram to every
projection, and scores a row by the average negative log density of its
projections. Each histogram is weak, the average is not, and every step is
linear in the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from threadpoolctl import threadpool_limits

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.detectors.hbos import (
    bin_counts,
    check_n_bins,
    histogram_grid,
    histogram_neg_log_density,
    neg_log_density_table,
    resolve_n_bins,
)
from anomalyzer.validation import check_float, check_int

# Projected values held at once; bounds the (rows x projections) temporaries.
_BLOCK_VALUES = 1 << 21
# Values up to half a bin outside a projection's training range count as in its
# edge bin (HBOS's default tolerance); further out, as in an empty bin.
_TOL = 0.5


class LODA(BaseDetector):
    """Lightweight on-line detector of anomalies (Pevný, 2016).

    The features are standardised first (the projections mix them, so their
    units must be comparable). Each of the ``n_projections`` directions has
    ``ceil(sqrt(d))`` non-zero Gaussian weights on randomly chosen features, as
    in the paper; each projection gets a histogram with ``n_bins`` equal bins
    (``"sqrt"`` for the square-root rule) and pseudo-count ``alpha``. The score
    is the mean ``-log`` density over the projections. The explanation is the
    paper's feature relevance: per feature, a t statistic comparing the row's
    ``-log`` densities on the projections that use the feature with those on
    the projections that do not.

    >>> X = np.random.default_rng(0).normal(size=(500, 4))
    >>> det = LODA(random_state=0).fit(X)
    >>> new = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 6.0, 0.0]])
    >>> scores = det.decision_function(new)
    >>> bool(scores[1] > det.decision_scores_.max())
    True
    >>> int(np.argmax(det.explain(new[1:])))
    2
    """

    def __init__(
        self,
        n_projections: int = 100,
        n_bins: int | str = 10,
        alpha: float = 0.5,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.n_projections = n_projections
        self.n_bins = n_bins
        self.alpha = alpha
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        check_int("n_projections", self.n_projections)
        check_n_bins(self.n_bins)
        check_float("alpha", self.alpha, low=0)

    def _fit(self, X: np.ndarray) -> None:
        n, d = X.shape
        rng = np.random.default_rng(self.random_state)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        # A constant feature keeps unit scale: its (zero) deviations stay zero,
        # and any deviation in new data still moves the projections.
        self.scale_ = np.where(std > 1e-12 * np.maximum(np.abs(self.mean_), 1.0), std, 1.0)
        k = self.n_projections
        n_nonzero = int(np.ceil(np.sqrt(d)))
        weights = rng.normal(size=(k, d))
        # Keep n_nonzero random features per projection, zero the others.
        keep = np.argsort(rng.random((k, d)), axis=1)[:, :n_nonzero]
        mask = np.zeros((k, d), dtype=bool)
        np.put_along_axis(mask, keep, True, axis=1)
        self.projections_ = np.where(mask, weights, 0.0)

        # Two passes over blocks of rows (range, then counts), so that the
        # projected training data is never held whole.
        lo = np.full(k, np.inf)
        hi = np.full(k, -np.inf)
        for Z in self._projected(X):
            lo = np.minimum(lo, Z.min(axis=0))
            hi = np.maximum(hi, Z.max(axis=0))
        n_bins = resolve_n_bins(self.n_bins, n)
        self.bin_low_, self.bin_width_ = histogram_grid(lo, hi, n_bins)
        counts = np.zeros((k, n_bins + 1))
        for Z in self._projected(X):
            counts += bin_counts(Z, self.bin_low_, self.bin_width_, n_bins)
        self.neg_log_density_ = neg_log_density_table(counts, self.bin_width_, self.alpha)

    def _projected(self, X: np.ndarray) -> Iterator[np.ndarray]:
        # Standardising folded into the weights: one matrix product per block.
        weights = (self.projections_ / self.scale_).T
        offset = (self.mean_ / self.scale_) @ self.projections_.T
        step = max(1, _BLOCK_VALUES // self.n_projections)
        for start in range(0, X.shape[0], step):
            # Products this thin gain little from BLAS threads, and on a busy
            # machine the waiting threads cost more than they give.
            with threadpool_limits(1):
                Z = X[start : start + step] @ weights
            Z -= offset
            yield Z

    def _terms(self, X: np.ndarray) -> Iterator[np.ndarray]:
        """Blocks of per-projection ``-log`` densities, shape ``(rows, n_projections)``."""
        for Z in self._projected(X):
            yield histogram_neg_log_density(
                Z, self.bin_low_, self.bin_width_, self.neg_log_density_, _TOL
            )

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.concatenate([T.mean(axis=1) for T in self._terms(X)])

    def _explain(self, X: np.ndarray) -> np.ndarray:
        # Pevny's feature relevance: for feature j, a one-sided two-sample t
        # statistic comparing the row's -log densities on the projections that
        # use j with those on the projections that do not. A feature that makes
        # the row anomalous raises the former.
        uses = (self.projections_ != 0).astype(float)  # (projections, features)
        n_in = uses.sum(axis=0)
        n_out = len(uses) - n_in
        out = np.empty(X.shape)
        start = 0
        for T in self._terms(X):
            sum_in = T @ uses
            sq_in = (T * T) @ uses
            sum_out = T.sum(axis=1, keepdims=True) - sum_in
            sq_out = (T * T).sum(axis=1, keepdims=True) - sq_in
            a, b = np.maximum(n_in, 1), np.maximum(n_out, 1)
            mean_in, mean_out = sum_in / a, sum_out / b
            # Squared standard errors of the two means.
            se_in = np.maximum(sq_in / a - mean_in**2, 0.0) / np.maximum(a - 1, 1)
            se_out = np.maximum(sq_out / b - mean_out**2, 0.0) / np.maximum(b - 1, 1)
            t = (mean_in - mean_out) / np.sqrt(se_in + se_out + 1e-12)
            # A feature on no projection has no evidence; one on every
            # projection (a single feature) carries the whole score.
            t = np.where(n_in == 0, 0.0, np.where(n_out == 0, mean_in, t))
            out[start : start + len(T)] = t
            start += len(T)
        return out
