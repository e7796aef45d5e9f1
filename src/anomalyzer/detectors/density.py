"""Density estimators: a row is anomalous where the fitted density is low.

Both detectors standardise the features first (mean 0, standard deviation 1;
a constant feature keeps unit scale), so that bandwidths and variance floors
mean the same thing for every feature, and score a row by its negative log
density in the original units.

- :class:`GMM` fits a Gaussian mixture (scikit-learn's EM) on at most
  ``max_samples`` rows; scoring is linear in the rows.
- :class:`KDE` keeps a random reference sample of at most ``max_samples``
  rows and sums Gaussian kernels over it.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_float, check_int

# Kernel values held at once by the KDE (rows x reference rows); ~32 MiB.
_BLOCK_VALUES = 1 << 22
# Largest number of components tried by GMM(n_components="auto"), and the
# rows of the sample on which the choice is made.
_MAX_AUTO_COMPONENTS = 5
_SELECTION_ROWS = 10_000
_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of each feature; a constant feature keeps unit scale."""
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    return mean, np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)


def _row_sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``size`` distinct rows out of ``n`` (all of them if ``n <= size``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


class GMM(BaseDetector):
    """Gaussian mixture: score = negative log-likelihood under the fitted mixture.

    ``n_components="auto"`` picks 1 to 5 components by the Bayesian information
    criterion on at most 10,000 of the rows (never more free parameters than
    rows). ``reg_covar`` is
    added to the diagonal of every component covariance in standardised units:
    the default 0.01 keeps every component at least a tenth of a feature's
    standard deviation wide, so that components cannot collapse onto the
    repeated values of a discrete feature. At most ``max_samples`` rows
    (drawn at random) are used for fitting, which bounds its cost; all rows
    are scored. The explanation of a row splits the Mahalanobis term of its
    most responsible component over the features.

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-3, 1, size=(200, 2)), rng.normal(3, 1, size=(200, 2))]
    >>> det = GMM(random_state=0).fit(X)
    >>> det.n_components_
    2
    >>> scores = det.decision_function([[-3.0, -3.0], [0.0, 0.0]])
    >>> bool(scores[1] > scores[0])
    True
    """

    def __init__(
        self,
        n_components: int | str = "auto",
        covariance_type: str = "full",
        reg_covar: float = 0.01,
        max_samples: int = 50_000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        k = self.n_components
        if isinstance(k, str) and k != "auto":
            raise AnomalyzerError(f"n_components must be an integer >= 1 or 'auto', got {k!r}.")
        if not isinstance(k, str):
            check_int("n_components", k)
        if self.covariance_type not in _COVARIANCE_TYPES:
            raise AnomalyzerError(
                f"covariance_type must be one of {', '.join(_COVARIANCE_TYPES)}, "
                f"got {self.covariance_type!r}."
            )
        check_float("reg_covar", self.reg_covar, low=0)
        check_int("max_samples", self.max_samples, minimum=2)

    def _n_parameters(self, k: int, d: int) -> int:
        per_cov = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}
        if self.covariance_type == "tied":
            return k * d + d * (d + 1) // 2 + k - 1
        return k * (d + per_cov[self.covariance_type]) + k - 1

    def _fit(self, X: np.ndarray) -> None:
        rng = np.random.default_rng(self.random_state)
        self.mean_, self.scale_ = _standardiser(X)
        Z = (X[_row_sample(len(X), self.max_samples, rng)] - self.mean_) / self.scale_
        k = self.n_components
        if isinstance(k, str):
            # The number of components is chosen on a smaller sample (BIC needs
            # far fewer rows than the final fit), then refitted on all of Z.
            small = Z[_row_sample(len(Z), _SELECTION_ROWS, rng)]
            fits = self._candidates(small, range(1, _MAX_AUTO_COMPONENTS + 1), rng)
            k = min(fits, key=lambda g: g.bic(small)).n_components
            best = fits[k - 1] if len(small) == len(Z) else None
        else:
            k, best = min(int(k), len(Z)), None
        self.mixture_ = best if best is not None else self._candidates(Z, [k], rng)[0]
        self.n_components_ = int(self.mixture_.n_components)
        # Jacobian of the standardisation: densities in the original units.
        self.log_jacobian_ = float(np.log(self.scale_).sum())

    def _candidates(
        self, Z: np.ndarray, ks: range | list[int], rng: np.random.Generator
    ) -> list[GaussianMixture]:
        n, d = Z.shape
        fits = []
        for k in ks:
            if k > 1 and (k > n or self._n_parameters(k, d) > n):
                break
            mixture = GaussianMixture(
                n_components=k,
                covariance_type=self.covariance_type,
                reg_covar=self.reg_covar,
                random_state=int(rng.integers(2**31 - 1)),
            )
            with warnings.catch_warnings(), threadpool_limits(1):
                # Not converging in max_iter still leaves a usable density. EM
                # on (rows x d) blocks with small d gains little from BLAS
                # threads, and on a busy machine waiting threads cost more.
                warnings.simplefilter("ignore", ConvergenceWarning)
                fits.append(mixture.fit(Z))
        return fits

    def _score(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean_) / self.scale_
        with threadpool_limits(1):
            log_density = self.mixture_.score_samples(Z)
        return -log_density + self.log_jacobian_

    def _explain(self, X: np.ndarray) -> np.ndarray:
        # The row's most responsible component dominates its likelihood; its
        # Mahalanobis term z' P z / 2 splits exactly over the features as
        # z_i (P z)_i / 2 (the Shapley values of a quadratic form).
        g = self.mixture_
        Z = (X - self.mean_) / self.scale_
        with threadpool_limits(1):
            component = g.predict(Z)
        out = np.zeros(X.shape)
        for k in np.unique(component):
            rows = component == k
            z = Z[rows] - g.means_[k]
            if g.covariance_type == "full":
                pz = z @ g.precisions_[k]
            elif g.covariance_type == "tied":
                pz = z @ g.precisions_
            else:  # diag: one precision per feature; spherical: one per component
                pz = z * g.precisions_[k]
            out[rows] = 0.5 * z * pz
        return out


class KDE(BaseDetector):
    """Gaussian kernel density estimate: score = negative log density.

    The density is the mean of Gaussian kernels centred on a reference sample
    of at most ``max_samples`` training rows (drawn at random), in
    standardised units. ``bandwidth`` is a number (in standard deviations) or
    a rule of thumb for the reference size ``m`` and dimension ``d``:
    ``"scott"`` (``m ** (-1 / (d + 4))``) or ``"silverman"``.

    A training row's own kernel is left out of its density (otherwise every
    reference row would look at least one kernel dense), so training scores
    are leave-one-out; new rows are scored against the whole reference
    sample. Kernels are summed exactly, block by block, in log space, which
    stays finite for rows far from all the data. A row's explanation is each
    feature's squared distance to the reference rows, weighted by each
    reference row's share of the row's density.

    >>> X = np.random.default_rng(0).normal(size=(400, 2))
    >>> det = KDE().fit(X)
    >>> det.decision_function([[0.0, 0.0], [4.0, 4.0]]).round(2)
    array([ 2.08, 38.28])
    """

    def __init__(
        self,
        bandwidth: float | str = "scott",
        max_samples: int = 2000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.bandwidth = bandwidth
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        if isinstance(self.bandwidth, str):
            if self.bandwidth not in ("scott", "silverman"):
                raise AnomalyzerError(
                    "bandwidth must be a positive number, 'scott' or 'silverman', "
                    f"got {self.bandwidth!r}."
                )
        elif not isinstance(self.bandwidth, numbers.Real):
            raise AnomalyzerError(
                "bandwidth must be a positive number, 'scott' or 'silverman', "
                f"got {self.bandwidth!r}."
            )
        else:
            check_float("bandwidth", self.bandwidth, low=0)
        check_int("max_samples", self.max_samples, minimum=2)

    def _fit(self, X: np.ndarray) -> None:
        rng = np.random.default_rng(self.random_state)
        self.mean_, self.scale_ = _standardiser(X)
        self.reference_index_ = _row_sample(len(X), self.max_samples, rng)
        self.reference_ = (X[self.reference_index_] - self.mean_) / self.scale_
        m, d = self.reference_.shape
        if self.bandwidth == "scott":
            self.bandwidth_ = float(m ** (-1.0 / (d + 4)))
        elif self.bandwidth == "silverman":
            self.bandwidth_ = float((m * (d + 2) / 4.0) ** (-1.0 / (d + 4)))
        else:
            self.bandwidth_ = float(self.bandwidth)
        # log of the kernel's normalising constant and of the standardisation's
        # Jacobian: the density comes out in the original units.
        h = self.bandwidth_
        self.log_norm_ = float(0.5 * d * np.log(2 * np.pi * h * h) + np.log(self.scale_).sum())

    def _kernel_blocks(
        self, X: np.ndarray, own: np.ndarray | None = None
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
        """Blocks ``(rows, Q, K, top)`` of the kernel matrix of ``X`` against the reference.

        ``Q`` is the block standardised, ``K[i, r] = exp(-|q_i - r|^2 / 2h^2 - c_i)``
        with ``c_i = top_i - |q_i|^2 / 2h^2`` chosen so that each row's largest
        entry is 1 (the sum cannot underflow, even far from every reference
        row). ``own[i] >= 0`` names a reference row whose kernel is left out.
        """
        h2 = self.bandwidth_**2
        R = self.reference_
        m, d = R.shape
        # -|q - r|^2 / 2h^2 = q.r / h^2 - |r|^2 / 2h^2 - |q|^2 / 2h^2. The first two
        # terms come from one matrix product (q extended by a 1); the last is
        # constant per row. The kernel matrix is single precision: half the
        # memory traffic, a quarter of the cost of the exponentials, and
        # exponents centred on each row's largest one lose at most ~1e-6.
        R_ext = np.vstack([R.T / h2, -(R * R).sum(axis=1) / (2 * h2)]).astype(np.float32)
        step = max(1, _BLOCK_VALUES // m)
        Q_ext = np.ones((min(step, len(X)), d + 1), dtype=np.float32)
        for start in range(0, len(X), step):
            Q = (X[start : start + step] - self.mean_) / self.scale_
            n_rows = len(Q)
            Q_ext[:n_rows, :d] = Q
            # Products this thin gain little from BLAS threads, and on a busy
            # machine the waiting threads cost more than they give.
            with threadpool_limits(1):
                K = Q_ext[:n_rows] @ R_ext
            if own is not None:
                mine = own[start : start + n_rows]
                hit = np.nonzero(mine >= 0)[0]
                K[hit, mine[hit]] = -np.inf
            top = K.max(axis=1)
            K -= top[:, None]
            np.exp(K, out=K)
            yield slice(start, start + n_rows), Q, K, top

    def _neg_log_density(self, X: np.ndarray, own: np.ndarray | None = None) -> np.ndarray:
        h2 = self.bandwidth_**2
        log_sums = np.empty(len(X))
        for rows, Q, K, top in self._kernel_blocks(X, own):
            total = K.sum(axis=1).astype(np.float64)
            log_sums[rows] = top + np.log(total) - (Q * Q).sum(axis=1) / (2 * h2)
        m = len(self.reference_) - (0 if own is None else (own >= 0).astype(float))
        return -(log_sums - np.log(m)) + self.log_norm_

    def _explain(self, X: np.ndarray) -> np.ndarray:
        # -log sum_r exp(-E_r) = sum_r w_r E_r - entropy(w), with w the kernels'
        # shares of the density and E_r = sum_i (q_i - r_i)^2 / 2h^2. The first
        # term splits over the features: feature i's squared distance to the
        # reference rows, weighted by how much each of them carries the density.
        h2 = self.bandwidth_**2
        R = self.reference_
        out = np.empty(X.shape)
        for rows, Q, K, _ in self._kernel_blocks(X):
            W = K / K.sum(axis=1, keepdims=True)
            mean_r = W @ R
            mean_r2 = W @ (R * R)
            out[rows] = (Q * Q - 2 * Q * mean_r + mean_r2) / (2 * h2)
        return out

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._neg_log_density(X)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        own = np.full(len(X), -1, dtype=np.intp)
        own[self.reference_index_] = np.arange(len(self.reference_index_))
        return self._neg_log_density(X, own)
