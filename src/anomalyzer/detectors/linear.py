"""Linear-Gaussian detectors: a row is anomalous where a quadratic form says it is far.

Both detectors standardise the features, estimate a covariance matrix, and
score a row ``x`` by ``z' M z`` with ``z`` the standardised row and ``M`` a
(regularised) inverse covariance written as ``V diag(w) V'``:

- :class:`PCA` takes the classical covariance of all rows; ``M`` weights each
  principal direction by the inverse of its variance (optionally pooling the
  minor directions, as probabilistic PCA does).
- :class:`Mahalanobis` takes a robust covariance (minimum covariance
  determinant on a bounded sample), so that the anomalies themselves do not
  inflate the spread they are measured against.

The explanation of ``z' M z`` is its exact split over the features,
``z_i (M z)_i``: these are the Shapley values of the quadratic form with the
centre as baseline, and they add up to the score (negative shares, from
features that pull the row back towards the bulk, are shown as 0).

Directions without variance (constant or collinear features) get the variance
floor ``_VARIANCE_FLOOR`` times the mean variance instead of zero: the fit
never fails, and a new row that breaks an exact relation of the training data
gets a very large score, as it should.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.covariance import LedoitWolf, MinCovDet
from threadpoolctl import threadpool_limits

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_int

# Smallest variance of a direction, relative to the mean variance.
_VARIANCE_FLOOR = 1e-6
# Most features a minimum covariance determinant fit takes (its cost grows
# with the cube of the number of features); beyond it, Ledoit-Wolf shrinkage.
_MAX_MCD_FEATURES = 100
# Values scored per block; bounds the (rows x features) temporaries.
_BLOCK_VALUES = 1 << 21


class _QuadraticForm(BaseDetector):
    """Score ``z' M z`` with ``z = (x - centre_) / scale_`` and ``M = V' diag(weights_) V``."""

    def _set_form(self, covariance: np.ndarray) -> None:
        """Eigen-decompose a covariance of the standardised data into ``components_``, ``weights_``."""
        # Single-threaded: LAPACK's threads gain little at these sizes and, on a
        # busy machine, waiting threads cost several times the work itself.
        with threadpool_limits(1):
            variances, vectors = np.linalg.eigh(covariance)
        order = np.argsort(variances)[::-1]
        variances = variances[order]
        self.components_ = np.ascontiguousarray(vectors[:, order].T)
        self.explained_variance_ = np.maximum(variances, 0.0)
        floor = _VARIANCE_FLOOR * max(float(self.explained_variance_.mean()), 1e-300)
        self.weights_ = 1.0 / np.maximum(self._pooled_variances(self.explained_variance_), floor)

    def _pooled_variances(self, variances: np.ndarray) -> np.ndarray:
        return variances

    def _standardised(self, X: np.ndarray) -> np.ndarray:
        return (X - self.centre_) / self.scale_

    def _score(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(len(X))
        step = max(1, _BLOCK_VALUES // X.shape[1])
        for start in range(0, len(X), step):
            Y = self._standardised(X[start : start + step]) @ self.components_.T
            out[start : start + step] = (Y * Y) @ self.weights_
        return out

    def _explain(self, X: np.ndarray) -> np.ndarray:
        Z = self._standardised(X)
        MZ = ((Z @ self.components_.T) * self.weights_) @ self.components_
        return Z * MZ


def _scale(X: np.ndarray, centre: np.ndarray, robust: bool) -> np.ndarray:
    """Per-feature scale; falls back to the standard deviation, then to 1 for constants."""
    std = X.std(axis=0)
    scale = std
    if robust:
        mad = 1.4826 * np.median(np.abs(X - centre), axis=0)
        scale = np.where(mad > 0, mad, std)
    return np.where(scale > 1e-12 * np.maximum(np.abs(centre), 1.0), scale, 1.0)


class PCA(_QuadraticForm):
    """Principal component analysis: squared projections weighted by inverse variances.

    The features are standardised and the covariance (correlation) matrix is
    eigen-decomposed. A row's score is the sum over the principal directions
    of its squared projection divided by that direction's variance, so
    departures along the minor directions (the relations between features
    that hold in the data) weigh most.

    ``n_components`` sets the principal subspace. ``None`` (default) keeps every
    direction with its own variance (the score is then the classical
    Mahalanobis distance). An integer ``q``, or a float in (0, 1) read as the
    share of variance to keep, keeps ``q`` directions and pools the others
    into one residual variance, their mean, as probabilistic PCA does (Tipping
    and Bishop, 1999): the score is then the distance within the subspace plus
    the reconstruction error divided by the residual variance.

    >>> rng = np.random.default_rng(0)
    >>> t = rng.normal(size=500)
    >>> X = np.c_[t, t + 0.1 * rng.normal(size=500), rng.normal(size=500)]
    >>> det = PCA().fit(X)
    >>> new = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0]])  # the second breaks x0 = x1
    >>> det.decision_function(new).round(1)
    array([  1. , 453.1])
    >>> det.explain(new[1:]).round(1)
    array([[234. , 219.1,   0. ]])
    """

    def __init__(
        self, n_components: int | float | None = None, contamination: float | str = "auto"
    ) -> None:
        self.n_components = n_components
        self.contamination = contamination

    def _validate_params(self) -> None:
        q = self.n_components
        if q is None:
            return
        if isinstance(q, numbers.Integral) and not isinstance(q, bool):
            check_int("n_components", q)
            return
        if not (isinstance(q, numbers.Real) and 0 < q < 1):
            raise AnomalyzerError(
                "n_components must be None, an integer >= 1 or a share of variance "
                f"in (0, 1), got {q!r}."
            )

    def _fit(self, X: np.ndarray) -> None:
        self.centre_ = X.mean(axis=0)
        self.scale_ = _scale(X, self.centre_, robust=False)
        Z = self._standardised(X)
        self._set_form(Z.T @ Z / len(Z))

    def _pooled_variances(self, variances: np.ndarray) -> np.ndarray:
        d = len(variances)
        q = self.n_components
        if q is None:
            self.n_components_ = d
            return variances
        if isinstance(q, numbers.Integral):
            k = int(q)
        else:
            share = np.cumsum(variances) / max(float(variances.sum()), 1e-300)
            k = int(np.searchsorted(share, q) + 1)
        self.n_components_ = k = min(k, d)
        pooled = variances.copy()
        if k < d:
            pooled[k:] = variances[k:].mean()
        return pooled


class Mahalanobis(_QuadraticForm):
    """Mahalanobis distance under a robust covariance (minimum covariance determinant).

    The features are standardised robustly (median, scaled median absolute
    deviation). The location and covariance come from scikit-learn's
    ``MinCovDet`` (Rousseeuw's FAST-MCD, with its reweighting step) on at most
    ``max_samples`` rows drawn at random: the fit looks for the most compact
    half of the data, so anomalies do not mask themselves by inflating the
    covariance. With more than 100 features, where the MCD becomes too costly
    (and needs many more rows than features), the Ledoit-Wolf shrinkage
    covariance around the median is used instead. All rows are then scored.

    >>> rng = np.random.default_rng(0)
    >>> t = rng.normal(size=500)
    >>> X = np.c_[t, t + 0.1 * rng.normal(size=500), rng.normal(size=500)]
    >>> det = Mahalanobis(random_state=0).fit(X)
    >>> new = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0]])
    >>> scores = det.decision_function(new)
    >>> bool(scores[1] > 100 * scores[0])
    True
    >>> int(np.argmin(det.explain(new[1:])))
    2
    """

    def __init__(
        self,
        max_samples: int = 2000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        check_int("max_samples", self.max_samples, minimum=2)

    def _fit(self, X: np.ndarray) -> None:
        n, d = X.shape
        rng = np.random.default_rng(self.random_state)
        sample = X if n <= self.max_samples else X[rng.choice(n, self.max_samples, replace=False)]
        median = np.median(sample, axis=0)
        self.scale_ = _scale(sample, median, robust=True)
        Z = (sample - median) / self.scale_
        self.robust_ = d <= _MAX_MCD_FEATURES and len(Z) > 2 * d
        with warnings.catch_warnings(), threadpool_limits(1):
            # Singular covariances of constant or collinear features are
            # expected here and handled by the variance floor. The MCD makes
            # many small (d x d) linear-algebra calls, which BLAS threads slow
            # down rather than speed up.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            if self.robust_:
                seed = int(rng.integers(2**31 - 1))
                estimator = MinCovDet(random_state=seed).fit(Z)
            else:
                estimator = LedoitWolf(store_precision=False, assume_centered=True).fit(Z)
        location = getattr(estimator, "location_", np.zeros(d))
        self.centre_ = median + location * self.scale_
        self._set_form(estimator.covariance_)
