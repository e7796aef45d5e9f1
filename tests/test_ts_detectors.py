"""Series detectors on generated series with known truth, and their shared contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from anomalyzer import timeseries
from anomalyzer.errors import AnomalyzerError

DAY = 48  # half-hourly points
WEEK = 7 * DAY


def planted_series(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Six weeks with daily and weekly seasons and every kind of anomaly planted.

    Returns the series, the truth per kind (the points a detector of that kind
    should rank high) and a mask of every point an anomaly touched (kept out
    of the negatives).
    """
    rng = np.random.default_rng(seed)
    n = 6 * WEEK
    t = np.arange(n)
    daily = 10 * np.sin(2 * np.pi * t / DAY)
    weekly = 4 * np.where((t // DAY) % 7 >= 5, -1.0, 0.4)
    x = 100 + daily + weekly + rng.normal(0, 1.0, n)
    truth: dict[str, list[int]] = {k: [] for k in ("spike", "dip", "level", "variance", "shape")}
    touched = np.zeros(n, dtype=bool)
    for pos in (700, 1300, 1800):
        x[pos] += 8.0
        truth["spike"].append(pos)
        touched[pos] = True
    for pos in (900, 1500, 1950):
        x[pos] -= 8.0
        truth["dip"].append(pos)
        touched[pos] = True
    # A level shift that lasts four days, then a variance change of three.
    x[1000:1192] += 6.0
    truth["level"] += list(range(1000, 1005)) + list(range(1192, 1197))
    touched[990:1210] = True
    x[1600:1744] += rng.normal(0, 4.0, 144)
    truth["variance"] += list(range(1600, 1610))
    touched[1590:1760] = True
    # One day whose shape is the day mirrored in time: same values, wrong order.
    day = slice(2 * WEEK + 2 * DAY, 2 * WEEK + 3 * DAY)
    x[day] = x[day][::-1].copy()
    truth["shape"] += list(range(day.start, day.stop))
    touched[day] = True
    return x, {k: np.array(v) for k, v in truth.items()}, touched


CLAIMS = {
    "rolling_z": ("spike", "dip"),
    "stl": ("spike", "dip", "shape"),
    "forecast": ("spike", "dip"),
    "level_shift": ("level",),
    "variance_change": ("variance",),
    "matrix_profile": ("shape",),
    "window": ("spike", "level", "variance"),
    "auto": ("spike", "dip", "level", "variance", "shape"),
    "neural": ("spike", "dip"),
}
# Detectors whose optional packages are installed here (neural needs torch).
NAMES = [name for name in sorted(CLAIMS) if name in timeseries.available()]


def _auc(scores: np.ndarray, positives: np.ndarray, touched: np.ndarray) -> float:
    negatives = np.nonzero(~touched)[0]
    y = np.r_[np.ones(positives.size), np.zeros(negatives.size)]
    return roc_auc_score(y, np.r_[scores[positives], scores[negatives]])


@pytest.fixture(scope="module")
def series():
    return planted_series()


def test_every_registered_detector_has_claims():
    from anomalyzer import detectors

    assert set(CLAIMS) == {s.name for s in detectors.specs("series")}
    assert set(NAMES) == set(timeseries.available())


@pytest.mark.parametrize("name", NAMES)
def test_detector_finds_the_kinds_it_claims(name, series):
    x, truth, touched = series
    det = timeseries.make(name).fit(x)
    scores = det.decision_scores_
    for kind in CLAIMS[name]:
        auc = _auc(scores, truth[kind], touched)
        assert auc >= 0.9, f"{name} ranks {kind} anomalies with ROC-AUC {auc:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_streaming_equals_causal_batch(name, series):
    x = series[0][: 3 * WEEK]
    k = 2 * WEEK
    det = timeseries.make(name, causal=True).fit(x[:k])
    batch = det.decision_function(x)
    flags = det.predict(x)
    out = [det.update(x[k : k + 1]), det.update(x[k + 1 : k + 40])]
    out += [det.update(x[i : i + 1]) for i in range(k + 40, x.size)]
    streamed = np.concatenate([o.scores for o in out])
    np.testing.assert_allclose(streamed, batch[k:], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.concatenate([o.flags for o in out]), flags[k:] == 1)


@pytest.mark.parametrize("name", NAMES)
def test_contract(name, series):
    x = series[0][: 2 * WEEK]
    det = timeseries.make(name)
    assert clone(det).get_params() == det.get_params()
    det.fit(x)
    scores = det.decision_function(x)
    assert scores.shape == (x.size,) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores, timeseries.make(name).fit(x).decision_function(x))
    np.testing.assert_allclose(det.decision_scores_, scores)
    assert set(np.unique(det.predict(x))) <= {0, 1}
    assert det.explain(x).shape == (x.size, 1)
    assert (det.explain(x) >= 0).all()
    low, high = det.expected_band(x)
    assert low.shape == high.shape == (x.size, 1)
    bad = x.copy()
    bad[5] = np.nan
    with pytest.raises(AnomalyzerError):
        timeseries.make(name).fit(bad)


def test_update_needs_a_causal_fit(series):
    det = timeseries.make("rolling_z").fit(series[0][:500])
    with pytest.raises(AnomalyzerError, match="causal=True"):
        det.update(series[0][500:510])


def test_unknown_detector_is_named():
    with pytest.raises(AnomalyzerError, match="Unknown time-series detector 'nope'"):
        timeseries.make("nope")


def test_one_channel_band_matches_the_flags(series):
    x = series[0]
    det = timeseries.make("forecast", period=DAY).fit(x)
    low, high = det.expected_band(x)
    outside = (x < low[:, 0]) | (x > high[:, 0])
    np.testing.assert_array_equal(outside, det.predict(x).astype(bool))


def test_joint_scoring_catches_channels_parting_ways():
    # Two metrics share a common swing; for a stretch one drops away from the
    # other while staying inside its own usual range.
    rng = np.random.default_rng(3)
    n = 2000
    common = rng.normal(0, 1.0, n)
    a = common + rng.normal(0, 0.05, n)
    b = common + rng.normal(0, 0.05, n)
    b[1200:1210] -= 0.6
    X = np.column_stack([a, b])
    stretch = np.arange(1200, 1210)
    alone = timeseries.make("rolling_z", window=100, period=[]).fit(X[:, 1])
    assert np.isin(np.argsort(-alone.decision_scores_)[:10], stretch).mean() <= 0.3
    joint = timeseries.make("rolling_z", window=100, period=[]).fit(X)
    assert np.isin(np.argsort(-joint.decision_scores_)[:10], stretch).mean() >= 0.8
    contrib = joint.explain(X)[stretch]
    assert (contrib.sum(axis=1) > 0).all()


def test_esd_threshold_flags_the_planted_points_only():
    from anomalyzer.timeseries.decomposition import esd_threshold

    rng = np.random.default_rng(0)
    z = np.abs(np.r_[rng.normal(size=2000), [9.0, 10.0, 11.0]])
    assert int((z > esd_threshold(z)).sum()) == 3


def test_causal_auto_scores_new_extremes_on_one_scale():
    rng = np.random.default_rng(1)
    small = rng.normal(0, 0.01, 1500)
    small[1200] = 0.2
    large = small * 1e5 + 3e4
    s1 = timeseries.make("auto", causal=True).fit(small[:300]).decision_function(small)
    s2 = timeseries.make("auto", causal=True).fit(large[:300]).decision_function(large)
    assert np.argmax(s1) == 1200
    # Surprises are -log p-values: the units and the level of a series do not
    # change its scores, so one threshold means the same rarity everywhere.
    np.testing.assert_allclose(s1, s2, rtol=1e-6, atol=1e-6)


def test_adaptive_threshold_follows_the_streamed_scores():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 6000)
    x[5000] += 12.0
    det = timeseries.make("rolling_z", period=[], causal=True).fit(x[:3000])
    det.adapt_threshold("spot", risk=1e-3)
    out = det.update(x[3000:])
    assert out.flags[2000]
    assert out.flags.sum() <= 20
    # The threshold in force changes as the tail is learned.
    assert np.unique(out.thresholds).size > 1
    det.adapt_threshold("fixed")
    assert (det.update(x[:10]).thresholds == det.threshold_).all()
    with pytest.raises(AnomalyzerError, match="method must be"):
        det.adapt_threshold("nope")


@pytest.mark.parametrize("name", ["auto", "rolling_z", "stl", "forecast", "level_shift"])
@pytest.mark.parametrize("period", [-3, 1, 2.5, "day", [24, -1]])
def test_bad_period_is_one_sentence(name, period, series):
    with pytest.raises(AnomalyzerError, match="period must be"):
        timeseries.make(name, period=period).fit(series[0][:500])


def test_forecast_takes_one_period(series):
    with pytest.raises(AnomalyzerError, match="one integer"):
        timeseries.make("forecast", period=[24, 168]).fit(series[0][:500])
