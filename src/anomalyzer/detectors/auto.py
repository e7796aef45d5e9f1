"""``auto``: a detector that spares the user the choice of a detector.

No single unsupervised detector wins everywhere (ADBench's finding): isolation
forests miss rare categories seen once, univariate detectors miss broken
relations between columns, neighbour methods suffer in high dimensions. ``auto``
fits a small, diverse committee chosen from a profile of the data and averages
their scores after putting each on a common, bounded scale learned at fit time:

- each member's training scores are log-transformed when they are non-negative
  and strongly right-skewed (distances, densities; zeros, from duplicate rows,
  are moved to the smallest positive score first so that they cannot switch
  the transform off), then centred on their median and divided by their
  robust spread (scaled MAD, else IQR, else standard deviation);
- a member whose training scores do not vary at all is degenerate: it gets
  no vote, and a member whose scores mostly tie (a spread of zero by the MAD)
  is scaled by a wider quantile range, never by a near-zero MAD;
- each scaled score is clipped to ``[-10, 10]`` before averaging, so a member
  that puts a row 27,000 robust deviations out counts as much as one that puts
  it 10 out: the top of the ranking is where members agree (bounded
  combination, as in the outlier-ensemble studies of Aggarwal and Sathe, and
  Zimek, Campello and Sander), while a row one view finds far out (a rare
  category seen once) still ranks high;
- members of one family share one vote (ECOD and HBOS are both per-feature
  tail scores: each weighs half), so the committee is not tilted towards the
  view it holds twice;
- the same transforms are applied to new rows, so scoring never refits.

Distance-based members (``knn``, ``cblof``, ``pca``) see heavily right-skewed
columns compressed in their tail (see :func:`tail_compression`): a column of
bytes transferred, say, no longer owns every distance, while its bulk keeps
its units. The kNN member compares rows with a random reference sample of
2,000 rows and 10 neighbours (subsampling, Zimek et al. 2013: bounded cost,
and anomalies that come in clusters no longer mask one another).

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
from anomalyzer.detectors.copula import sample_skewness
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
# Members' parameters in the committee: the kNN member compares rows with a
# 2,000-row reference sample, 10 neighbours, so its cost is linear in the
# rows. (k-means of the CBLOF member on 5,000 rows instead of 100,000 was
# tried: mean ROC-AUC -0.002 on half A, +0.001 on half B, so not kept.)
_MEMBER_PARAMS: dict[str, dict[str, Any]] = {
    "knn": {"n_neighbors": 10, "max_samples": 2000},
}
# Members that share a view of the data share one vote.
_FAMILY = {"ecod": "tails", "copod": "tails", "hbos": "tails", "mad": "tails", "zscore": "tails"}
# Members that measure distances and see the tail-compressed columns.
_DISTANCE_MEMBERS = frozenset({"knn", "lof", "cblof", "dbscan", "pca", "ocsvm", "kde", "gmm"})
# Bound of a member's scaled score: beyond 10 robust deviations a row is far
# out for that member, and further out must not outvote the other members.
# Compared with the cross-half protocol among 5, 6, 8, 10 and 12: mean ROC-AUC
# equal on both halves (within 0.0005); the best mean AP on both is at 8, but
# at 8 a table's rare categories, seen by one family only, drop out of the top
# (tests/test_explanations.py keeps 2 of 3 planted rows, 10 keeps 5 of 6).
_CLIP = 10.0
# A column is compressed in its tail when its skewness exceeds this: an
# exponential distribution has skewness 2, heavier right tails more.
_TAIL_SKEWNESS = 2.0
_COMBINE = ("clipped", "mean_z")


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


def tail_compression(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns to compress, their origins (minima) and scales, fitted on ``X``.

    The rule: a column with more than two distinct values and a sample
    skewness above 2 is replaced by ``s * log1p(u / s)``, ``u`` being the
    distance above the column's training minimum and ``s`` the median of the
    positive ``u``. Below ``s`` the column keeps its units (the slope is
    about 1); far beyond, a factor of 10 adds only ``s * log(10)``. The rule
    is unchanged by shifting or rescaling the column, so it acts the same on
    raw and on robustly scaled data.

    >>> X = np.c_[np.arange(100.0), np.r_[np.ones(99), 1000.0]]
    >>> cols, origin, scale = tail_compression(X)
    >>> cols.tolist(), origin.tolist(), scale.tolist()
    ([], [], [])
    >>> X = np.c_[np.arange(100.0), np.r_[np.arange(1.0, 99.0), 5000.0, 9000.0]]
    >>> cols, origin, scale = tail_compression(X)
    >>> cols.tolist(), origin.tolist(), scale.tolist()
    ([1], [1.0], [50.0])
    """
    skew = sample_skewness(X)
    cols, origins, scales = [], [], []
    for j in np.flatnonzero(skew > _TAIL_SKEWNESS):
        column = X[:, j]
        low = float(column.min())
        u = column - low
        positive = u[u > 0]
        # Two values (a flag, a rare category) have no tail to compress.
        if positive.size == 0 or np.unique(positive).size < 2:
            continue
        cols.append(int(j))
        origins.append(low)
        scales.append(float(np.median(positive)))
    return np.array(cols, dtype=np.int64), np.array(origins), np.array(scales)


def compress_tails(
    X: np.ndarray, cols: np.ndarray, origin: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """``X`` with the columns ``cols`` compressed as :func:`tail_compression` describes.

    >>> compress_tails(np.array([[1.0, 51.0], [1.0, 5001.0]]), np.array([1]),
    ...                np.array([1.0]), np.array([50.0])).round(1)
    array([[  1. ,  34.7],
           [  1. , 230.8]])
    """
    if cols.size == 0:
        return X
    out = X.copy()
    u = X[:, cols] - origin
    # Odd in u, so that new values below the training minimum stay finite.
    out[:, cols] = np.sign(u) * scale * np.log1p(np.abs(u) / scale)
    return out


class Auto(BaseDetector):
    """Bounded average of robustly scaled scores of a committee chosen from the data's shape.

    Parameters
    ----------
    members:
        Detector names to combine; ``None`` chooses them from the data (see
        :func:`committee_for`).
    contamination:
        Share of rows to flag, or ``"auto"``.
    random_state:
        Seed passed to every randomised member.
    combine:
        ``"clipped"`` (the default): each member's robust z score is clipped
        to ``[-10, 10]`` before the weighted mean; ``"mean_z"``: the plain mean
        of unclipped robust z scores with one vote per member (the earlier
        rule, kept for comparison).
    """

    def __init__(
        self,
        members: Sequence[str] | None = None,
        contamination: float | str = "auto",
        random_state: int | None = None,
        combine: str = "clipped",
    ) -> None:
        self.members = members
        self.contamination = contamination
        self.random_state = random_state
        self.combine = combine

    def _validate_params(self) -> None:
        from anomalyzer import detectors

        if self.combine not in _COMBINE:
            raise AnomalyzerError(
                f"combine must be one of {', '.join(map(repr, _COMBINE))}, got {self.combine!r}."
            )
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
        names = tuple(detectors.spec(n).name for n in names)
        self.tail_columns_, self.tail_origins_, self.tail_scales_ = tail_compression(X)
        compressed = None
        self.members_ = []
        self.scalers_ = []
        for name in names:
            params: dict[str, Any] = {}
            if detectors.accepts(name, "random_state"):
                params["random_state"] = self.random_state
            params.update(_MEMBER_PARAMS.get(name, {}))
            view = X
            if name in _DISTANCE_MEMBERS:
                if compressed is None:
                    compressed = self._compressed(X)
                view = compressed
            member = detectors.make(name, **params).fit(view)
            self.members_.append((name, member))
            self.scalers_.append(_fit_scaler(member.decision_scores_))
        self.weights_ = self._weights(names)
        self._training = self._combine(
            self._bounded(
                np.array(
                    [
                        _apply_scaler(s, m.decision_scores_)
                        for s, (_, m) in zip(self.scalers_, self.members_, strict=True)
                    ]
                )
            )
        )

    def _weights(self, names: tuple[str, ...]) -> np.ndarray:
        """One vote per family, shared by its members; none for a degenerate member."""
        active = np.array([scaler[4] for scaler in self.scalers_], dtype=bool)
        if self.combine == "mean_z":
            weights = np.ones(len(names))
        else:
            family = [_FAMILY.get(n, n) for n in names]
            weights = np.array([1.0 / family.count(f) for f in family])
        weights = np.where(active, weights, 0.0)
        if not weights.any():
            # Every member is constant: every row is equally typical.
            weights = np.ones(len(names))
        return weights / weights.sum()

    def _compressed(self, X: np.ndarray) -> np.ndarray:
        return compress_tails(X, self.tail_columns_, self.tail_origins_, self.tail_scales_)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        scores = self._training
        del self._training
        return scores

    def _combine(self, member_scores: np.ndarray) -> np.ndarray:
        """Weighted mean over members (rows of ``member_scores``)."""
        return self.weights_ @ member_scores

    def _member_scores(self, X: np.ndarray) -> np.ndarray:
        compressed = None
        rows = []
        for scaler, (name, member) in zip(self.scalers_, self.members_, strict=True):
            view = X
            if name in _DISTANCE_MEMBERS:
                if compressed is None:
                    compressed = self._compressed(X)
                view = compressed
            rows.append(_apply_scaler(scaler, member.decision_function(view)))
        return self._bounded(np.array(rows))

    def _bounded(self, member_scores: np.ndarray) -> np.ndarray:
        """Scaled member scores clipped to ``[-10, 10]`` (unclipped for ``"mean_z"``)."""
        if self.combine == "mean_z":
            return member_scores
        return np.clip(member_scores, -_CLIP, _CLIP)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._combine(self._member_scores(X))

    def _explain(self, X: np.ndarray) -> np.ndarray:
        # Each member's explanation, normalised per row, is weighted by how far
        # that member puts the row above typical (and by its vote): members
        # that see nothing unusual in a row do not dilute the ones that do.
        # Distance members explain the compressed columns, which are the
        # input columns one to one.
        weights = np.maximum(self._member_scores(X), 0.0) * self.weights_[:, None]
        out = np.zeros(X.shape, dtype=np.float64)
        compressed = None
        for w, (name, member) in zip(weights, self.members_, strict=True):
            if not w.any():
                continue
            rows = np.flatnonzero(w > 0)
            view = X
            if name in _DISTANCE_MEMBERS:
                if compressed is None:
                    compressed = self._compressed(X)
                view = compressed
            contrib = member.explain(view[rows])
            total = contrib.sum(axis=1, keepdims=True)
            share = np.divide(contrib, total, out=np.zeros_like(contrib), where=total > 0)
            out[rows] += w[rows, None] * share
        return out

    @property
    def member_names_(self) -> list[str]:
        """Names of the fitted members."""
        return [name for name, _ in self.members_]


def _fit_scaler(scores: np.ndarray) -> tuple[bool, float, float, float, bool]:
    """(log first?, offset, centre, scale, active) that put ``scores`` on a robust z scale.

    ``active`` is False for a degenerate member, whose scores do not vary.

    >>> _fit_scaler(np.full(10, 3.0))[4]
    False
    >>> log, offset, *_ = _fit_scaler(np.r_[np.zeros(50), np.random.default_rng(0).lognormal(size=500)])
    >>> log, offset > 0
    (True, True)
    """
    scores = np.asarray(scores, dtype=np.float64)
    # A spread at rounding level (a member that scores every row of a regular
    # grid alike) is no spread: dividing by it would put ordinary rows at 1e14.
    if not np.ptp(scores) > 1e-9 * float(np.max(np.abs(scores))):
        return False, 0.0, float(scores[0]), 1.0, False
    offset = 0.0
    if scores.min() == 0.0:
        # Duplicate rows give distances of exactly 0; the smallest positive
        # score stands in for them, so the log stays defined and sensible.
        offset = float(scores[scores > 0].min())
    log = _skewed_positive(scores + offset)
    t = np.log(scores + offset) if log else scores
    centre = float(np.median(t))
    noise = 1e-9 * max(abs(centre), float(np.max(np.abs(t))))
    scale = 1.4826 * float(np.median(np.abs(t - centre)))
    if not scale > noise:
        q25, q75 = np.quantile(t, [0.25, 0.75])
        scale = float(q75 - q25) / 1.349
    if not scale > noise:
        # Mostly ties: the spread of the scores that do differ.
        scale = float(np.std(t))
    if not scale > noise:
        return False, 0.0, centre, 1.0, False
    return log, offset, centre, scale, True


def _apply_scaler(scaler: tuple[bool, float, float, float, bool], scores: np.ndarray) -> np.ndarray:
    log, offset, centre, scale, _ = scaler
    if log:
        # New rows may score 0 (or below) where all training scores were positive.
        scores = np.log(np.maximum(scores + offset, np.finfo(np.float64).tiny))
    return (scores - centre) / scale


def _skewed_positive(scores: np.ndarray) -> bool:
    if scores.min() <= 0:
        return False
    q50, q90, q99 = np.quantile(scores, [0.5, 0.9, 0.99])
    return bool((q99 - q50) > 2.0 * (q90 - q50) and q99 / q50 > 1.5)
