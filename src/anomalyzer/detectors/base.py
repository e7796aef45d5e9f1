"""The detector contract that every detector in the registry meets.

A detector is a scikit-learn estimator: parameters in ``__init__`` only,
learned state in attributes ending with ``_``. Subclasses implement
``_fit(X)`` and ``_score(X)``; this base class does the validation, the
training scores, the threshold and a model-agnostic ``explain``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from anomalyzer.thresholds import TAIL_Z, threshold_from_contamination
from anomalyzer.validation import check_array, check_contamination

# Values (rows x features x features) in one block of the model-agnostic
# explanation: about 16 MiB, so wide tables are explained a few rows at a time.
_EXPLAIN_VALUES = 2_000_000


class ScoringContract(BaseEstimator):
    """What every detector, table or series, offers on top of ``fit`` and ``decision_function``.

    Higher scores are more anomalous; ``threshold_`` (set by ``fit``) turns
    them into flags. Table detectors (:class:`BaseDetector`) score rows,
    series detectors (:class:`~anomalyzer.timeseries.base.SeriesDetector`)
    score the points of a series.
    """

    threshold_: float
    decision_scores_: np.ndarray

    def fit(self, X: Any, y: Any = None) -> Any:
        raise NotImplementedError

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def score_samples(self, X: Any) -> np.ndarray:
        """Negated anomaly score, scikit-learn's convention (higher = more normal)."""
        return -self.decision_function(X)

    def predict(self, X: Any) -> np.ndarray:
        """1 for what scores above ``threshold_``, 0 otherwise."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on ``X`` and return the flags of what it was fitted on."""
        return (self.fit(X).decision_scores_ > self.threshold_).astype(np.int64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class BaseDetector(ScoringContract):
    """Base class of all detectors: higher score = more anomalous.

    Subclasses set ``contamination`` (and usually ``random_state``) in their own
    ``__init__`` and implement :meth:`_fit` and :meth:`_score`. Those that can
    say exactly how much each feature adds to a score override :meth:`_explain`.
    """

    #: Fewest training rows the method can work with.
    _min_rows: int = 2

    def __init__(self, contamination: float | str = "auto") -> None:
        self.contamination = contamination

    # -- the contract ---------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> BaseDetector:
        """Learn what is normal from ``X``; labels ``y`` are ignored."""
        check_contamination(self.contamination)
        self._validate_params()
        X = check_array(X, min_rows=self._min_rows)
        self.n_features_in_ = X.shape[1]
        # Typical values: the reference the model-agnostic explanation swaps in.
        self.feature_medians_ = np.median(X, axis=0)
        self._fit(X)
        self.decision_scores_ = np.asarray(self._training_scores(X), dtype=np.float64)
        self.threshold_ = threshold_from_contamination(
            self.decision_scores_, self.contamination, tail_z=TAIL_Z
        )
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly score per row of ``X`` (higher = more anomalous), without refitting."""
        check_is_fitted(self, "threshold_")
        X = check_array(X, n_features=self.n_features_in_)
        return np.asarray(self._score(X), dtype=np.float64)

    def explain(self, X: Any) -> np.ndarray:
        """Per-feature contribution to each row's score, shape ``(n_rows, n_features)``.

        Larger means more responsible; contributions are never negative.
        """
        check_is_fitted(self, "threshold_")
        X = check_array(X, n_features=self.n_features_in_)
        out = np.asarray(self._explain(X), dtype=np.float64)
        return np.maximum(out, 0.0)

    # -- for subclasses -------------------------------------------------------

    def _validate_params(self) -> None:
        """Raise ``AnomalyzerError`` for a bad parameter value."""

    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        """Scores of the training rows; neighbour methods leave each row out of its own."""
        return self._score(X)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        """Model-agnostic: how far the score drops when a feature takes its typical value."""
        return occlusion_explain(self._score, X, self.feature_medians_)


def occlusion_explain(
    score: Any, X: np.ndarray, reference: np.ndarray, *, block: int | None = None
) -> np.ndarray:
    """Drop in ``score`` when each feature in turn is replaced by ``reference``.

    >>> score = lambda X: np.abs(X).sum(axis=1)
    >>> occlusion_explain(score, np.array([[3.0, -1.0]]), np.zeros(2))
    array([[3., 1.]])
    """
    n, d = X.shape
    if block is None:
        block = max(1, _EXPLAIN_VALUES // (d * d))
    out = np.empty((n, d), dtype=np.float64)
    for start in range(0, n, block):
        rows = X[start : start + block]
        base = score(rows)
        m = rows.shape[0]
        # All d occluded copies of the block scored in one call.
        tiled = np.repeat(rows[None, :, :], d, axis=0)
        idx = np.arange(d)
        tiled[idx, :, idx] = reference[:, None]
        occluded = score(tiled.reshape(d * m, -1)).reshape(d, m)
        out[start : start + m] = (base[None, :] - occluded).T
    return out
