"""Histogram-based outlier score (HBOS): one histogram per feature, densities multiplied.

Goldstein and Dengel (2012) treat the features as independent: a row's score
is the sum over features of the negative log height of the histogram bin it
falls in. Fitting is one pass over the data and scoring one lookup per value,
so it scales to millions of rows.

The equal-width histograms live in :func:`fit_histograms` and
:func:`histogram_neg_log_density`, which LODA reuses on random projections.
"""

from __future__ import annotations

import numbers

import numpy as np

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_float, check_int

# Values looked up per block; bounds the (rows x columns) temporaries.
_BLOCK_VALUES = 1 << 21


def fit_histograms(
    Z: np.ndarray, n_bins: int, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width histogram of each column of ``Z`` as a negative log density table.

    Returns ``(low, width, table)``: the left edge and bin width of each column,
    and ``table`` of shape ``(n_columns, n_bins + 1)`` holding ``-log`` of the
    density of each bin; the extra last entry is for values outside the range.
    ``alpha`` is a pseudo-count added to every bin, so that an empty bin (and a
    value far outside the range, which is scored like one) has a finite score.

    >>> low, width, table = fit_histograms(np.array([[0.0], [1.0], [1.0], [4.0]]), 2, 0.5)
    >>> low, width
    (array([0.]), array([2.]))
    >>> np.exp(-table)  # densities: 3 rows in [0, 2), 1 in [2, 4], none outside
    array([[0.35, 0.15, 0.05]])
    """
    low, width = histogram_grid(Z.min(axis=0), Z.max(axis=0), n_bins)
    counts = bin_counts(Z, low, width, n_bins)
    return low, width, neg_log_density_table(counts, width, alpha)


def histogram_grid(lo: np.ndarray, hi: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Left edge and width of ``n_bins`` equal bins spanning ``[lo, hi]`` per column."""
    span = hi - lo
    # A constant column gets a tiny range around its value: any other value
    # then falls outside and scores like an empty bin.
    floor = np.maximum(1e-6 * np.abs(lo), 1e-12)
    flat = span < floor
    low = np.where(flat, lo - floor / 2, lo)
    span = np.where(flat, floor, span)
    return low, span / n_bins


def bin_counts(Z: np.ndarray, low: np.ndarray, width: np.ndarray, n_bins: int) -> np.ndarray:
    """Number of values of each column in each bin, shape ``(n_columns, n_bins + 1)``.

    The last entry counts values outside the grid; fitting data has none.
    """
    d = Z.shape[1]
    flat = _flat_bin_index(Z, low, width, n_bins, tol=1.0).ravel()
    return np.bincount(flat, minlength=d * (n_bins + 1)).reshape(d, n_bins + 1).astype(float)


def neg_log_density_table(counts: np.ndarray, width: np.ndarray, alpha: float) -> np.ndarray:
    """``-log`` density per bin from ``counts`` plus the pseudo-count ``alpha``.

    The outside-the-range entry gets the density of an empty bin.
    """
    counts = counts.copy()
    n_bins = counts.shape[1] - 1
    n_rows = counts[:, :n_bins].sum(axis=1, keepdims=True)
    counts[:, n_bins] = 0.0
    density = (counts + alpha) / ((n_rows + alpha * n_bins) * width[:, None])
    return -np.log(density)


def histogram_neg_log_density(
    Z: np.ndarray, low: np.ndarray, width: np.ndarray, table: np.ndarray, tol: float
) -> np.ndarray:
    """Look up the ``-log`` density of every value of ``Z``, shape ``Z.shape``.

    Values at most ``tol`` bin widths outside the fitted range count as in the
    nearest edge bin; values further out get the score of an empty bin.

    >>> low, width, table = fit_histograms(np.array([[0.0], [1.0], [1.0], [4.0]]), 2, 0.5)
    >>> np.exp(-histogram_neg_log_density(np.array([[1.5], [4.5], [9.0]]), low, width, table, 0.5))
    array([[0.35],
           [0.15],
           [0.05]])
    """
    n, d = Z.shape
    n_bins = table.shape[1] - 1
    flat_table = np.ascontiguousarray(table).ravel()
    out = np.empty((n, d))
    step = max(1, _BLOCK_VALUES // max(d, 1))
    for start in range(0, n, step):
        idx = _flat_bin_index(Z[start : start + step], low, width, n_bins, tol)
        np.take(flat_table, idx, out=out[start : start + step])
    return out


def _flat_bin_index(
    Z: np.ndarray, low: np.ndarray, width: np.ndarray, n_bins: int, tol: float
) -> np.ndarray:
    """Index of each value's bin in the flattened ``(n_columns, n_bins + 1)`` table.

    Bins are half-open except the last, which holds the maximum. Values at most
    ``tol`` widths outside the range join the nearest edge bin; values further
    out get index ``n_bins`` of their column, the outside entry.
    """
    pos = Z - low
    pos *= 1.0 / width
    outside = (pos < -tol) | (pos > n_bins + tol)
    # Clipping to just below n_bins puts the maximum (and the tolerated values
    # around the range) into the edge bins; truncation is then the floor.
    np.clip(pos, 0.0, n_bins - 0.5, out=pos)
    idx = pos.astype(np.intp)
    idx[outside] = n_bins
    idx += np.arange(Z.shape[1]) * (n_bins + 1)
    return idx


def resolve_n_bins(n_bins: int | str, n_rows: int) -> int:
    """The number of bins: ``n_bins`` itself, or the square-root rule for ``"sqrt"``.

    >>> resolve_n_bins(10, 5000), resolve_n_bins("sqrt", 5000)
    (10, 71)
    """
    if isinstance(n_bins, str):
        return max(2, int(np.ceil(np.sqrt(n_rows))))
    return int(n_bins)


def check_n_bins(n_bins: int | str) -> None:
    """Raise ``AnomalyzerError`` unless ``n_bins`` is an integer >= 2 or ``"sqrt"``."""
    if isinstance(n_bins, str):
        if n_bins != "sqrt":
            raise AnomalyzerError(f"n_bins must be an integer >= 2 or 'sqrt', got {n_bins!r}.")
        return
    check_int("n_bins", n_bins, minimum=2)


class HBOS(BaseDetector):
    """Histogram-based outlier score: sum over features of the negative log bin height.

    Each feature gets an equal-width histogram with ``n_bins`` bins (``"sqrt"``
    uses the square root of the number of rows, Goldstein and Dengel's
    suggestion). Heights are normalised so that the fullest bin of every
    feature contributes 0, which makes the score independent of the units of
    the features; ``alpha`` is a pseudo-count that keeps empty bins finite.
    Values up to ``tol`` bin widths outside the training range count as in the
    edge bin, values further out as in an empty bin. The per-feature terms are
    the exact explanation of the score.

    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> det = HBOS().fit(X)
    >>> new = np.array([[0.0, 0.0, 0.0], [0.0, 7.0, 0.0]])
    >>> det.decision_function(new).round(2)
    array([0.09, 5.59])
    >>> det.explain(new[1:]).round(2)
    array([[0.  , 5.58, 0.01]])
    """

    def __init__(
        self,
        n_bins: int | str = 10,
        alpha: float = 0.5,
        tol: float = 0.5,
        contamination: float | str = "auto",
    ) -> None:
        self.n_bins = n_bins
        self.alpha = alpha
        self.tol = tol
        self.contamination = contamination

    def _validate_params(self) -> None:
        check_n_bins(self.n_bins)
        check_float("alpha", self.alpha, low=0)
        tol = self.tol
        if not (isinstance(tol, numbers.Real) and not isinstance(tol, bool) and 0 <= tol < np.inf):
            raise AnomalyzerError(f"tol must be a number >= 0, got {self.tol!r}.")

    def _fit(self, X: np.ndarray) -> None:
        n_bins = resolve_n_bins(self.n_bins, X.shape[0])
        self.bin_low_, self.bin_width_, table = fit_histograms(X, n_bins, self.alpha)
        # Shift every feature so that its fullest bin scores 0 (Goldstein and
        # Dengel normalise each histogram to a maximum height of 1).
        self.neg_log_height_ = table - table.min(axis=1, keepdims=True)

    def _terms(self, X: np.ndarray) -> np.ndarray:
        return histogram_neg_log_density(
            X, self.bin_low_, self.bin_width_, self.neg_log_height_, self.tol
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._terms(X).sum(axis=1)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._terms(X)
