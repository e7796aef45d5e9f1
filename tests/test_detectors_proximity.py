"""Proximity and clustering detectors (KNN, LOF, OCSVM, CBLOF, DBSCAN) beyond the contract."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import planted
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM

from anomalyzer.detectors import clustering, neighbors
from anomalyzer.detectors.clustering import CBLOF, DBSCAN, large_clusters
from anomalyzer.detectors.neighbors import KNN, LOF, NeighborIndex
from anomalyzer.detectors.ocsvm import OCSVM
from anomalyzer.errors import AnomalyzerError

ALL = [KNN, LOF, OCSVM, CBLOF, DBSCAN]


def with_duplicates(seed: int = 0) -> np.ndarray:
    """Gaussian rows, 60 copies of one row and 30 of another, and one far row."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3))
    return np.r_[X, np.repeat(X[:1], 60, axis=0), np.repeat(X[5:6], 30, axis=0), [[9.0, 0, 0]]]


def brute_kth(X_query: np.ndarray, X_ref: np.ndarray, k: int, leave_out: bool) -> np.ndarray:
    dist = np.sort(cdist(X_query, X_ref), axis=1)
    return dist[:, k] if leave_out else dist[:, k - 1]


# -- KNN ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["largest", "mean", "median"])
def test_knn_equals_pyod(method):
    pyod_knn = pytest.importorskip("pyod.models.knn")
    X, _ = planted(n=300, d=4, n_out=15, seed=3)
    X_new, _ = planted(n=50, d=4, n_out=5, seed=4)
    ours = KNN(method=method).fit(X)
    theirs = pyod_knn.KNN(method=method).fit(X)
    np.testing.assert_allclose(ours.decision_scores_, theirs.decision_scores_, rtol=1e-12)
    np.testing.assert_allclose(ours.decision_function(X_new), theirs.decision_function(X_new))


def test_knn_duplicates_count_as_neighbours():
    X = with_duplicates()
    det = KNN(n_neighbors=5).fit(X)
    # Leave-one-out k-th distance over all rows, copies included.
    np.testing.assert_allclose(det.decision_scores_, brute_kth(X, X, 5, leave_out=True))
    # A row with 60 copies has distance 0 to its 5th neighbour; the far row does not.
    assert det.decision_scores_[0] == 0.0
    assert int(np.argmax(det.decision_scores_)) == X.shape[0] - 1


def test_knn_training_rows_leave_themselves_out():
    X = np.random.default_rng(0).normal(size=(100, 2))
    det = KNN(n_neighbors=1).fit(X)
    # Each training row's own copy is left out, so its score is the gap to another row;
    # as a new row it finds itself at distance 0.
    assert (det.decision_scores_ > 0).all()
    np.testing.assert_allclose(det.decision_function(X), 0.0)


def test_knn_explanation_is_exact_and_names_planted_feature():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    det = KNN(n_neighbors=5, method="mean").fit(X)
    row = np.array([[0.0, 0.0, 8.0, 0.0]])
    contrib = det.explain(row)
    assert int(np.argmax(contrib)) == 2
    assert contrib[0, 2] > 0.9 * contrib.sum()
    # Contributions add up to the mean squared distance to the 5 nearest rows.
    nearest = np.sort(cdist(row, X)[0])[:5]
    np.testing.assert_allclose(contrib.sum(), np.mean(nearest**2))


def test_sampled_knn_ranks_planted_outliers_first():
    X, y = planted(n=6000, d=5, n_out=30, seed=5)
    det = KNN(max_samples=800, random_state=0).fit(X)
    assert det.sample_indices_.shape == (800,)
    assert roc_auc_score(y, det.decision_scores_) > 0.99
    top = np.argsort(-det.decision_scores_)[:30]
    assert y[top].mean() >= 0.9
    # Rows in the sample are scored against the other sampled rows, the rest against all of them.
    ref = X[det.sample_indices_]
    in_sample = det.sample_indices_[:20]
    out_sample = np.setdiff1d(np.arange(200), det.sample_indices_)[:20]
    np.testing.assert_allclose(
        det.decision_scores_[in_sample], brute_kth(X[in_sample], ref, 5, leave_out=True)
    )
    np.testing.assert_allclose(
        det.decision_scores_[out_sample], brute_kth(X[out_sample], ref, 5, leave_out=False)
    )


def test_sampling_depends_on_random_state_only():
    X, _ = planted(n=3000, d=3, n_out=10, seed=6)
    a = KNN(max_samples=500, random_state=1).fit(X)
    b = KNN(max_samples=500, random_state=1).fit(X)
    c = KNN(max_samples=500, random_state=2).fit(X)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    assert not np.array_equal(a.sample_indices_, c.sample_indices_)


def test_chunked_queries_give_the_same_scores(monkeypatch):
    X = with_duplicates(seed=2)
    X_new = np.random.default_rng(3).normal(size=(40, 3))
    whole = [cls(random_state=0).fit(X) for cls in (KNN, LOF, DBSCAN)]
    monkeypatch.setattr(neighbors, "_CHUNK_ROWS", 7)
    monkeypatch.setattr(clustering, "_CHUNK_ROWS", 7)
    for det in whole:
        chunked = type(det)(random_state=0).fit(X)
        np.testing.assert_allclose(chunked.decision_scores_, det.decision_scores_)
        np.testing.assert_allclose(chunked.decision_function(X_new), det.decision_function(X_new))


def test_neighbor_index_expands_copies_and_leaves_one_out():
    index = NeighborIndex(np.array([[0.0], [0.0], [0.0], [2.0], [5.0]]))
    dist, ind = index.kneighbors(np.array([[0.0], [5.0]]), 4)
    np.testing.assert_array_equal(dist, [[0, 0, 0, 2], [0, 3, 5, 5]])
    np.testing.assert_array_equal(index.points[ind][..., 0], [[0, 0, 0, 2], [5, 2, 0, 0]])
    dist, _ = index.kneighbors(np.array([[0.0]]), 3, exclude=np.array([0]))
    np.testing.assert_array_equal(dist, [[0, 0, 2]])


# -- LOF ---------------------------------------------------------------------


def test_lof_equals_scikit_learn_without_duplicates():
    X, _ = planted(n=300, d=3, n_out=15, seed=7)
    X_new, _ = planted(n=40, d=3, n_out=4, seed=8)
    ours = LOF(n_neighbors=20).fit(X)
    ref = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(X)
    np.testing.assert_allclose(ours.decision_scores_, -ref.negative_outlier_factor_, rtol=1e-7)
    np.testing.assert_allclose(ours.decision_function(X_new), -ref.score_samples(X_new), rtol=1e-7)


def test_sampled_lof_scores_sample_rows_like_scikit_learn():
    X, y = planted(n=3000, d=3, n_out=20, seed=19)
    det = LOF(max_samples=600, random_state=0).fit(X)
    sample = det.sample_indices_
    ref = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(X[sample])
    outside = np.setdiff1d(np.arange(X.shape[0]), sample)
    np.testing.assert_allclose(det.decision_scores_[sample], -ref.negative_outlier_factor_)
    np.testing.assert_allclose(det.decision_scores_[outside], -ref.score_samples(X[outside]))
    assert roc_auc_score(y, det.decision_scores_) > 0.95


def test_lof_duplicate_rows_stay_finite():
    X = with_duplicates()
    det = LOF(n_neighbors=20).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert np.isfinite(det.threshold_)
    new = np.r_[X[:1], X[:1] + 0.01, [[20.0, 0, 0]]]
    assert np.isfinite(det.decision_function(new)).all()
    assert np.isfinite(det.explain(new)).all()
    # A copy inside a block of 60 identical rows is perfectly typical there.
    assert det.decision_scores_[250] == pytest.approx(1.0)


# -- OCSVM -------------------------------------------------------------------


def test_ocsvm_matches_libsvm_on_standardised_data():
    X, y = planted(n=300, d=3, n_out=15, seed=9)
    det = OCSVM().fit(X)
    Z = (X - det.center_) / det.scale_
    ref = OneClassSVM(nu=0.5, gamma=det.gamma_).fit(Z)
    np.testing.assert_allclose(det.decision_scores_, -ref.decision_function(Z), atol=1e-8)
    assert roc_auc_score(y, det.decision_scores_) > 0.95


def test_ocsvm_ignores_feature_units():
    X, _ = planted(n=300, d=3, n_out=15, seed=10)
    scaled = X * np.array([1.0, 1000.0, 0.001]) + np.array([0.0, 5e4, -3.0])
    a = OCSVM().fit(X).decision_scores_
    b = OCSVM().fit(scaled).decision_scores_
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(a).max())


def test_ocsvm_trains_on_a_bounded_sample():
    X, y = planted(n=3000, d=3, n_out=20, seed=11)
    det = OCSVM(max_samples=400, random_state=0).fit(X)
    assert det.support_vectors_.shape[0] <= 400
    assert roc_auc_score(y, det.decision_scores_) > 0.95


# -- CBLOF -------------------------------------------------------------------


def test_large_clusters_rule():
    # 90% of rows in the first two clusters, and a size drop of 450 / 20 >= 5 after them.
    np.testing.assert_array_equal(large_clusters(np.array([5, 500, 450, 20]), 0.9, 5), [1, 2])
    # No split meets either condition: every cluster is large.
    np.testing.assert_array_equal(large_clusters(np.array([10, 10]), 0.99, 5), [0, 1])


def test_cblof_scores_distance_to_nearest_large_centre():
    rng = np.random.default_rng(12)
    X = np.r_[
        rng.normal(0, 1, size=(400, 2)),
        rng.normal(10, 1, size=(400, 2)),
        rng.normal([0, 30], 0.1, size=(10, 2)),  # a small, tight, far cluster
    ]
    det = CBLOF(n_clusters=3, random_state=0).fit(X)
    large = det.cluster_centers_[det.large_clusters_]
    assert len(det.large_clusters_) == 2
    np.testing.assert_allclose(det.decision_scores_, cdist(X, large).min(axis=1))
    assert set(np.argsort(-det.decision_scores_)[:10]) == set(range(800, 810))
    contrib = det.explain(X[800:801])
    assert int(np.argmax(contrib)) == 1
    np.testing.assert_allclose(contrib.sum(), det.decision_scores_[800] ** 2)


# -- DBSCAN ------------------------------------------------------------------


def test_dbscan_score_is_distance_to_nearest_core_point():
    X, y = planted(n=400, d=3, n_out=20, seed=13)
    det = DBSCAN().fit(X)
    assert det.min_samples_ == 6
    new = np.random.default_rng(14).normal(size=(30, 3)) * 3
    np.testing.assert_allclose(det.decision_function(new), cdist(new, det.core_points_).min(1))
    # A core row of the training data is measured to the other core rows
    # (no duplicates here: a zero gap is the row itself).
    assert (det.reference_core_ >= 0).sum() == pytest.approx(0.5 * X.shape[0], abs=5)
    gaps = cdist(X, det.core_points_)
    gaps[gaps == 0] = np.inf
    np.testing.assert_allclose(det.decision_scores_, gaps.min(axis=1))
    assert roc_auc_score(y, det.decision_scores_) > 0.95


def test_sampled_dbscan_scores_rows_inside_and_outside_the_sample():
    X, y = planted(n=3000, d=3, n_out=20, seed=20)
    det = DBSCAN(max_samples=500, random_state=0).fit(X)
    gaps = cdist(X, det.core_points_)
    inside = np.zeros(X.shape[0], dtype=bool)
    inside[det.sample_indices_] = True
    # Only a sampled row is left out of its own neighbourhood (no duplicates here).
    gaps[inside[:, None] & (gaps == 0)] = np.inf
    np.testing.assert_allclose(det.decision_scores_, gaps.min(axis=1))
    assert roc_auc_score(y, det.decision_scores_) > 0.95


def test_dbscan_explicit_eps_without_core_points_is_a_clear_error():
    X = np.random.default_rng(15).normal(size=(100, 2))
    with pytest.raises(AnomalyzerError, match="eps=1e-06 leaves no core points"):
        DBSCAN(eps=1e-6).fit(X)


def test_dbscan_duplicate_rows_are_core_points():
    X = with_duplicates()
    det = DBSCAN(min_samples=10).fit(X)
    # 60 identical rows: a core point whose copies score 0 against each other.
    assert det.decision_scores_[200] == 0.0
    assert int(np.argmax(det.decision_scores_)) == X.shape[0] - 1


# -- all of them -------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
def test_constant_feature_and_identical_rows(cls):
    rng = np.random.default_rng(16)
    X = np.c_[rng.normal(size=(120, 2)), np.full(120, 3.0)]
    det = cls(random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert np.isfinite(det.explain(X[:3])).all()
    same = np.ones((30, 3))
    det = cls(random_state=0).fit(same)
    assert np.isfinite(det.decision_scores_).all()
    assert np.isfinite(det.decision_function(np.array([[1.0, 1.0, 2.0]]))).all()


@pytest.mark.parametrize("cls", ALL)
def test_duplicate_heavy_data_scores_finite(cls):
    X = with_duplicates(seed=17)
    det = cls(random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert int(np.argmax(det.decision_scores_)) == X.shape[0] - 1


@pytest.mark.parametrize(
    "det, words",
    [
        (KNN(method="max"), "method must be one of"),
        (KNN(n_neighbors=0), "n_neighbors must be"),
        (LOF(n_neighbors=2.5), "n_neighbors must be"),
        (LOF(max_samples=1), "max_samples must be"),
        (KNN(random_state=-1), "random_state must be"),
        (OCSVM(nu=1.5), "nu must be"),
        (OCSVM(gamma="auto"), "gamma must be 'scale' or a positive number"),
        (OCSVM(gamma=0.0), "gamma must be"),
        (CBLOF(alpha=1.2), "alpha must be"),
        (CBLOF(beta=1.0), "beta must be"),
        (CBLOF(n_clusters=0), "n_clusters must be"),
        (DBSCAN(eps=-1.0), "eps must be"),
        (DBSCAN(min_samples=0), "min_samples must be"),
    ],
)
def test_bad_parameters_named(det, words):
    X = np.random.default_rng(18).normal(size=(50, 2))
    with pytest.raises(AnomalyzerError, match=words):
        det.fit(X)
