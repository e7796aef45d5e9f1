"""The detectors that learn from labels: the contract of DESIGN.md, with ``fit(X, y)``.

The shared contract tests run over ``detectors.available()``, which leaves these
two out (they cannot fit without labels), so the same checks are made here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import planted
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from anomalyzer import Model, detectors
from anomalyzer.detectors.supervised import SemiSupervised, Supervised
from anomalyzer.errors import AnomalyzerError

NAMES = ["supervised", "semi"]


def build(name: str, **params):
    params.setdefault("random_state", 0)
    return detectors.make(name, **params)


@pytest.fixture(scope="module")
def data():
    X, y = planted(n=400, d=4, n_out=20, seed=1)
    X_new, y_new = planted(n=200, d=4, n_out=10, seed=2)
    return X, y, X_new, y_new


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return {name: build(name).fit(X, y) for name in NAMES}


def test_registry_lists_them_only_with_labels():
    assert not set(NAMES) & set(detectors.available())
    assert set(NAMES) <= set(detectors.available(labels=True))
    assert detectors.spec("supervised").family == "supervised"
    assert isinstance(detectors.make("supervised"), Supervised)
    assert isinstance(detectors.make("semi"), SemiSupervised)


@pytest.mark.parametrize("name", NAMES)
def test_fit_without_labels_is_a_clear_error(name, data):
    X, _, _, _ = data
    with pytest.raises(AnomalyzerError, match=f"'{name}' detector learns from labels; pass label="):
        build(name).fit(X)


@pytest.mark.parametrize("name", NAMES)
def test_labels_of_wrong_length_or_values(name, data):
    X, y, _, _ = data
    with pytest.raises(AnomalyzerError, match="one label per row"):
        build(name).fit(X, y[:-1])
    with pytest.raises(AnomalyzerError, match="two values"):
        build(name).fit(X, np.arange(X.shape[0]) % 3)


def test_supervised_needs_both_classes(data):
    X, y, _, _ = data
    with pytest.raises(AnomalyzerError, match="all 420 labelled rows are normal; pass label="):
        build("supervised").fit(X, np.zeros_like(y))
    with pytest.raises(AnomalyzerError, match="are anomalous"):
        build("supervised").fit(X, np.ones_like(y))


def test_semi_needs_normal_rows_but_not_anomalies(data):
    X, y, X_new, y_new = data
    with pytest.raises(AnomalyzerError, match="labelled normal"):
        build("semi").fit(X, np.ones_like(y))
    det = build("semi").fit(X[y == 0], y[y == 0])
    assert roc_auc_score(y_new, det.decision_function(X_new)) >= 0.9


@pytest.mark.parametrize("name", NAMES)
def test_fit_sets_state(name, data, fitted):
    X, _, _, _ = data
    det = fitted[name]
    assert det._uses_labels is True
    assert det.decision_scores_.shape == (X.shape[0],)
    assert np.isfinite(det.decision_scores_).all()
    assert np.isfinite(det.threshold_)
    assert det.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("name", NAMES)
def test_planted_outliers_rank_high(name, data, fitted):
    _, y, X_new, y_new = data
    det = fitted[name]
    assert roc_auc_score(y, det.decision_scores_) >= 0.9
    assert roc_auc_score(y_new, det.decision_function(X_new)) >= 0.9


@pytest.mark.parametrize("name", NAMES)
def test_scoring_new_rows_does_not_refit(name, data, fitted):
    _, _, X_new, _ = data
    det = fitted[name]
    before = det.decision_scores_.copy()
    params = det.get_params()
    first = det.decision_function(X_new)
    second = det.decision_function(X_new)
    np.testing.assert_array_equal(det.decision_scores_, before)
    np.testing.assert_allclose(first, second)
    assert det.get_params() == params
    np.testing.assert_allclose(det.decision_function(X_new[:1]), first[:1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_same_random_state_same_scores(name, data, fitted):
    X, y, X_new, _ = data
    a, b = fitted[name], build(name).fit(X, y)
    np.testing.assert_allclose(a.decision_scores_, b.decision_scores_)
    np.testing.assert_allclose(a.decision_function(X_new), b.decision_function(X_new))


@pytest.mark.parametrize("name", NAMES)
def test_predict_agrees_with_threshold(name, data):
    X, y, X_new, _ = data
    det = build(name, contamination=0.05).fit(X, y)
    scores = det.decision_function(X_new)
    np.testing.assert_array_equal(det.predict(X_new), (scores > det.threshold_).astype(int))
    flagged = (det.decision_scores_ > det.threshold_).mean()
    assert 0.02 <= flagged <= 0.06
    np.testing.assert_array_equal(
        det.fit_predict(X, y), (det.decision_scores_ > det.threshold_).astype(int)
    )


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_params(name, data):
    det = build(name, contamination=0.1)
    twin = clone(det)
    assert twin.get_params() == det.get_params()
    # A clone carries the parameters, never the learned state of the original.
    X = data[0]
    det.fit(X, data[1])
    fresh = clone(det)
    assert not hasattr(fresh, "threshold_") and not hasattr(fresh, "decision_scores_")
    # set_params reaches the parameter get_params reports.
    twin.set_params(contamination=0.2)
    assert twin.get_params()["contamination"] == 0.2 and det.get_params()["contamination"] == 0.1


@pytest.mark.parametrize("name", NAMES)
def test_explain_shape_and_sign(name, data, fitted):
    X, y, _, _ = data
    rows = X[y == 1][:5]
    contrib = fitted[name].explain(rows)
    assert contrib.shape == rows.shape
    assert (contrib >= 0).all()
    assert np.isfinite(contrib).all()


def test_explain_names_the_deviating_feature():
    # Inliers near the origin; anomalies far out on feature 2 only.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    out = rng.normal(size=(30, 4))
    out[:, 2] = rng.uniform(6, 9, size=30)
    X, y = np.r_[X, out], np.r_[np.zeros(300), np.ones(30)]
    for name in NAMES:
        contrib = build(name).fit(X, y).explain(out[:5])
        assert (contrib.argmax(axis=1) == 2).all(), name


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "bad, words",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]), "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), "infinite"),
        (np.empty((0, 2)), "at least"),
        (np.arange(3.0), "1-D"),
    ],
)
def test_bad_input_clear_error(name, bad, words):
    with pytest.raises(AnomalyzerError, match=words):
        build(name).fit(bad, np.array([0, 0, 1]))


@pytest.mark.parametrize("name", NAMES)
def test_input_not_modified(name, data, fitted):
    X, y, X_new, _ = data
    X_copy, y_copy, new_copy = X.copy(), y.copy(), X_new.copy()
    build(name).fit(X, y)
    fitted[name].decision_function(X_new)
    fitted[name].explain(X_new[:3])
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(X_new, new_copy)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_feature_count_on_score(name, data, fitted):
    X, _, _, _ = data
    with pytest.raises(AnomalyzerError, match="expecting 4 features"):
        fitted[name].decision_function(X[:, :3])


@pytest.mark.parametrize(
    "name, params, words",
    [
        ("supervised", {"base_detectors": "iforest"}, "list of detector names"),
        ("supervised", {"base_detectors": ("iforest", "iforrest")}, "Unknown detector"),
        ("supervised", {"base_detectors": ("semi",)}, "needs labels itself"),
        ("supervised", {"base_detectors": ("knn", "knn")}, "twice"),
        ("supervised", {"class_weight": "even"}, "class_weight"),
        ("supervised", {"max_normals": 0}, "max_normals"),
        ("supervised", {"learning_rate": -1.0}, "learning_rate"),
        ("semi", {"base": "supervised"}, "needs labels itself"),
        ("semi", {"boost": -1.0}, "boost"),
    ],
)
def test_bad_parameters(name, params, words, data):
    X, y, _, _ = data
    with pytest.raises(AnomalyzerError, match=words):
        build(name, **params).fit(X, y)


def test_supervised_learns_anomalies_that_look_normal():
    # The anomalies are a tight cluster inside the normal range: unsupervised
    # detectors see a dense region, the labels say otherwise.
    rng = np.random.default_rng(0)

    def sample(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
        X = np.r_[rng.normal(size=(n, 3)), rng.normal([1.0, -1.0, 0.5], 0.1, size=(m, 3))]
        return X, np.r_[np.zeros(n), np.ones(m)]

    X, y = sample(500, 50)
    X_new, y_new = sample(300, 30)
    unsupervised = build("knn").fit(X).decision_function(X_new)
    supervised = build("supervised").fit(X, y).decision_function(X_new)
    assert roc_auc_score(y_new, unsupervised) < 0.7
    assert roc_auc_score(y_new, supervised) > 0.95


def test_supervised_probabilities_follow_the_scores(data, fitted):
    _, _, X_new, _ = data
    det = fitted["supervised"]
    proba = det.predict_proba(X_new)
    assert proba.shape == (X_new.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Scores are log-odds (plus a tie-breaker far below any real gap): same order.
    scores = det.decision_function(X_new)
    assert (np.diff(proba[np.argsort(scores), 1]) >= -1e-12).all()
    inner = (proba[:, 1] > 1e-9) & (proba[:, 1] < 1 - 1e-9)
    logit = np.log(proba[inner, 1] / proba[inner, 0])
    np.testing.assert_allclose(scores[inner], logit, atol=1e-5)


def test_supervised_samples_normals_on_large_data(data):
    X, y, X_new, y_new = data
    det = build("supervised", max_normals=100).fit(X, y)
    assert det.n_training_rows_ == 100 + int(y.sum())
    assert det.decision_scores_.shape == (X.shape[0],)
    assert roc_auc_score(y_new, det.decision_function(X_new)) >= 0.9


def test_unsupervised_scores_help_the_classifier_generalise(data, fitted):
    # The planted anomalies lie far out on a random feature, in either
    # direction: trees on the features alone learn the few directions seen,
    # while the unsupervised scores say "far out" whatever the direction.
    X, y, X_new, y_new = data
    plain = build("supervised", base_detectors=()).fit(X, y)
    assert plain.augmented_features_ == ["x0", "x1", "x2", "x3"]
    plain_auc = roc_auc_score(y_new, plain.decision_function(X_new))
    augmented_auc = roc_auc_score(y_new, fitted["supervised"].decision_function(X_new))
    assert augmented_auc > plain_auc


def test_semi_boost_raises_rows_near_known_anomalies():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(300, 2)), [[4.0, 4.0], [4.1, 3.9]]]
    y = np.r_[np.zeros(300), [1, 1]]
    near, far = np.array([[4.0, 4.05]]), np.array([[-4.0, -4.05]])
    plain = build("semi", boost=0.0).fit(X, y)
    boosted = build("semi", boost=3.0).fit(X, y)
    # Without the boost both sit equally far from the normal rows.
    assert plain.decision_function(near)[0] == pytest.approx(plain.decision_function(far)[0], 0.1)
    gain = boosted.decision_function(near) - plain.decision_function(near)
    assert 2.0 < gain[0] <= 3.0
    assert boosted.decision_function(far)[0] == pytest.approx(plain.decision_function(far)[0])


def test_semi_without_boost_ranks_like_its_base_on_the_normal_rows(data):
    X, y, X_new, _ = data
    semi = build("semi", base="iforest", boost=0.0).fit(X, y)
    base = build("iforest").fit(X[y == 0])
    np.testing.assert_array_equal(
        np.argsort(semi.decision_function(X_new)), np.argsort(base.decision_function(X_new))
    )


def test_model_passes_labels(data):
    X, y, X_new, y_new = data
    df = pd.DataFrame(X, columns=list("abcd")).assign(label=np.where(y == 1, "fraud", "ok"))
    for name in NAMES:
        model = Model(name).fit(df, label="label")
        scores = model.score(pd.DataFrame(X_new, columns=list("abcd")))
        assert roc_auc_score(y_new, scores) >= 0.9
        with pytest.raises(AnomalyzerError, match="pass label="):
            Model(name).fit(df.drop(columns="label"))
