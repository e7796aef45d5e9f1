"""MatrixProfile: shape anomalies (discords), causal streaming, flat series, errors."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate import evaluate
from anomalyzer.timeseries.matrix_profile import MatrixProfile


def shape_anomaly(seed: int = 0, n: int = 3000, period: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sine with one cycle replaced by a triangle of the same amplitude and mean."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / period)
    start = n // 2
    phase = (t[start : start + period] - start) / period
    x[start : start + period] = np.where(
        phase < 0.25, 4 * phase, np.where(phase < 0.75, 2 - 4 * phase, 4 * phase - 4)
    )
    labels = np.zeros(n)
    labels[start : start + period] = 1
    return x + 0.05 * rng.normal(size=n), labels


def noisy_sine(n: int, seed: int = 0, period: int = 37) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sin(2 * np.pi * np.arange(n) / period) + 0.1 * rng.normal(size=n)


def brute_force_profile(x: np.ndarray, m: int, horizon: int | None) -> np.ndarray:
    """Squared z-normalised distance to the nearest other subsequence, by definition.

    ``horizon=None``: two-sided, over the whole series. Otherwise the left
    profile, partners ending within the last ``horizon`` points.
    """
    windows = np.lib.stride_tricks.sliding_window_view(x, m)
    n_rows = windows.shape[0]
    excl = int(np.ceil(m / 4))
    flat = np.ptp(windows, axis=1) == 0
    sd = np.where(flat, 1.0, windows.std(axis=1))
    zn = (windows - windows.mean(axis=1, keepdims=True)) / sd[:, None]
    out = np.full(n_rows, np.inf)
    for i in range(n_rows):
        for j in range(n_rows):
            if abs(i - j) <= excl or (horizon is not None and not i - (horizon - m) <= j < i):
                continue
            if flat[i] and flat[j]:
                d2 = 0.0
            elif flat[i] or flat[j]:
                d2 = float(m)
            else:
                d2 = float(((zn[i] - zn[j]) ** 2).sum())
            out[i] = min(out[i], d2)
    return out


def test_a_changed_cycle_that_point_wise_scores_miss_is_found() -> None:
    x, labels = shape_anomaly()
    # Every value of the triangle lies in the sine's usual range.
    assert evaluate(labels, np.abs(x - x.mean())).roc_auc < 0.6
    det = MatrixProfile().fit(x)
    assert det.window_ == 50  # one cycle of the detected period
    assert evaluate(labels, det.decision_scores_).roc_auc >= 0.9
    # Causal scores rise only as the changed cycle is seen, so they trail it.
    causal = MatrixProfile(causal=True).fit(x)
    assert evaluate(labels, causal.decision_scores_).roc_auc >= 0.85


def test_a_spike_is_found_in_both_modes() -> None:
    x = noisy_sine(2000)
    x[1234] += 4.0
    batch = MatrixProfile(window=20).fit(x)
    assert 1234 - 19 <= int(np.argmax(batch.decision_scores_)) <= 1234 + 19
    assert batch.predict(x)[1234] == 1
    causal = MatrixProfile(window=20, causal=True).fit(x)
    # The first cycle has nothing earlier like it, so it scores high too; after
    # it, the subsequences that hold the spike (ending at 1234 .. 1253) stand out.
    assert 1234 <= 100 + int(np.argmax(causal.decision_scores_[100:])) <= 1253


def test_scores_match_the_definition() -> None:
    x = noisy_sine(260, seed=1, period=23)
    x[100:130] = 0.5  # a flat stretch: constant subsequences
    m = 12
    left = brute_force_profile(x, m, horizon=80)
    ref = np.sqrt(left / (2 * m))
    ref[~np.isfinite(ref)] = 0.0
    causal = MatrixProfile(window=m, causal=True, max_history=80).fit(x)
    np.testing.assert_allclose(causal.decision_scores_[m - 1 :], ref, atol=1e-9)
    assert (causal.decision_scores_[: m - 1] == 0).all()

    per_row = np.sqrt(brute_force_profile(x, m, horizon=None) / (2 * m))
    expected = [per_row[max(0, t - m + 1) : t + 1].max() for t in range(x.size)]
    np.testing.assert_allclose(MatrixProfile(window=m).fit(x).decision_scores_, expected, atol=1e-9)


@pytest.mark.parametrize("max_history", [300, 10_000])
def test_streaming_continues_the_causal_scores_exactly(max_history: int) -> None:
    # Long enough to cross the periodic recomputation of the dot products.
    x = noisy_sine(2600)
    x[1800] += 3.0
    full = MatrixProfile(window=16, causal=True, max_history=max_history).fit(x)
    np.testing.assert_array_equal(full.decision_function(x), full.decision_scores_)
    for k, chunk in [(100, 1), (400, 7), (1000, 500), (64, 2536)]:
        det = MatrixProfile(window=16, causal=True, max_history=max_history).fit(x[:k])
        whole = det.decision_function(x)
        out = [det.update(x[i : i + chunk]) for i in range(k, x.size, chunk)]
        np.testing.assert_array_equal(np.concatenate([o.scores for o in out]), whole[k:])
        flags = np.concatenate([o.flags for o in out])
        np.testing.assert_array_equal(flags, whole[k:] > det.threshold_)
        # What the prefix learned (the level it centres on) barely matters.
        np.testing.assert_allclose(whole, full.decision_scores_, atol=1e-9)


def test_flat_series_and_flat_stretches_score_finitely() -> None:
    for causal in (False, True):
        det = MatrixProfile(window=8, causal=True).fit(np.full(200, 3.0))
        assert np.isfinite(det.decision_scores_).all()
        assert (det.decision_scores_ == 0).all()
        x = noisy_sine(600)
        x[300:400] = 1.0
        scores = MatrixProfile(window=8, causal=causal).fit(x).decision_scores_
        assert np.isfinite(scores).all()
        # Rounding noise on a flat stretch is flat too, not a random shape.
        y = x.copy()
        y[300:400] += 1e-13 * np.random.default_rng(0).normal(size=100)
        np.testing.assert_allclose(
            MatrixProfile(window=8, causal=causal).fit(y).decision_scores_, scores, atol=1e-12
        )


def test_a_window_too_large_is_refused_with_a_reason() -> None:
    with pytest.raises(AnomalyzerError, match=r"window=100 is too large for a series of 300"):
        MatrixProfile(window=100).fit(noisy_sine(300))
    with pytest.raises(AnomalyzerError, match=r"max_history=200"):
        MatrixProfile(window=100, causal=True, max_history=200).fit(noisy_sine(1000))
    with pytest.raises(AnomalyzerError, match="window must be an integer >= 3"):
        MatrixProfile(window=2).fit(noisy_sine(300))
    with pytest.raises(AnomalyzerError, match="causal=True"):
        MatrixProfile(window=10).fit(noisy_sine(300)).update(noisy_sine(10))


def test_the_window_without_a_period_and_on_short_series() -> None:
    noise = np.random.default_rng(0).normal(size=1000)
    assert MatrixProfile().fit(noise).window_ == 32
    assert MatrixProfile().fit(noise[:60]).window_ == 15  # a quarter of the series
    det = MatrixProfile(window=10).fit(noisy_sine(300))
    # A series shorter than the window has no subsequence: nothing stands out.
    assert (det.decision_function(noisy_sine(5)) == 0).all()


def test_the_level_of_a_series_does_not_change_its_shapes() -> None:
    x = noisy_sine(1500)
    for causal in (False, True):
        low = MatrixProfile(window=20, causal=causal).fit(x).decision_scores_
        high = MatrixProfile(window=20, causal=causal).fit(x + 1e6).decision_scores_
        np.testing.assert_allclose(high, low, atol=1e-8)


def test_two_channels_are_scored_per_channel_and_explained() -> None:
    X = np.c_[noisy_sine(1500, seed=1), noisy_sine(1500, seed=2, period=29)]
    X[900, 1] += 4.0
    for causal in (False, True):
        det = MatrixProfile(window=16, causal=causal).fit(X)
        top = 100 + int(np.argmax(det.decision_scores_[100:]))
        assert 900 - 15 <= top <= 900 + 15
        assert int(np.argmax(det.explain(X)[top])) == 1
        scores = det.explain(X)
        np.testing.assert_allclose(np.sqrt((scores**2).mean(axis=1)), det.decision_scores_)


def test_a_saved_stream_goes_on_where_it_stopped() -> None:
    x = noisy_sine(900)
    det = MatrixProfile(window=16, causal=True, max_history=400).fit(x[:600])
    state = det.stream_state_
    assert all(isinstance(v, np.ndarray | int) for v in state.values())
    blob = sio.dumps(det)
    again = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(again.update(x[600:]).scores, det.update(x[600:]).scores)


def test_parameters_follow_scikit_learn() -> None:
    det = MatrixProfile(window=12, causal=True, max_history=500, contamination=0.01)
    twin = clone(det)
    assert twin.get_params() == det.get_params()
    assert not hasattr(twin, "window_")
    det.fit(noisy_sine(400))
    assert int((det.decision_scores_ > det.threshold_).sum()) <= 0.02 * 400
