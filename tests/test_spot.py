"""SPOT and DSPOT: GPD fits by Grimshaw's trick, extreme quantiles, streaming thresholds."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import skops.io as sio
from scipy import stats

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.spot import DSpot, Spot, SpotResult, fit_gpd


def test_exponential_excesses_give_gamma_zero_and_the_scale():
    y = np.random.default_rng(0).exponential(2.0, size=20_000)
    gamma, sigma = fit_gpd(y)
    assert abs(gamma) < 0.02
    assert sigma == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize(("shape", "scale"), [(0.3, 1.5), (-0.2, 1.0), (0.6, 0.01)])
def test_gpd_shape_and_scale_are_recovered_as_scipy_does(shape, scale):
    y = stats.genpareto.rvs(shape, scale=scale, size=20_000, random_state=1)
    gamma, sigma = fit_gpd(y)
    assert gamma == pytest.approx(shape, abs=0.04)
    assert sigma == pytest.approx(scale, rel=0.05)
    # Grimshaw's roots give the maximum likelihood: scipy's optimiser agrees.
    c, _, s = stats.genpareto.fit(y, floc=0)
    assert gamma == pytest.approx(c, abs=1e-3)
    assert sigma == pytest.approx(s, rel=1e-3)


def test_the_exponential_fit_is_kept_when_no_root_beats_it():
    # All excesses equal: no spread to estimate a shape from.
    assert fit_gpd(np.full(50, 3.0)) == (0.0, 3.0)


def test_calibrated_threshold_is_the_true_quantile():
    rng = np.random.default_rng(2)
    spot = Spot(risk=1e-3).fit(rng.exponential(size=20_000))
    assert spot.threshold_ == pytest.approx(-math.log(1e-3), rel=0.1)
    assert abs(spot.gamma_) < 0.15
    pareto = stats.genpareto(0.25, scale=1.0)
    spot = Spot(risk=1e-3).fit(pareto.rvs(size=20_000, random_state=3))
    assert spot.threshold_ == pytest.approx(pareto.isf(1e-3), rel=0.2)


def test_false_alarm_rate_on_iid_scores_is_of_the_order_of_risk():
    rng = np.random.default_rng(4)
    risk = 1e-3
    spot = Spot(risk=risk).fit(rng.exponential(size=20_000))
    result = spot.update(rng.exponential(size=200_000))
    assert 0.2e-3 <= result.flags.mean() <= 3e-3
    # The threshold stays near the true 1 - risk quantile throughout.
    assert np.all(np.abs(result.thresholds / -math.log(risk) - 1) < 0.15)


def test_planted_spikes_are_flagged_and_not_learned():
    rng = np.random.default_rng(5)
    spot = Spot(risk=1e-4).fit(rng.normal(size=5000))
    stream = rng.normal(size=20_000)
    spikes = np.arange(1000, 20_000, 2000)
    stream[spikes] += 12.0
    result = spot.update(stream)
    assert isinstance(result, SpotResult)
    assert result.flags[spikes].all()
    assert result.flags.sum() <= len(spikes) + 5
    # Alarms are never peaks: every stored excess lies below the last threshold.
    assert spot.peaks_.max() + spot.init_threshold_ <= result.thresholds.max()


def test_thresholds_are_those_in_force_when_each_point_arrived():
    rng = np.random.default_rng(6)
    spot = Spot(risk=1e-3).fit(rng.exponential(size=2000))
    before = spot.threshold_
    stream = np.r_[50.0, 0.1, spot.init_threshold_ + 0.5, 0.1]
    result = spot.update(stream)
    assert result.flags.tolist() == [True, False, False, False]
    # The alarm and the plain point leave it; the new excess moves it after itself.
    assert result.thresholds[:3].tolist() == [before] * 3
    assert result.thresholds[3] == spot.threshold_ != before


def test_dspot_follows_a_trend_that_spot_alarms_on():
    rng = np.random.default_rng(7)
    n = 15_000
    series = np.linspace(0.0, 30.0, n) + rng.normal(size=n)
    spikes = np.arange(6000, n, 1500)
    series[spikes] += 10.0
    calib, stream = series[:5000], series[5000:]
    spikes = spikes - 5000
    normal = np.ones(stream.size, dtype=bool)
    normal[spikes] = False

    drift = DSpot(risk=1e-4, depth=20).fit(calib).update(stream)
    assert drift.flags[spikes].all()
    # Of the order of risk (a GPD fitted on ~100 Gaussian excesses).
    assert drift.flags[normal].sum() <= 5
    # DSPOT's threshold rises with the level.
    assert drift.thresholds[-1] - drift.thresholds[0] > 15

    plain = Spot(risk=1e-4).fit(calib).update(stream)
    # Once the trend passes its threshold, plain SPOT flags most normal points.
    assert plain.flags[normal].mean() > 0.5
    assert plain.flags[normal][-1000:].all()


@pytest.mark.parametrize("make", [lambda: Spot(risk=1e-3), lambda: DSpot(risk=1e-3, depth=7)])
def test_update_in_chunks_equals_one_at_a_time(make):
    rng = np.random.default_rng(8)
    calib = rng.gamma(2.0, size=3000)
    stream = rng.gamma(2.0, size=6000) + np.linspace(0, 3, 6000)
    stream[::700] += 15.0

    whole = make().fit(calib).update(stream)
    single = make().fit(calib)
    steps = [single.update(v) for v in stream]
    pieces = make().fit(calib)
    cuts = np.sort(rng.choice(np.arange(1, stream.size), size=40, replace=False))
    parts = [pieces.update(part) for part in np.split(stream, cuts)]

    for other in (
        [np.concatenate([s.thresholds for s in steps]), np.concatenate([s.flags for s in steps])],
        [np.concatenate([p.thresholds for p in parts]), np.concatenate([p.flags for p in parts])],
    ):
        np.testing.assert_array_equal(other[0], whole.thresholds)
        np.testing.assert_array_equal(other[1], whole.flags)
    assert whole.flags.sum() >= 8
    assert single.threshold_ == pieces.threshold_


def test_max_peaks_caps_the_excesses_kept_not_the_counts():
    rng = np.random.default_rng(9)
    spot = Spot(risk=1e-3, max_peaks=50).fit(rng.exponential(size=5000))
    assert spot.peaks_.size == 50
    spot.update(rng.exponential(size=5000))
    assert spot.peaks_.size == 50
    assert spot.n_peaks_ > 150


@pytest.mark.parametrize("make", [Spot, DSpot])
def test_state_survives_pickle_and_skops(make):
    rng = np.random.default_rng(10)
    detector = make(risk=1e-3).fit(rng.exponential(size=2000))
    detector.update(rng.exponential(size=500))
    stream = rng.exponential(size=3000)
    data = sio.dumps(detector)
    copies = [
        pickle.loads(pickle.dumps(detector)),
        sio.loads(data, trusted=sio.get_untrusted_types(data=data)),
    ]
    expected = detector.update(stream)
    for copy in copies:
        again = copy.update(stream)
        np.testing.assert_array_equal(again.thresholds, expected.thresholds)


def test_mistakes_raise_one_clear_sentence():
    rng = np.random.default_rng(11)
    scores = rng.exponential(size=2000)
    with pytest.raises(AnomalyzerError, match=r"at least 501 calibration scores"):
        Spot().fit(scores[:100])
    with pytest.raises(AnomalyzerError, match=r"at least 521 calibration scores"):
        DSpot(depth=20).fit(scores[:520])
    with pytest.raises(AnomalyzerError, match="tied scores"):
        Spot().fit(np.r_[np.zeros(1995), np.ones(5)])
    for bad in (0, 1, 1.5, -0.1, float("nan")):
        with pytest.raises(AnomalyzerError, match="risk must be a number in"):
            Spot(risk=bad).fit(scores)
        with pytest.raises(AnomalyzerError, match="level must be a number in"):
            Spot(level=bad).fit(scores)
    with pytest.raises(AnomalyzerError, match="depth must be an integer"):
        DSpot(depth=0).fit(scores)
    with pytest.raises(AnomalyzerError, match="not calibrated"):
        Spot().update(scores)
    with pytest.raises(AnomalyzerError, match="NaN or infinite values"):
        Spot().fit(np.r_[scores, np.nan])
    spot = Spot().fit(scores)
    before = spot.threshold_, spot.n_
    with pytest.raises(AnomalyzerError, match=r"first at position 2"):
        spot.update([1.0, 2.0, np.inf])
    assert (spot.threshold_, spot.n_) == before
    with pytest.raises(AnomalyzerError, match="positive"):
        fit_gpd([1.0, 0.0])
