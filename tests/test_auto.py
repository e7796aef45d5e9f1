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
