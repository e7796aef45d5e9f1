"""One-class support vector machine with an RBF kernel (Schölkopf et al. 2001).

The SVM is fitted with scikit-learn's ``OneClassSVM`` on at most
``max_samples`` rows: training a kernel SVM costs between quadratic and cubic
time in the rows, and a few thousand rows already describe the support of the
data well. Scoring evaluates the fitted decision function with matrix
products in bounded chunks, which is much faster than libsvm's row-by-row
loop and keeps memory flat on millions of rows.

Features are standardised robustly (median and interquartile range) inside the
detector, since one RBF width must suit every feature.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.svm import OneClassSVM
from threadpoolctl import threadpool_limits

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.detectors.neighbors import check_random_state, reference_sample, unique_rows
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_float, check_int

# Kernel entries per scoring chunk (2 MiB of float64): small enough to stay in
# cache through the few passes over it.
_CHUNK_FLOATS = 1 << 18
# Interquartile range of a standard normal: makes the robust scale a standard deviation.
_IQR_NORMAL = 1.349


def robust_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (median) and scale (IQR / 1.349, else standard deviation, else 1) per feature.

    >>> center, scale = robust_scale(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]]))
    >>> center.tolist(), scale.round(3).tolist()
    ([2.5, 5.0], [1.112, 1.0])
    """
    center = np.median(X, axis=0)
    q1, q3 = np.quantile(X, [0.25, 0.75], axis=0)
    scale = (q3 - q1) / _IQR_NORMAL
    # Features with most values tied (binary, mostly zero) have a zero IQR yet vary.
    scale = np.where(scale > 0, scale, X.std(axis=0))
    return center, np.where(scale > 0, scale, 1.0)


class OCSVM(BaseDetector):
    """One-class SVM (RBF kernel): score = minus the signed distance to the learned boundary.

    ``nu`` bounds the share of training rows outside the boundary and the
    share that become support vectors; 0.5, PyOD's default, makes the decision
    function a smooth, kernel-density-like sum over half of the rows, which
    ranks rows well without assuming a contamination rate. ``gamma="scale"``
    is scikit-learn's ``1 / (n_features * variance)`` with the robust variance
    of the standardised data, 1, so ``1 / n_features``.

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 2)), [[6.0, 0.0]]]
    >>> det = OCSVM(random_state=0).fit(X)
    >>> int(np.argmax(det.decision_scores_))
    300
    >>> bool(det.decision_function([[0.0, 0.0]])[0] < det.decision_function([[0.0, 5.0]])[0])
    True
    """

    def __init__(
        self,
        nu: float = 0.5,
        gamma: float | str = "scale",
        max_samples: int = 5000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.nu = nu
        self.gamma = gamma
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        check_float("nu", self.nu, low=0, high=1)
        if not (isinstance(self.gamma, str) and self.gamma == "scale"):
            if not isinstance(self.gamma, numbers.Real) or isinstance(self.gamma, bool):
                raise AnomalyzerError(
                    f"gamma must be 'scale' or a positive number, got {self.gamma!r}."
                )
            check_float("gamma", self.gamma, low=0)
        check_int("max_samples", self.max_samples, minimum=2)
        check_random_state(self.random_state)

    def _fit(self, X: np.ndarray) -> None:
        sample = reference_sample(X.shape[0], self.max_samples, self.random_state)
        train = X if sample is None else X[sample]
        self.center_, self.scale_ = robust_scale(train)
        Z = (train - self.center_) / self.scale_
        if self.gamma == "scale":
            # scikit-learn's 1 / (n_features * variance), with the robust
            # variance, which standardisation made 1: heavy tails and outliers
            # do not widen the kernel.
            self.gamma_ = 1.0 / Z.shape[1]
        else:
            self.gamma_ = float(self.gamma)
        svm = OneClassSVM(kernel="rbf", nu=self.nu, gamma=self.gamma_).fit(Z)
        self.support_vectors_ = np.ascontiguousarray(svm.support_vectors_)
        self.dual_coef_ = svm.dual_coef_.ravel().copy()
        self.intercept_ = float(svm.intercept_[0])

    def _decision(self, Z: np.ndarray) -> np.ndarray:
        """libsvm's decision function, sum_i a_i exp(-gamma |z - s_i|^2) - rho, in chunks."""
        sv, norms = self.support_vectors_, (self.support_vectors_**2).sum(axis=1)
        step = max(1, _CHUNK_FLOATS // sv.shape[0])
        out = np.empty(Z.shape[0], dtype=np.float64)
        # Products this thin gain nothing from BLAS threads, and on a busy
        # machine their synchronisation made scoring ten times slower.
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, Z.shape[0], step):
                rows = Z[start : start + step]
                sq = (rows**2).sum(axis=1)[:, None] + norms[None, :] - 2.0 * (rows @ sv.T)
                np.maximum(sq, 0.0, out=sq)
                kernel = np.exp(-self.gamma_ * sq, out=sq)
                out[start : start + step] = kernel @ self.dual_coef_ + self.intercept_
        return out

    def _score(self, X: np.ndarray) -> np.ndarray:
        # Each distinct row once: data with many repeated rows scores much faster.
        values, inverse, _ = unique_rows(X)
        return -self._decision((values - self.center_) / self.scale_)[inverse]
