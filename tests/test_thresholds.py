"""Thresholds: a fixed share, and a share estimated from the scores alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import planted

from anomalyzer import detectors
from anomalyzer.errors import AnomalyzerError
from anomalyzer.thresholds import auto_threshold, threshold_from_contamination


@pytest.mark.parametrize("share", [0.01, 0.05, 0.1, 0.25])
def test_fixed_share_flags_that_share(share):
    scores = np.random.default_rng(0).normal(size=5000)
    flagged = (scores > threshold_from_contamination(scores, share)).mean()
    assert flagged == pytest.approx(share, abs=1e-3)


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.1])
# Detectors whose scores separate these planted rows from the inliers; where
# scores overlap (ECOD on one far feature of five) no threshold can count them.
@pytest.mark.parametrize("name", ["auto", "iforest", "mad", "zscore"])
def test_auto_flags_between_half_and_twice_the_true_count(rate, name):
    n = 4000
    X, y = planted(n=n, d=5, n_out=int(rate * n / (1 - rate)), seed=3)
    params = {"random_state": 0} if detectors.accepts(name, "random_state") else {}
    det = detectors.make(name, contamination="auto", **params).fit(X)
    flagged = int((det.decision_scores_ > det.threshold_).sum())
    true = int(y.sum())
    assert true / 2 <= flagged <= 2 * true, (flagged, true)


def test_auto_flags_nothing_much_without_anomalies():
    scores = np.random.default_rng(1).normal(size=20000)
    assert (scores > auto_threshold(scores)).mean() < 0.002


def test_auto_on_skewed_positive_scores():
    rng = np.random.default_rng(2)
    scores = np.r_[rng.lognormal(0, 0.5, size=5000), rng.lognormal(4, 0.2, size=50)]
    flagged = int((scores > auto_threshold(scores)).sum())
    assert 25 <= flagged <= 100


def test_auto_with_ties_at_the_median():
    scores = np.r_[np.zeros(990), np.full(10, 5.0)]
    assert int((scores > auto_threshold(scores)).sum()) == 10


def test_bad_scores_are_refused():
    with pytest.raises(AnomalyzerError, match="empty"):
        auto_threshold(np.array([]))
    with pytest.raises(AnomalyzerError, match="NaN"):
        auto_threshold(np.array([1.0, np.nan]))
