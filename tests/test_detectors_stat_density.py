"""Behaviour of the histogram, tail-probability, density and linear detectors beyond the contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from anomalyzer import detectors
from anomalyzer.detectors.copula import COPOD, ECOD
from anomalyzer.detectors.density import GMM, KDE
from anomalyzer.detectors.hbos import HBOS
from anomalyzer.detectors.linear import PCA, Mahalanobis
from anomalyzer.detectors.loda import LODA
from anomalyzer.errors import AnomalyzerError

NAMES = ["hbos", "ecod", "copod", "loda", "gmm", "kde", "pca", "mahalanobis"]


def build(name: str, **params):
    if detectors.accepts(name, "random_state"):
        params.setdefault("random_state", 0)
    return detectors.make(name, **params)


def correlated(n: int, seed: int) -> np.ndarray:
    """Five features, two correlated pairs."""
    cov = np.eye(5)
    cov[0, 1] = cov[1, 0] = 0.6
    cov[3, 4] = cov[4, 3] = 0.3
    return np.random.default_rng(seed).multivariate_normal(np.zeros(5), cov, size=n)


# -- ECOD and COPOD -----------------------------------------------------------


def _pyod_data() -> np.ndarray:
    rng = np.random.default_rng(0)
    # Rounded values: ties must be counted the way PyOD counts them. A row
    # extreme on opposite sides of two features tells the per-feature maximum
    # apart from the paper's maximum of sums.
    X = np.round(np.c_[rng.normal(size=300), rng.lognormal(size=300), -rng.lognormal(size=300)], 1)
    X[0] = [0.0, 0.1, -0.1]
    return X


def test_ecod_tails_and_score_match_pyod():
    pyod_ecod = pytest.importorskip("pyod.models.ecod")
    X = _pyod_data()
    ours = ECOD().fit(X)
    ref = pyod_ecod.ECOD().fit(X)
    left, right = ours._tails(X, training=True)
    np.testing.assert_allclose(left, ref.U_l, atol=1e-12)
    np.testing.assert_allclose(right, ref.U_r, atol=1e-12)
    # Per feature the larger tail, summed over the features.
    np.testing.assert_allclose(ours.decision_scores_, ref.decision_scores_, atol=1e-10)
    paper = np.maximum.reduce([ref.U_l.sum(1), ref.U_r.sum(1), ref.U_skew.sum(1)])
    assert not np.allclose(ours.decision_scores_, paper)


def test_copod_matches_pyod():
    pyod_copod = pytest.importorskip("pyod.models.copod")
    X = _pyod_data()
    ref = pyod_copod.COPOD().fit(X)
    np.testing.assert_allclose(COPOD().fit(X).decision_scores_, ref.decision_scores_, atol=1e-10)


def test_copod_halves_the_tail_against_the_skew():
    X = np.random.default_rng(3).lognormal(size=(400, 1))  # right-skewed
    low = np.array([[X.min() / 10]])
    ecod, copod = ECOD().fit(X), COPOD().fit(X)
    # Below the training range, on the left: ECOD counts the full left tail,
    # COPOD the mean of both tails.
    assert ecod.decision_function(low)[0] == pytest.approx(np.log(401))
    assert copod.decision_function(low)[0] == pytest.approx(np.log(401) / 2)


def test_ecod_new_rows_use_training_cdfs():
    X = np.arange(1.0, 101.0)[:, None]  # 1..100
    det = ECOD().fit(X)
    # 30 is >= 30 of the 100 training values: left tail (30 + 1) / 101; the
    # term is the larger of the two tails.
    left = -np.log(31 / 101)
    right = -np.log(72 / 101)  # 71 training values are >= 30
    assert det.decision_function([[30.0]])[0] == pytest.approx(max(left, right))
    # Beyond the training range: probability 1 / (n + 1), finite.
    assert det.decision_function([[1e9]])[0] == pytest.approx(np.log(101))
    # Scoring among many extreme rows does not change a row's score.
    crowd = np.r_[[[30.0]], np.full((500, 1), 1e9)]
    assert det.decision_function(crowd)[0] == pytest.approx(max(left, right))


def test_ecod_explanation_sums_to_score():
    X = correlated(400, 2)
    det = ECOD().fit(X)
    rows = X[:20] * 3
    np.testing.assert_allclose(det.explain(rows).sum(axis=1), det.decision_function(rows))


# -- HBOS ---------------------------------------------------------------------


def test_hbos_terms_tolerance_and_explanation():
    X = np.linspace(0.0, 10.0, 101)[:, None]  # 10 bins of width 1
    det = HBOS(n_bins=10, tol=0.5).fit(X)
    inside, edge, near, far = det.decision_function([[5.5], [9.9], [10.4], [30.0]])
    assert inside == pytest.approx(edge, abs=0.2)  # evenly filled bins
    assert near == pytest.approx(edge)  # within half a bin: the edge bin
    assert far > near + 2.0  # beyond the tolerance: an empty bin
    rows = np.array([[5.5], [30.0]])
    np.testing.assert_allclose(det.explain(rows).sum(axis=1), det.decision_function(rows))
    # The fullest bin of every feature contributes exactly 0.
    assert det.neg_log_height_.min(axis=1) == pytest.approx(0.0)


def test_hbos_sqrt_bins():
    X = correlated(400, 3)
    det = HBOS(n_bins="sqrt").fit(X)
    assert det.neg_log_height_.shape == (5, 21)  # ceil(sqrt(400)) bins + outside


# -- LODA ---------------------------------------------------------------------


def test_loda_projections_are_sparse_and_seeded():
    X = correlated(300, 4)
    a = LODA(random_state=1).fit(X)
    assert ((a.projections_ != 0).sum(axis=1) == 3).all()  # ceil(sqrt(5))
    b = LODA(random_state=2).fit(X)
    assert not np.allclose(a.decision_scores_, b.decision_scores_)


# -- GMM and KDE --------------------------------------------------------------


def test_gmm_component_choice():
    rng = np.random.default_rng(5)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 6.0]])
    X = np.concatenate([rng.normal(c, 1.0, size=(400, 2)) for c in centres])
    assert GMM(random_state=0).fit(X).n_components_ == 3  # BIC finds the three blobs
    assert GMM(n_components=1, random_state=0).fit(X).n_components_ == 1
    # Fitted on a bounded sample, yet every row is scored.
    det = GMM(max_samples=300, random_state=0).fit(X)
    assert det.decision_scores_.shape == (1200,)


def test_kde_training_scores_leave_each_row_out():
    kernel_density = pytest.importorskip("sklearn.neighbors").KernelDensity
    X = correlated(200, 6)
    det = KDE().fit(X)
    Z = (X - det.mean_) / det.scale_
    log_jacobian = np.log(det.scale_).sum()
    for i in (0, 17, 150):
        others = kernel_density(bandwidth=det.bandwidth_).fit(np.delete(Z, i, axis=0))
        expected = -others.score_samples(Z[i : i + 1])[0] + log_jacobian
        assert det.decision_scores_[i] == pytest.approx(expected, rel=1e-5)
    new = np.array([[0.5, 0.5, 0.0, 0.0, 0.0]])
    full = kernel_density(bandwidth=det.bandwidth_).fit(Z)
    expected = -full.score_samples((new - det.mean_) / det.scale_)[0] + log_jacobian
    assert det.decision_function(new)[0] == pytest.approx(expected, rel=1e-5)


def test_kde_reference_sample_is_bounded():
    X = correlated(1500, 7)
    det = KDE(max_samples=300, random_state=0).fit(X)
    assert det.reference_.shape == (300, 5)
    assert np.isfinite(det.decision_scores_).all()
    assert det.bandwidth_ == pytest.approx(300 ** (-1 / 9))


# -- PCA and Mahalanobis ------------------------------------------------------


def test_pca_pooled_minor_components_match_probabilistic_pca():
    sk_decomposition = pytest.importorskip("sklearn.decomposition")
    X = correlated(500, 8)
    det = PCA(n_components=2).fit(X)
    Z = (X - det.centre_) / det.scale_
    ppca = sk_decomposition.PCA(n_components=2).fit(Z)
    # Probabilistic PCA's log-likelihood is -z' C^-1 z / 2 + const: the same
    # quadratic form, up to the (n - 1) / n of scikit-learn's unbiased variances.
    expected = -2 * ppca.score_samples(Z) * len(X) / (len(X) - 1)
    shift = det.decision_scores_ - expected
    np.testing.assert_allclose(shift, shift[0], atol=1e-8)
    assert PCA(n_components=0.5).fit(X).n_components_ in (1, 2, 3)


def test_mahalanobis_resists_masking():
    rng = np.random.default_rng(9)
    inliers = rng.normal(size=(800, 2))
    cluster = rng.normal(loc=5.0, scale=0.3, size=(200, 2))  # 20% clustered anomalies
    X = np.r_[inliers, cluster]
    y = np.r_[np.zeros(800), np.ones(200)]
    robust = roc_auc_score(y, Mahalanobis(random_state=0).fit(X).decision_scores_)
    classical = roc_auc_score(y, PCA().fit(X).decision_scores_)
    assert robust > 0.99
    assert robust > classical


@pytest.mark.parametrize("name", ["pca", "mahalanobis", "gmm"])
def test_collinear_features_do_not_crash_and_breaking_the_relation_stands_out(name):
    rng = np.random.default_rng(10)
    t = rng.normal(size=400)
    X = np.c_[t, 2 * t, rng.normal(size=400)]
    det = build(name).fit(X)
    typical, broken = det.decision_function([[1.0, 2.0, 0.0], [1.0, -2.0, 0.0]])
    assert np.isfinite([typical, broken]).all()
    assert broken > det.decision_scores_.max() > typical


# -- all eight ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_explanation_names_the_planted_feature(name):
    X = correlated(1000, 11)
    rng = np.random.default_rng(12)
    new = correlated(30, 13)
    cols = rng.integers(0, 5, size=30)
    new[np.arange(30), cols] += rng.choice([-1.0, 1.0], size=30) * 7
    contrib = build(name).fit(X).explain(new)
    assert (contrib.argmax(axis=1) == cols).mean() >= 0.9


@pytest.mark.parametrize("name", NAMES)
def test_constant_feature(name):
    rng = np.random.default_rng(14)
    X = np.c_[rng.normal(size=(300, 2)), np.full(300, 3.0)]
    det = build(name).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    rows = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 8.0]])
    scores = det.decision_function(rows)
    assert np.isfinite(scores).all() and np.isfinite(det.explain(rows)).all()
    # A value never seen in a constant feature is anomalous.
    assert scores[1] > scores[0]


@pytest.mark.parametrize("name", NAMES)
def test_many_features_few_rows(name):
    rng = np.random.default_rng(15)
    X = (rng.random((150, 200)) < 0.1).astype(float)  # sparse binary, d > n
    det = build(name).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    contrib = det.explain(X[:3])
    assert contrib.shape == (3, 200) and np.isfinite(contrib).all()


@pytest.mark.parametrize(
    "name, params, word",
    [
        ("hbos", {"n_bins": 1}, "n_bins"),
        ("hbos", {"n_bins": "many"}, "n_bins"),
        ("hbos", {"alpha": 0.0}, "alpha"),
        ("hbos", {"tol": -1.0}, "tol"),
        ("loda", {"n_projections": 0}, "n_projections"),
        ("loda", {"n_bins": 2.5}, "n_bins"),
        ("gmm", {"n_components": 0}, "n_components"),
        ("gmm", {"n_components": "many"}, "n_components.*'auto'"),
        ("gmm", {"covariance_type": "weird"}, "covariance_type"),
        ("gmm", {"reg_covar": 0.0}, "reg_covar"),
        ("gmm", {"max_samples": 1}, "max_samples"),
        ("kde", {"bandwidth": "wide"}, "bandwidth"),
        ("kde", {"bandwidth": -1.0}, "bandwidth"),
        ("kde", {"max_samples": 1}, "max_samples"),
        ("pca", {"n_components": 1.5}, "n_components"),
        ("pca", {"n_components": 0}, "n_components"),
        ("mahalanobis", {"max_samples": 0}, "max_samples"),
    ],
)
def test_bad_parameter_named(name, params, word):
    with pytest.raises(AnomalyzerError, match=word):
        build(name, **params).fit(correlated(50, 16))
