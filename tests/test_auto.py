"""The ``auto`` detector: committee by data shape, scaling learned at fit, reasons."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import planted
from sklearn.metrics import roc_auc_score

from anomalyzer import detectors
from anomalyzer.detectors.auto import Auto, committee_for
from anomalyzer.errors import AnomalyzerError


def test_committee_depends_on_shape():
    assert "knn" in committee_for(5000, 10)
    assert "knn" not in committee_for(5000, 500)
    # Many rows: neighbours only where a tree still prunes (few features).
    assert "knn" in committee_for(600_000, 10)
    assert "knn" not in committee_for(1_000_000, 30)


def test_members_are_fitted_and_scaled():
    X, y = planted(n=500, d=4, n_out=10, seed=5)
    det = Auto(random_state=0).fit(X)
    assert det.member_names_ == list(committee_for(*X.shape))
    # Scaled member scores are centred: a typical training row scores about 0.
    assert abs(np.median(det.decision_scores_)) < 0.5
    assert roc_auc_score(y, det.decision_scores_) > 0.99


def test_chosen_members():
    X, _ = planted(n=300, d=3, n_out=5, seed=6)
    det = Auto(members=["ecod", "mad"], random_state=0).fit(X)
    assert det.member_names_ == ["ecod", "mad"]


def test_beats_its_worst_member_where_members_disagree():
    # A rare category seen once: isolation forests miss it, per-feature tails do not.
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(2000, 3)), (rng.random(2000) < 0.5).astype(float), np.zeros(2000)]
    X[7, 4] = 1.0
    det = Auto(random_state=0).fit(X)
    assert int(np.argmax(det.decision_scores_)) == 7


@pytest.mark.parametrize("members", [[], "knn", ["auto"], ["nope"]])
def test_bad_members(members):
    X, _ = planted(n=100, d=2, n_out=2)
    with pytest.raises(AnomalyzerError):
        Auto(members=members).fit(X)


def test_auto_is_the_default_everywhere():
    import anomalyzer as az

    assert az.Model().detector_name == "auto"
    assert "auto" in detectors.available()


def test_a_heavy_tailed_column_does_not_own_the_distances():
    # Two related columns and one heavy-tailed, harmless one (bytes, say);
    # row 5 breaks the relation. On raw values the heavy tail hides it from
    # the neighbour member; compressed, it is the top row.
    rng = np.random.default_rng(0)
    a = rng.normal(size=2000)
    X = np.c_[a, a + 0.1 * rng.normal(size=2000), rng.lognormal(0.0, 2.0, size=2000)]
    X[5, :2] = [1.5, -1.5]
    raw = detectors.make("knn", random_state=0).fit(X).decision_scores_
    assert (raw > raw[5]).sum() > 50
    det = Auto(members=["knn"], random_state=0).fit(X)
    assert det.tail_columns_.tolist() == [2]
    assert int(np.argmax(det.decision_scores_)) == 5
    # New rows are compressed the same way.
    assert det.decision_function(X[5:6])[0] >= np.quantile(det.decision_scores_, 0.99)


def test_no_member_decides_the_top_alone():
    # Many duplicate rows: most kNN distances are 0, the spread of the others
    # is tiny, and an unbounded scale would let kNN alone order the top.
    rng = np.random.default_rng(1)
    X = np.r_[np.repeat(rng.normal(size=(40, 3)), 40, axis=0), rng.normal(size=(400, 3))]
    det = Auto(members=["knn", "iforest", "ecod"], random_state=0).fit(X)
    members = det._member_scores(X)
    assert np.abs(members).max() <= 10.0
    log, offset, *_ = det.scalers_[0]
    assert log and offset > 0  # zero distances do not switch the log off
    # The top row of the committee is high for more than one member.
    top = int(np.argmax(det.decision_scores_))
    assert (members[:, top] > 2.0).sum() >= 2


def test_degenerate_member_has_no_vote():
    # 50 copies of each of 10 rows: every row's 10 nearest neighbours are its
    # own copies, so every kNN distance is 0.
    X = np.repeat(np.random.default_rng(2).normal(size=(10, 3)), 50, axis=0)
    det = Auto(members=["knn", "iforest"], random_state=0).fit(X)
    assert det.weights_.tolist() == [0.0, 1.0]
    alone = Auto(members=["iforest"], random_state=0).fit(X)
    np.testing.assert_allclose(det.decision_scores_, alone.decision_scores_)


def test_one_vote_per_family():
    X, _ = planted(n=500, d=4, n_out=10, seed=5)
    det = Auto(random_state=0).fit(X)
    weights = dict(zip(det.member_names_, det.weights_, strict=True))
    assert weights["ecod"] == weights["hbos"] == pytest.approx(weights["iforest"] / 2)
    assert sum(weights.values()) == pytest.approx(1.0)
    plain = Auto(random_state=0, combine="mean_z").fit(X)
    assert np.allclose(plain.weights_, 1 / len(plain.weights_))
    with pytest.raises(AnomalyzerError, match="combine"):
        Auto(combine="max").fit(X)
