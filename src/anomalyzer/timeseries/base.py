"""The contract of series detectors: one score per timestamp.

A series detector is a scikit-learn estimator like the tabular ones, fitted on a
2-D array ``X`` of shape ``(n_points, n_channels)`` whose rows are regularly
spaced points in time order. It keeps the tabular contract (``fit``,
``decision_function``, ``predict``, ``threshold_``, ``decision_scores_``,
``explain``) and adds what time needs:

- ``causal=True`` scores each point from the points before it only;
- ``update(points)`` scores points as they arrive, continuing the series the
  detector was fitted on, without refitting. Fitting on ``X[:k]`` and then
  updating with ``X[k:]`` gives exactly ``decision_function(X)[k:]``;
- ``components(X)`` gives the expected value and scale behind each score, so a
  band can be drawn and a reason written.

Subclasses implement ``_fit`` (learn parameters), ``_new_state`` and ``_step``
(the causal recursion, shared by batch and streaming so they cannot drift
apart), and optionally ``_batch`` (a two-sided version for offline scoring).
Per-channel signed residuals on a robust-SD scale (``z``) are combined into one
score: ``|z|`` for one channel, a Mahalanobis distance over the channels'
residual correlation for several, which is what makes the scoring joint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from anomalyzer.detectors.base import ScoringContract
from anomalyzer.errors import AnomalyzerError
from anomalyzer.thresholds import threshold_from_contamination
from anomalyzer.validation import check_array, check_contamination

# Residuals are clipped at this many robust SD before the correlation is
# estimated, so the anomalies themselves do not shape it.
_CLIP_Z = 4.0


@dataclass(frozen=True)
class SeriesParts:
    """What lies behind the scores of a series, per point and channel.

    ``z`` is the signed residual in robust standard deviations, ``expected`` the
    value the model expected (NaN where it has no such notion) and ``scale``
    one robust standard deviation in the units of the data. ``score`` is set
    by detectors that combine their channels themselves (then ``z`` holds
    each channel's non-negative share of it).
    """

    z: np.ndarray
    expected: np.ndarray
    scale: np.ndarray
    score: np.ndarray | None = None


@dataclass(frozen=True)
class StreamScores:
    """Scores of streamed points, the flags they raise and the thresholds in force."""

    scores: np.ndarray
    flags: np.ndarray
    thresholds: np.ndarray


def check_series(X: Any, *, n_channels: int | None = None, min_points: int = 1) -> np.ndarray:
    """Return ``X`` as a 2-D float array of points by channels, or raise ``AnomalyzerError``.

    >>> check_series([1.0, 2.0, 3.0]).shape
    (3, 1)
    """
    arr = np.asarray(X) if not hasattr(X, "iloc") else X
    if getattr(arr, "ndim", 2) == 1:
        arr = np.asarray(arr, dtype=np.float64).reshape(-1, 1)
    return check_array(arr, n_features=n_channels, min_rows=min_points)


class SeriesDetector(ScoringContract):
    """Base class of all series detectors: higher score = more anomalous.

    Subclasses set ``causal`` and ``contamination`` in their own ``__init__``.
    """

    #: Fewest points the method can work with.
    _min_points: int = 10
    #: Whether several channels are combined through their residual correlation
    #: (True) or by the root mean square of their scores (False, for scores that
    #: are distances rather than signed residuals).
    _joint: bool = True

    def __init__(self, causal: bool = False, contamination: float | str = "auto") -> None:
        self.causal = causal
        self.contamination = contamination

    # -- the contract ---------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> SeriesDetector:
        """Learn what is normal from the series ``X``; labels ``y`` are ignored."""
        check_contamination(self.contamination)
        self._validate_params()
        X = check_series(X, min_points=self._min_points)
        self.n_features_in_ = X.shape[1]
        self._fit(X)
        if self.causal:
            state = self._new_state()
            parts = self._step(state, X)
            # What the causal run leaves behind is where a stream picks up.
            self.stream_state_ = state
        else:
            parts = self._batch(X)
            # Scoring the series just fitted is the common case (detect,
            # bands, reasons, a committee of members): keep its parts.
            self._fit_cache = (_fingerprint(X), parts)
        self._fit_combination(parts.z)
        self.decision_scores_ = self._score_of(parts)
        self.threshold_ = self._threshold(self.decision_scores_)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly score per point of the series ``X`` (higher = more anomalous)."""
        return self._score_of(self.components(X))

    def components(self, X: Any) -> SeriesParts:
        """Residuals, expected values and scales behind the scores of ``X``."""
        check_is_fitted(self, "threshold_")
        X = check_series(X, n_channels=self.n_features_in_)
        if self.causal:
            return self._step(self._new_state(), X)
        return self._batch_cached(X)

    def _batch_cached(self, X: np.ndarray) -> SeriesParts:
        cache = getattr(self, "_fit_cache", None)
        if cache is not None and cache[0] == _fingerprint(X):
            return cache[1]
        return self._batch(X)

    def __getstate__(self) -> dict[str, Any]:
        # The cache is a by-product of fitting, not part of the model.
        state = dict(super().__getstate__())
        state.pop("_fit_cache", None)
        return state

    def explain(self, X: Any) -> np.ndarray:
        """Per-channel contribution to each point's score, shape ``(n_points, n_channels)``."""
        return self._contributions(self.components(X).z)

    def expected_band(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper edge of the expected band per point and channel.

        A one-channel point lies outside its band exactly when it is flagged.
        The edges are NaN where the detector has no notion of an expected value.
        """
        parts = self.components(X)
        half = self.threshold_ * parts.scale
        return parts.expected - half, parts.expected + half

    def update(self, X: Any) -> StreamScores:
        """Score newly arrived points, continuing the series seen so far.

        The first call continues the series given to ``fit``; each later call
        continues the one before. Only a detector fitted with ``causal=True``
        streams, since its scores use the past alone.
        """
        check_is_fitted(self, "threshold_")
        if not self.causal:
            raise AnomalyzerError(
                f"{type(self).__name__} was fitted with causal=False; fit it with "
                "causal=True to score points as they arrive."
            )
        X = check_series(X, n_channels=self.n_features_in_)
        scores = self._score_of(self._step(self.stream_state_, X))
        spot = getattr(self, "spot_", None)
        if spot is not None:
            adaptive = spot.update(scores)
            return StreamScores(scores, adaptive.flags, adaptive.thresholds)
        thresholds = np.full(scores.shape, self.threshold_)
        return StreamScores(scores, scores > thresholds, thresholds)

    def adapt_threshold(
        self, method: str = "spot", risk: float = 1e-4, level: float = 0.98, depth: int = 10
    ) -> SeriesDetector:
        """Flag streamed points by an extreme-value threshold that adapts, not ``threshold_``.

        SPOT (``"spot"``) or drift-following DSPOT (``"dspot"``, Siffer et al.,
        KDD 2017) is calibrated on the training scores and keeps learning the
        tail of the scores as they stream; ``risk`` is the false-alarm
        probability it aims at per point. ``method="fixed"`` goes back to
        ``threshold_``.
        """
        from anomalyzer.timeseries.spot import DSpot, Spot

        check_is_fitted(self, "threshold_")
        if method == "fixed":
            self.spot_ = None
            return self
        if method == "spot":
            spot: Spot = Spot(risk=risk, level=level)
        elif method == "dspot":
            spot = DSpot(risk=risk, level=level, depth=depth)
        else:
            raise AnomalyzerError(f"method must be 'spot', 'dspot' or 'fixed', got {method!r}.")
        self.spot_ = spot.fit(self.decision_scores_)
        return self

    # -- combination of channels ----------------------------------------------

    def _score_of(self, parts: SeriesParts) -> np.ndarray:
        return parts.score if parts.score is not None else self._combine(parts.z)

    def _fit_combination(self, z: np.ndarray) -> None:
        d = z.shape[1]
        if d == 1 or not self._joint:
            self.precision_ = np.eye(d)
            return
        from sklearn.covariance import LedoitWolf

        clipped = np.clip(z, -_CLIP_Z, _CLIP_Z)
        if not clipped.std(axis=0).all():
            self.precision_ = np.eye(d)
            return
        # Ledoit-Wolf shrinks as much as the sample size calls for: little
        # with thousands of points, so two metrics that always move together
        # keep the narrow direction in which their parting shows.
        cov = LedoitWolf().fit(clipped).covariance_
        sd = np.sqrt(np.diag(cov))
        self.precision_ = np.linalg.inv(cov / np.outer(sd, sd))

    def _combine(self, z: np.ndarray) -> np.ndarray:
        d = z.shape[1]
        if d == 1:
            return np.abs(z[:, 0])
        if not self._joint:
            return np.sqrt(np.mean(z * z, axis=1))
        # Scaled by sqrt(d) back to the units of one channel's |z|.
        d2 = np.einsum("ij,jk,ik->i", z, self.precision_, z)
        return np.sqrt(np.maximum(d2, 0.0) / d)

    def _contributions(self, z: np.ndarray) -> np.ndarray:
        if z.shape[1] == 1 or not self._joint:
            return np.abs(z)
        # Each channel's share of the Mahalanobis form z' P z; they sum to it.
        return np.maximum(z * (z @ self.precision_), 0.0)

    def _threshold(self, scores: np.ndarray) -> float:
        return threshold_from_contamination(scores, self.contamination)

    # -- for subclasses -------------------------------------------------------

    def _validate_params(self) -> None:
        """Raise ``AnomalyzerError`` for a bad parameter value."""

    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _new_state(self) -> dict[str, Any]:
        """A fresh causal state: what the recursion knows before the first point."""
        raise NotImplementedError

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        """Score ``X`` point by point from ``state``, updating it in place."""
        raise NotImplementedError

    def _batch(self, X: np.ndarray) -> SeriesParts:
        """Offline scoring of a whole series; the causal recursion unless overridden."""
        return self._step(self._new_state(), X)


def _fingerprint(X: np.ndarray) -> tuple[tuple[int, ...], int]:
    return X.shape, hash(np.ascontiguousarray(X).tobytes())


def robust_scale(values: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-column 1.4826 × MAD, never below ``floor`` (nor zero).

    >>> robust_scale(np.array([[1.0], [2.0], [3.0], [100.0]])).round(3)
    array([1.483])
    """
    med = np.median(values, axis=0)
    mad = 1.4826 * np.median(np.abs(values - med), axis=0)
    return np.maximum(mad, max(floor, 1e-12))
