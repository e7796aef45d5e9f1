"""Thresholds: a fixed share, and a share estimated from the scores alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import planted

from anomalyzer import detectors
from anomalyzer.errors import AnomalyzerError
from anomalyzer.thresholds import TAIL_Z, auto_threshold, threshold_from_contamination


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
    # Without a clear break the cut is 2 robust standard deviations, which
    # also flags some normal rows: about 2.3% of normal scores, up to 4% of
    # an isolation forest's right-skewed ones.
    assert true / 2 <= flagged <= 2 * true + 0.04 * n, (flagged, true)


def test_auto_flags_nothing_much_without_anomalies():
    scores = np.random.default_rng(1).normal(size=20000)
    assert (scores > auto_threshold(scores)).mean() < 0.002
    # The table detectors' rule: 2 robust standard deviations, about 2.3%.
    assert 0.015 < (scores > auto_threshold(scores, tail_z=TAIL_Z)).mean() < 0.03


def test_a_break_inside_the_far_tail_does_not_decide():
    # Heavy-tailed scores with one row far beyond all others: the largest
    # spacing isolates that row, but the tail holds many more anomalous rows.
    rng = np.random.default_rng(4)
    scores = np.r_[rng.normal(size=9000), rng.exponential(4.0, size=1000) + 3.0, 1e9]
    assert int((scores > auto_threshold(scores)).sum()) == 1
    assert int((scores > auto_threshold(scores, tail_z=TAIL_Z)).sum()) > 500
    # Table detectors use that rule.
    det = detectors.make("mad").fit(scores[:, None])
    assert int((det.decision_scores_ > det.threshold_).sum()) > 500


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
