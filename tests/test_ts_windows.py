"""WindowDetector: tabular detectors over sliding windows of one or many channels."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate import evaluate
from anomalyzer.timeseries.windows import WindowDetector


def coupled(n: int = 3000, period: int = 50, seed: int = 0) -> np.ndarray:
    """Two noisy channels that follow the same sine."""
    rng = np.random.default_rng(seed)
    base = np.sin(2 * np.pi * np.arange(n) / period)
    return base[:, None] + 0.1 * rng.normal(size=(n, 2))


def decoupled(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Channel 1 moves against channel 0 for two cycles; each channel alone stays a sine."""
    X = coupled(seed=seed)
    X[1500:1600, 1] *= -1.0
    labels = np.zeros(X.shape[0])
    labels[1500:1600] = 1
    return X, labels


@pytest.mark.parametrize("detector", ["iforest", "knn"])
def test_channels_parting_ways_are_found(detector: str) -> None:
    X, labels = decoupled()
    for j in range(2):  # neither channel alone gives it away
        assert evaluate(labels, np.abs(X[:, j])).roc_auc < 0.6
    for causal in (False, True):
        det = WindowDetector(detector, window=16, causal=causal).fit(X)
        assert evaluate(labels, det.decision_scores_).roc_auc >= 0.9


@pytest.mark.parametrize("detector", ["knn", "iforest"])
def test_explanations_name_the_channel_with_the_spike(detector: str) -> None:
    X = coupled(800)
    X[600, 1] += 4.0
    for causal in (False, True):
        det = WindowDetector(detector, window=12, causal=causal).fit(X)
        explained = det.explain(X)
        assert explained.shape == X.shape and (explained >= 0).all()
        assert int(np.argmax(explained[600])) == 1
        if detector == "knn":
            # A lone spike is one of 24 features of a window: isolation forests
            # rarely split on it, neighbours see it at once.
            top = int(np.argmax(det.decision_scores_))
            assert 600 <= top <= 611 if causal else 589 <= top <= 611
            assert int(np.argmax(explained[top])) == 1
    assert (det.explain(X[:5]) == 0).all()  # causal: no full window yet


@pytest.mark.parametrize("normalise", [False, True])
def test_streaming_continues_the_causal_scores_exactly(normalise: bool) -> None:
    X = coupled(1200, seed=1)
    X[900, 0] -= 3.0
    det = WindowDetector(window=10, normalise=normalise, causal=True).fit(X)
    whole = det.decision_function(X)
    np.testing.assert_array_equal(whole, det.decision_scores_)
    assert (whole[:9] == det.floor_).all()
    for k, chunk in [(1170, 1), (700, 37), (50, 575)]:
        part = WindowDetector(window=10, normalise=normalise, causal=True).fit(X[:k])
        # Same seed, other training rows: the forests differ, so compare with
        # this detector's own causal scores of the whole series.
        expected = part.decision_function(X)[k:]
        got = np.concatenate([part.update(X[i : i + chunk]).scores for i in range(k, 1200, chunk)])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_batch_scores_take_the_worst_covering_window() -> None:
    x = np.sin(np.arange(800) / 6.0)
    x[500] = 4.0
    det = WindowDetector("knn", window=8).fit(x)
    window_scores = det.detector_.decision_function(det._windows(x.reshape(-1, 1)))
    for t in (0, 3, 500, 799):
        covering = window_scores[max(0, t - 7) : t + 1]
        assert det.decision_scores_[t] == covering.max()
    assert (det.predict(x)[500:508] == 1).all()
    parts = det.components(x)
    np.testing.assert_array_equal(parts.score, det.decision_scores_)
    np.testing.assert_allclose(parts.z.sum(axis=1), parts.score)
    assert np.isnan(det.expected_band(x)[0]).all()  # no expected value: no band


def test_the_tabular_detector_is_built_from_the_registry() -> None:
    det = WindowDetector("iforest", window=4, params={"n_estimators": 20}, random_state=3)
    det.fit(coupled(300))
    assert det.detector_.n_estimators == 20 and det.detector_.random_state == 3
    assert det.detector_.n_features_in_ == 8  # 4 lags of 2 channels
    assert WindowDetector("mad", window=4).fit(coupled(300)).detector_.n_features_in_ == 8
    capped = WindowDetector(window=4, step=2, max_windows=50).fit(coupled(300))
    assert capped.n_train_windows_ == 50


def test_bad_settings_are_refused_with_a_reason() -> None:
    X = coupled(300)
    with pytest.raises(
        AnomalyzerError, match=r"Unknown detector 'iforrest'.*Did you mean 'iforest'"
    ):
        WindowDetector("iforrest").fit(X)
    with pytest.raises(AnomalyzerError, match="learns from labels"):
        WindowDetector("supervised").fit(X)
    with pytest.raises(AnomalyzerError, match="has no parameter 'depth'"):
        WindowDetector(params={"depth": 3}).fit(X)
    with pytest.raises(AnomalyzerError, match="window=400 needs a series of at least 401"):
        WindowDetector(window=400).fit(X)
    with pytest.raises(AnomalyzerError, match="step must be an integer >= 1"):
        WindowDetector(step=0).fit(X)


def test_parameters_follow_scikit_learn() -> None:
    det = WindowDetector("knn", window=8, params={"n_neighbors": 3}, normalise=True)
    twin = clone(det)
    assert twin.get_params() == det.get_params()
    assert twin.params is not det.params  # cloned, not shared
    assert not hasattr(twin, "detector_")
    fitted = twin.fit(coupled(400))
    assert fitted.detector_.n_neighbors == 3


def test_a_saved_stream_goes_on_where_it_stopped() -> None:
    X = coupled(700)
    det = WindowDetector(window=6, causal=True).fit(X[:500])
    assert set(det.stream_state_) == {"buffer"} and det.stream_state_["buffer"].shape == (5, 2)
    blob = sio.dumps(det)
    again = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(again.update(X[500:]).scores, det.update(X[500:]).scores)
