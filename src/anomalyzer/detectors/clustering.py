"""Clustering detectors: distance to the large clusters (CBLOF) or to the dense core (DBSCAN).

Both summarise normal data by a clustering fitted on at most ``max_samples``
rows, then score every row, training or new, by its distance to what the
clustering calls normal: the centres of the large k-means clusters, or the
core points of DBSCAN. Scoring is a nearest-centre or nearest-core-point
search, so it stays linear in the rows.

Each explanation is exact: feature j contributes the squared difference in j
to the centre or core point the score is measured to, and the contributions
add up to the squared score.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from sklearn.cluster import DBSCAN as _SklearnDBSCAN
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.detectors.neighbors import (
    NeighborIndex,
    check_random_state,
    reference_sample,
    training_scores,
    unique_rows,
)
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_float, check_int

# Share of reference rows that DBSCAN's data-driven eps makes core points
# (eps = this quantile of their k-distances).
_CORE_SHARE = 0.5
# Rows per chunk of the nearest-centre search.
_CHUNK_ROWS = 16384


def large_clusters(sizes: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Indices of the large clusters by He et al.'s rule (as in PyOD's CBLOF).

    Clusters sorted by size, the large ones are the first b: the smallest b
    whose clusters hold ``alpha`` of the rows and after which sizes drop by a
    factor ``beta``; failing both, the first b meeting either; failing that,
    all clusters.

    >>> large_clusters(np.array([5, 500, 450, 20]), alpha=0.9, beta=5)
    array([1, 2])
    """
    order = np.argsort(-sizes, kind="stable")
    sorted_sizes = sizes[order].astype(np.float64)
    k = sizes.size
    b = np.arange(1, k)
    by_alpha = np.cumsum(sorted_sizes)[:-1] >= alpha * sorted_sizes.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        by_beta = sorted_sizes[:-1] / sorted_sizes[1:] >= beta
    for ok in (by_alpha & by_beta, by_alpha, by_beta):
        if ok.any():
            return np.sort(order[: b[ok][0]])
    return np.sort(order)


class CBLOF(BaseDetector):
    """Cluster-based local outlier factor (He et al. 2003): distance to the nearest large cluster.

    k-means splits the data into ``n_clusters``; the clusters holding most of
    the rows are "large" (see :func:`large_clusters`). A row in a large
    cluster scores its distance to that cluster's centre, a row in a small
    cluster its distance to the nearest large cluster's centre, as in PyOD's
    ``CBLOF`` (``use_weights=False``: He et al.'s weighting by cluster size
    makes every row of a big cluster look more anomalous than any row of a
    small one). Both cases are the distance to the nearest large centre.

    k-means runs on at most ``max_samples`` rows, repeated rows once each
    with their count as weight, and keeps the best of 3 starts, so that the
    scores depend little on the seed.

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 2)), rng.normal(8, 1, size=(300, 2)), [[4.0, -6.0]]]
    >>> det = CBLOF(n_clusters=4, random_state=0).fit(X)
    >>> int(np.argmax(det.decision_scores_))
    600
    >>> int(np.argmax(det.explain(X[-1:])))
    1
    """

    def __init__(
        self,
        n_clusters: int = 8,
        alpha: float = 0.9,
        beta: float = 5.0,
        max_samples: int = 100_000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.alpha = alpha
        self.beta = beta
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        check_int("n_clusters", self.n_clusters)
        check_float("alpha", self.alpha, low=0, high=1)
        check_float("beta", self.beta, low=1)
        check_int("max_samples", self.max_samples, minimum=2)
        check_random_state(self.random_state)

    def _fit(self, X: np.ndarray) -> None:
        sample = reference_sample(X.shape[0], self.max_samples, self.random_state)
        points, _, counts = unique_rows(X if sample is None else X[sample])
        # No more clusters than distinct rows, else k-means leaves some empty.
        k = min(self.n_clusters, points.shape[0])
        kmeans = KMeans(n_clusters=k, n_init=3, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            kmeans.fit(points, sample_weight=counts)
        self.cluster_centers_ = kmeans.cluster_centers_
        self.cluster_sizes_ = np.bincount(kmeans.labels_, weights=counts, minlength=k)
        self.large_clusters_ = large_clusters(self.cluster_sizes_, self.alpha, self.beta)

    def _nearest_large(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Squared distance to the nearest large centre, and that centre's index."""
        centers = self.cluster_centers_[self.large_clusters_]
        best = np.full(X.shape[0], np.inf)
        which = np.zeros(X.shape[0], dtype=np.intp)
        # One centre at a time: exact per row (no dot-product expansion),
        # memory (rows, features).
        for j, center in enumerate(centers):
            sq = ((X - center) ** 2).sum(axis=1)
            closer = sq < best
            best[closer] = sq[closer]
            which[closer] = j
        return best, self.large_clusters_[which]

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                np.sqrt(self._nearest_large(X[start : start + _CHUNK_ROWS])[0])
                for start in range(0, X.shape[0], _CHUNK_ROWS)
            ]
        )

    def _explain(self, X: np.ndarray) -> np.ndarray:
        _, which = self._nearest_large(X)
        return (X - self.cluster_centers_[which]) ** 2


class DBSCAN(BaseDetector):
    """DBSCAN's core points as the normal data: score = distance to the nearest core point.

    Ester et al. (1996): a row is a core point when at least ``min_samples``
    rows (itself included) lie within ``eps`` of it. Rows inside dense
    regions score near 0, rows far from every dense region score their
    distance to it, which turns the clustering into a continuous score. A
    core row of the training data is scored against the other core rows, so
    it does not score 0 merely for being one.

    ``min_samples`` defaults to twice the number of features, within [5, 50]
    (Sander et al. 1998). ``eps`` defaults to the median k-distance of the
    reference rows (the distance to their ``min_samples``-th row), in place of
    the knee of the sorted k-distance plot that Ester et al. read by eye: a
    row is then a core point when its neighbourhood is at least as dense as
    the typical row's, and the score is the distance to the denser half of
    the data, which holds normal rows as long as anomalies are a minority.

    scikit-learn's ``DBSCAN`` finds the core points among at most
    ``max_samples`` rows, given each row's nearest neighbours up to
    ``min_samples`` rows as a sparse graph: memory stays linear even where
    many rows lie within ``eps`` of each other, and the core points are
    exactly those of DBSCAN on those rows. The score needs only the core
    points, not the clusters (which that truncated graph could split).

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 2)), [[6.0, 0.0]]]
    >>> det = DBSCAN(random_state=0).fit(X)
    >>> int(np.argmax(det.decision_scores_))
    300
    >>> det.decision_function([[0.0, 0.0], [0.0, 10.0]]).round(1)
    array([0.2, 8.5])
    """

    def __init__(
        self,
        eps: float | None = None,
        min_samples: int | None = None,
        max_samples: int = 50_000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        if self.eps is not None:
            check_float("eps", self.eps, low=0)
        if self.min_samples is not None:
            check_int("min_samples", self.min_samples)
        check_int("max_samples", self.max_samples, minimum=2)
        check_random_state(self.random_state)

    def _fit(self, X: np.ndarray) -> None:
        self.sample_indices_ = reference_sample(X.shape[0], self.max_samples, self.random_state)
        reference = X if self.sample_indices_ is None else X[self.sample_indices_]
        index = NeighborIndex(reference)
        points, counts = index.points, index.counts
        default = int(np.clip(2 * X.shape[1], 5, 50))
        m = min(self.min_samples or default, reference.shape[0])
        self.min_samples_ = m

        # Nearest rows of each distinct reference row, itself and its copies
        # included, until m rows are covered: its DBSCAN neighbourhood test.
        dist, ind = index.kneighbors(points, m)
        if self.eps is None:
            k_distance = np.repeat(dist[:, -1], counts)
            self.eps_ = float(np.quantile(k_distance, _CORE_SHARE))
        else:
            self.eps_ = float(self.eps)

        # The sparse graph holds each distinct neighbour once (the expanded
        # lists repeat a row once per copy); copies enter as sample weights.
        first = np.ones(ind.shape, dtype=bool)
        first[:, 1:] = ind[:, 1:] != ind[:, :-1]
        keep = first & (dist <= self.eps_)
        rows = np.broadcast_to(np.arange(points.shape[0])[:, None], ind.shape)
        graph = sparse.csr_matrix(
            (dist[keep], (rows[keep], ind[keep])), shape=(points.shape[0],) * 2
        )
        # scikit-learn wants eps > 0; the smallest positive float keeps eps = 0
        # meaning "exact duplicates only".
        clustering = _SklearnDBSCAN(
            eps=max(self.eps_, np.finfo(np.float64).tiny), min_samples=m, metric="precomputed"
        ).fit(graph, sample_weight=counts)
        core = np.sort(clustering.core_sample_indices_)
        if core.size == 0:
            raise AnomalyzerError(
                f"eps={self.eps_:g} leaves no core points; increase eps or leave it None."
            )
        self.core_points_ = points[core]
        self.core_index_ = NeighborIndex(self.core_points_, counts=counts[core])
        # Where each reference row sits among the core points (-1: not core).
        core_position = np.full(points.shape[0], -1, dtype=np.intp)
        core_position[core] = np.arange(core.size)
        self.reference_core_ = core_position[index.inverse]

        # Most reference rows have a core point among their neighbours found
        # above: the first one, other than a row's own copy, is its training
        # score, and only the others need a search for their nearest core point.
        is_core = core_position >= 0
        own = ind == np.arange(points.shape[0])[:, None]
        candidate = is_core[ind] & ~own
        nearest = np.where(
            candidate.any(axis=1), dist[np.arange(ind.shape[0]), candidate.argmax(axis=1)], np.nan
        )
        # A core row with copies has another core row at distance 0.
        nearest[is_core & (counts > 1)] = 0.0
        self.reference_scores_ = nearest[index.inverse]

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.core_index_.map_rows(X, 1, _first_distance)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        def search(rows: np.ndarray, position: np.ndarray) -> np.ndarray:
            # A core row of the reference set is measured to the other core rows.
            exclude = np.where(position >= 0, self.reference_core_[position], -1)
            return self.core_index_.map_rows(rows, 1, _first_distance, exclude=exclude)

        return training_scores(X, self.sample_indices_, self.reference_scores_, search)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        points = self.core_points_

        def squared_gaps(rows: np.ndarray, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
            return (rows - points[ind[:, 0]]) ** 2

        return self.core_index_.map_rows(X, 1, squared_gaps)


def _first_distance(rows: np.ndarray, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
    return dist[:, 0]
