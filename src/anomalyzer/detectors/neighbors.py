"""Proximity detectors: distance to the k-th neighbour (KNN) and local outlier factor (LOF).

Both compare a row with its nearest neighbours in a reference set: the
training rows, or on big data a random sample of ``max_samples`` of them, so
that fitting and scoring stay near-linear in the number of rows (a k-d or ball
tree over at most ``max_samples`` rows, queried in bounded chunks).

Training rows are scored leaving themselves out of their own neighbourhood, as
PyOD does: a row in the reference set is compared with the other reference
rows, a row outside it with the whole set. New rows are compared with the
whole reference set, so a row scores the same alone or in a batch.

Duplicate rows are stored once with a count, and a query row is looked up
once however often it repeats. The results are those of the plain method (a
row repeated five times is five neighbours), but trees stay fast on data that
is mostly repeats, where a tree over the raw rows must search every copy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_int

# Unique query rows per tree query: bounds the memory of neighbour arrays.
_CHUNK_ROWS = 16384
# Floats in the per-chunk feature arrays of explanations (about 32 MiB).
_CHUNK_FLOATS = 1 << 22
# Relative floor of a mean reachability distance: keeps LOF finite when a row
# has at least k exact duplicates (zero reachability, infinite density).
_REACH_FLOOR = 1e-10
_KNN_METHODS = ("largest", "mean", "median")


def unique_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``X`` (in order of first appearance), each row's index among them, counts.

    Rows are grouped by a hash and the grouping is verified, so a hash
    collision falls back to an exact sort instead of merging different rows.

    >>> U, inverse, counts = unique_rows(np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0]]))
    >>> U.tolist(), inverse.tolist(), counts.tolist()
    ([[1.0, 2.0], [0.0, 1.0]], [0, 1, 0], [2, 1])
    """
    n = X.shape[0]
    hashes = pd.util.hash_pandas_object(pd.DataFrame(X, copy=False), index=False).to_numpy()
    inverse, distinct = pd.factorize(hashes)
    first = np.empty(len(distinct), dtype=np.intp)
    # Reversed assignment leaves the first occurrence of each group in place.
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    U = X[first]
    if not np.array_equal(U[inverse], X):
        U, inverse = np.unique(X, axis=0, return_inverse=True)
        inverse = inverse.ravel()
    return U, inverse.astype(np.intp), np.bincount(inverse, minlength=len(U))


def reference_sample(n: int, max_samples: int, random_state: int | None) -> np.ndarray | None:
    """Sorted indices of a random sample of ``max_samples`` rows, or None to keep all ``n``.

    >>> reference_sample(10, 20, 0) is None
    True
    >>> reference_sample(10, 4, 0).shape
    (4,)
    """
    if n <= max_samples:
        return None
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=max_samples, replace=False))


def training_scores(
    X: np.ndarray,
    sample: np.ndarray | None,
    reference_scores: np.ndarray,
    score_rows: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Scores of the training rows, reusing those of the reference rows found while fitting.

    ``reference_scores`` holds one score per reference row (NaN where fitting
    did not settle it); ``score_rows(rows, position)`` scores the others,
    ``position`` being each row's place in the reference set or -1.

    >>> X = np.arange(4.0).reshape(-1, 1)
    >>> training_scores(X, np.array([1, 3]), np.array([7.0, np.nan]), lambda r, p: r[:, 0] + p)
    array([-1.,  7.,  1.,  4.])
    """
    n = X.shape[0]
    if sample is None:
        position = np.arange(n)
    else:
        position = np.full(n, -1, dtype=np.intp)
        position[sample] = np.arange(sample.size)
    known = position >= 0
    known[known] = ~np.isnan(reference_scores[position[known]])
    out = np.empty(n, dtype=np.float64)
    out[known] = reference_scores[position[known]]
    rest = np.flatnonzero(~known)
    if rest.size:
        out[rest] = score_rows(X[rest], position[rest])
    return out


def check_random_state(random_state: int | None) -> None:
    """``random_state`` must be None or a non-negative integer."""
    if random_state is not None:
        check_int("random_state", random_state, minimum=0)


class NeighborIndex:
    """k-nearest-neighbour queries against reference rows stored once each with a count.

    ``kneighbors`` answers as if every copy were stored: the j-th neighbour of
    a row is the distinct reference row where the running count of copies,
    nearest first, reaches j. ``exclude`` leaves one copy of the given
    reference row out, which is how a reference row is kept out of its own
    neighbourhood. Rows given with ``counts`` are taken as already distinct.

    >>> index = NeighborIndex(np.array([[0.0], [0.0], [1.0], [3.0]]))
    >>> dist, ind = index.kneighbors(np.array([[0.0]]), 3)
    >>> dist.tolist(), ind.tolist()
    ([[0.0, 0.0, 1.0]], [[0, 0, 1]])
    >>> index.kneighbors(np.array([[0.0]]), 3, exclude=np.array([0]))[0].tolist()
    [[0.0, 1.0, 3.0]]
    """

    def __init__(self, X: np.ndarray, counts: np.ndarray | None = None) -> None:
        if counts is None:
            self.points, self.inverse, self.counts = unique_rows(X)
        else:
            # Rows already distinct, with their number of copies.
            self.points, self.inverse, self.counts = X, np.arange(X.shape[0]), counts
        self.tree = NearestNeighbors(n_jobs=-1).fit(self.points)

    def kneighbors(
        self, X: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distances and distinct-row indices of the ``k`` nearest reference rows, nearest first.

        ``exclude[i]`` is the distinct reference row whose copy row ``i`` is
        (left out once), or -1 for none. Rows are looked up in chunks, which
        bounds the memory of the intermediate arrays.
        """
        if X.shape[0] <= _CHUNK_ROWS:
            return self._kneighbors(X, k, exclude)
        dist = np.empty((X.shape[0], k), dtype=np.float64)
        ind = np.empty((X.shape[0], k), dtype=np.intp)
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            part = slice(start, start + _CHUNK_ROWS)
            ex = None if exclude is None else exclude[part]
            dist[part], ind[part] = self._kneighbors(X[part], k, ex)
        return dist, ind

    def _kneighbors(
        self, X: np.ndarray, k: int, exclude: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        n_points = self.points.shape[0]
        q = min(k + (exclude is not None), n_points)
        dist, ind = self.tree.kneighbors(X, n_neighbors=q)
        copies = self.counts[ind]
        if exclude is not None:
            copies = copies - (ind == exclude[:, None])
        # Slot j (0-based) of the expanded list holds the first distinct row
        # whose cumulative copy count exceeds j: one sorted search over all
        # rows at once, each row's counts shifted into a range of its own.
        cum = np.cumsum(copies, axis=1, dtype=np.int64)
        n = cum.shape[0]
        width = int(cum[:, -1].max()) + k + 1
        shift = np.arange(n, dtype=np.int64)[:, None] * width
        found = np.searchsorted((cum + shift).ravel(), (np.arange(k) + shift).ravel(), "right")
        pos = found.reshape(n, k) - np.arange(n)[:, None] * q
        pos = np.minimum(pos, q - 1)
        rows = np.arange(n)[:, None]
        return dist[rows, pos], ind[rows, pos]

    def map_rows(
        self,
        X: np.ndarray,
        k: int,
        reduce: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
        exclude: np.ndarray | None = None,
    ) -> np.ndarray:
        """``reduce(rows, dist, ind)`` over the neighbours of each row of ``X``, chunk by chunk.

        Each distinct (row, excluded copy) pair is looked up once; the result
        is repeated for its duplicates.
        """
        values, inverse, _ = unique_rows(X)
        if exclude is None:
            keys, key_exclude = inverse, None
        else:
            # A value occurs in and out of the reference set: one lookup for each.
            pair = inverse.astype(np.int64) * 2 + (exclude >= 0)
            distinct_pairs, keys = np.unique(pair, return_inverse=True)
            key_exclude = np.full(distinct_pairs.size, -1, dtype=np.intp)
            key_exclude[keys] = exclude
            values = values[distinct_pairs // 2]
        parts = []
        for start in range(0, values.shape[0], _CHUNK_ROWS):
            rows = values[start : start + _CHUNK_ROWS]
            ex = None if key_exclude is None else key_exclude[start : start + _CHUNK_ROWS]
            dist, ind = self.kneighbors(rows, k, exclude=ex)
            parts.append(reduce(rows, dist, ind))
        return np.concatenate(parts)[keys]

    def map_training_rows(
        self,
        X: np.ndarray,
        sample: np.ndarray | None,
        k: int,
        reduce: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """Like :meth:`map_rows` for the training rows, each reference row left out of its own.

        ``sample`` holds the indices of the training rows the index was built
        on, or None when it was built on all of them.
        """
        if sample is None:
            exclude = self.inverse
        else:
            exclude = np.full(X.shape[0], -1, dtype=np.intp)
            exclude[sample] = self.inverse
        return self.map_rows(X, k, reduce, exclude=exclude)


class _NeighborDetector(BaseDetector):
    """Shared fitting of the reference set, parameter checks and training scores."""

    n_neighbors: int
    max_samples: int
    random_state: int | None

    def _validate_params(self) -> None:
        check_int("n_neighbors", self.n_neighbors)
        check_int("max_samples", self.max_samples, minimum=2)
        check_random_state(self.random_state)

    def _fit_reference(self, X: np.ndarray) -> None:
        self.sample_indices_ = reference_sample(X.shape[0], self.max_samples, self.random_state)
        reference = X if self.sample_indices_ is None else X[self.sample_indices_]
        self.index_ = NeighborIndex(reference)
        # Training rows of the reference set have one row fewer to compare with.
        self.n_neighbors_ = min(self.n_neighbors, reference.shape[0] - 1)

    def _reduce(self, rows: np.ndarray, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.index_.map_rows(X, self.n_neighbors_, self._reduce)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return self.index_.map_training_rows(
            X, self.sample_indices_, self.n_neighbors_, self._reduce
        )


class KNN(_NeighborDetector):
    """Distance to the k-th nearest neighbour (or the mean or median of the k distances).

    Ramaswamy et al. (2000); scores equal PyOD's ``KNN`` when all rows form
    the reference set (at most ``max_samples``). Beyond that the reference is
    a random sample of ``max_samples`` rows, which keeps the ranking while the
    distances grow (the k-th neighbour among fewer rows lies further away).

    The explanation is exact: feature j contributes the mean over the k
    nearest reference rows of the squared difference in j, and the
    contributions add up to the mean squared distance to those neighbours.

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 3)), [[0.0, 7.0, 0.0]]]
    >>> det = KNN().fit(X)
    >>> int(np.argmax(det.decision_scores_))
    300
    >>> int(np.argmax(det.explain(X[-1:])))
    1
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        method: str = "largest",
        max_samples: int = 50_000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.method = method
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.method not in _KNN_METHODS:
            raise AnomalyzerError(
                f"method must be one of {', '.join(map(repr, _KNN_METHODS))}, got {self.method!r}."
            )

    def _fit(self, X: np.ndarray) -> None:
        self._fit_reference(X)

    def _reduce(self, rows: np.ndarray, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        if self.method == "largest":
            return dist[:, -1]
        if self.method == "mean":
            return dist.mean(axis=1)
        return np.median(dist, axis=1)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        points = self.index_.points

        def squared_gaps(rows: np.ndarray, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
            out = np.zeros(rows.shape, dtype=np.float64)
            # One neighbour at a time: memory (rows, features), not (rows, k, features).
            for j in range(ind.shape[1]):
                out += (rows - points[ind[:, j]]) ** 2
            return out / ind.shape[1]

        k = self.n_neighbors_
        step = max(1, _CHUNK_FLOATS // (X.shape[1] * (k + 1)))
        return np.concatenate(
            [
                self.index_.map_rows(X[start : start + step], k, squared_gaps)
                for start in range(0, X.shape[0], step)
            ]
        )


class LOF(_NeighborDetector):
    """Local outlier factor: the row's local density relative to that of its neighbours.

    Breunig et al. (2000), as in scikit-learn's ``LocalOutlierFactor`` (and
    PyOD's ``LOF``): about 1 inside a cluster, well above 1 for a row sparser
    than its neighbours. The score is the factor itself, so higher is more
    anomalous. A row with k or more exact duplicates has zero reachability
    distance; a floor relative to the data's typical k-distance keeps its
    density, and the factors of rows near it, finite. On big data the
    reference set is a random sample of ``max_samples`` rows.

    The explanation is model-agnostic (occlusion, see :class:`BaseDetector`).

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 2)), [[4.0, 4.0]]]
    >>> det = LOF().fit(X)
    >>> int(np.argmax(det.decision_scores_))
    300
    >>> bool(det.decision_function([[0.0, 0.0]])[0] < 1.2)
    True
    """

    def __init__(
        self,
        n_neighbors: int = 20,
        max_samples: int = 50_000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        self._fit_reference(X)
        index, k = self.index_, self.n_neighbors_
        points = index.points
        # Each distinct reference row, one copy of itself left out.
        dist, ind = index.kneighbors(points, k, exclude=np.arange(points.shape[0]))
        self.k_distance_ = dist[:, -1]
        positive = self.k_distance_[self.k_distance_ > 0]
        self.reach_floor_ = _REACH_FLOOR * (float(positive.mean()) if positive.size else 1.0)
        self.local_density_ = 1.0 / self._mean_reach(dist, ind)
        # The reference rows' own factors fall out of the same neighbour lists:
        # keeping them saves querying those rows again for the training scores.
        factor = self.local_density_[ind].mean(axis=1) / self.local_density_
        self.reference_scores_ = factor[index.inverse]

    def _mean_reach(self, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        reach = np.maximum(self.k_distance_[ind], dist)
        return reach.mean(axis=1) + self.reach_floor_

    def _reduce(self, rows: np.ndarray, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        # Neighbours' mean density over the row's own (1 / mean reachability).
        return self.local_density_[ind].mean(axis=1) * self._mean_reach(dist, ind)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return training_scores(
            X, self.sample_indices_, self.reference_scores_, lambda rows, _: self._score(rows)
        )
