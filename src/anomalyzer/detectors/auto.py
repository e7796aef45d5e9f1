"""``auto``: a detector that spares the user the choice of a detector.

No single unsupervised detector wins everywhere (ADBench's finding): isolation
forests miss rare categories seen once, univariate detectors miss broken
relations between columns, neighbour methods suffer in high dimensions. ``auto``
fits a small, diverse committee chosen from a profile of the data and averages
their scores after putting each on a common, robust scale learned at fit time:

- each member's training scores are log-transformed when they are positive and
  strongly right-skewed (distances, densities), then centred on their median
  and divided by their scaled median absolute deviation, so that a typical row
  scores about 0 for every member and a point one member finds far out keeps
  a large value;
- the combined score is the mean of the members' scaled scores (averaging of
  standardised scores, as in Aggarwal and Sathe's study of outlier ensembles:
  it keeps the members' strengths and evens out their failures, and its
  distribution stays well-shaped for the automatic threshold);
- the same medians and scales are applied to new rows, so scoring never refits.

The committee depends on the data, not on labels: every member is cheap on
large tables (trees, histograms, bounded reference samples), and methods that
degrade with many features are left out when there are many.

>>> rng = np.random.default_rng(0)
>>> X = np.r_[rng.normal(size=(300, 3)), [[6.0, 0.0, 0.0]]]
>>> det = Auto(random_state=0).fit(X)
>>> int(np.argmax(det.decision_scores_))
300
>>> int(np.argmax(det.explain(X[-1:])[0]))
0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError

# One or two members per family: trees, proximity, per-feature tails,
# clustering and a linear model, so that their blind spots differ. With many
# features, distances lose contrast and cost grows with every feature, so the
# proximity and clustering members are left out.
_COMMITTEE = ("iforest", "knn", "ecod", "hbos", "cblof", "pca")
_HIGH_DIM_COMMITTEE = ("iforest", "ecod", "hbos", "pca")
_HIGH_DIM = 200
# Above this many features a k-d tree no longer prunes and neighbour search is
# brute force (rows x reference sample x features), so on tables with many rows
# the proximity member would cost more than the rest of the committee together.
_TREE_DIM = 15
_MANY_ROWS = 100_000


def committee_for(n_rows: int, n_features: int) -> tuple[str, ...]:
    """The members ``auto`` uses for a table of this shape.

    >>> committee_for(1000, 10)
    ('iforest', 'knn', 'ecod', 'hbos', 'cblof', 'pca')
    """
    if n_features > _HIGH_DIM:
        return _HIGH_DIM_COMMITTEE
    if n_features > _TREE_DIM and n_rows > _MANY_ROWS:
        return tuple(m for m in _COMMITTEE if m != "knn")
    return _COMMITTEE


class Auto(BaseDetector):
    """Average of robustly scaled scores of a committee chosen from the data's shape.

    Parameters
    ----------
    members:
        Detector names to combine; ``None`` chooses them from the data (see
        :func:`committee_for`).
    contamination:
        Share of rows to flag, or ``"auto"``.
    random_state:
        Seed passed to every randomised member.
    """

    def __init__(
        self,
        members: Sequence[str] | None = None,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.members = members
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        from anomalyzer import detectors

        if self.members is None:
            return
        if isinstance(self.members, str) or len(self.members) == 0:
            raise AnomalyzerError(
                "members must be a non-empty list of detector names, e.g. ['iforest', 'knn']."
            )
        for name in self.members:
            if detectors.spec(name).name == "auto":
                raise AnomalyzerError("members of 'auto' cannot include 'auto' itself.")

    def _fit(self, X: np.ndarray) -> None:
        from anomalyzer import detectors

        names = tuple(self.members) if self.members is not None else committee_for(*X.shape)
        self.members_ = []
        self.scalers_ = []
        for name in names:
            params: dict[str, Any] = {}
            if detectors.accepts(name, "random_state"):
                params["random_state"] = self.random_state
            member = detectors.make(name, **params).fit(X)
            self.members_.append((name, member))
            self.scalers_.append(_fit_scaler(member.decision_scores_))
        self._training = _combine(
            np.array(
                [
                    _apply_scaler(s, m.decision_scores_)
                    for s, (_, m) in zip(self.scalers_, self.members_, strict=True)
                ]
            )
        )

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        scores = self._training
        del self._training
        return scores

    def _member_scores(self, X: np.ndarray) -> np.ndarray:
        return np.array(
            [
                _apply_scaler(s, m.decision_function(X))
                for s, (_, m) in zip(self.scalers_, self.members_, strict=True)
            ]
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        return _combine(self._member_scores(X))

    def _explain(self, X: np.ndarray) -> np.ndarray:
        # Each member's explanation, normalised per row, is weighted by how far
        # that member puts the row above typical: members that see nothing
        # unusual in a row do not dilute the ones that do.
        weights = np.maximum(self._member_scores(X), 0.0)
        out = np.zeros(X.shape, dtype=np.float64)
        for w, (_, member) in zip(weights, self.members_, strict=True):
            if not w.any():
                continue
            rows = np.flatnonzero(w > 0)
            contrib = member.explain(X[rows])
            total = contrib.sum(axis=1, keepdims=True)
            share = np.divide(contrib, total, out=np.zeros_like(contrib), where=total > 0)
            out[rows] += w[rows, None] * share
        return out / len(self.members_)

    @property
    def member_names_(self) -> list[str]:
        """Names of the fitted members."""
        return [name for name, _ in self.members_]


def _combine(member_scores: np.ndarray) -> np.ndarray:
    """Mean over members (rows of ``member_scores``)."""
    return member_scores.mean(axis=0)


def _fit_scaler(scores: np.ndarray) -> tuple[bool, float, float]:
    """(log first?, centre, scale) that put ``scores`` on a robust z scale."""
    log = _skewed_positive(scores)
    t = np.log(scores) if log else scores
    centre = float(np.median(t))
    scale = 1.4826 * float(np.median(np.abs(t - centre)))
    # A spread at rounding level (a member that scores every row of a regular grid
    # alike) is no spread: dividing by it would put ordinary rows at 1e14.
    noise = 1e-9 * max(abs(centre), float(np.max(np.abs(t))) if t.size else 0.0)
    if not scale > noise:
        scale = float(np.std(t))
    if not scale > noise:
        scale = 1.0
    return log, centre, scale


def _apply_scaler(scaler: tuple[bool, float, float], scores: np.ndarray) -> np.ndarray:
    log, centre, scale = scaler
    if log:
        # New rows may score 0 where all training scores were positive.
        scores = np.log(np.maximum(scores, np.finfo(np.float64).tiny))
    return (scores - centre) / scale


def _skewed_positive(scores: np.ndarray) -> bool:
    if scores.min() <= 0:
        return False
    q50, q90, q99 = np.quantile(scores, [0.5, 0.9, 0.99])
    return bool((q99 - q50) > 2.0 * (q90 - q50) and q99 / q50 > 1.5)
