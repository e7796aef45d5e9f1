"""The neural series detector: seeds, devices, short series, saved models, streaming."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import anomalyzer as az
from anomalyzer import timeseries
from anomalyzer.errors import AnomalyzerError

pytest.importorskip("torch", reason="the neural detector needs torch (the torch extra)")


def _series(n: int = 1200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.c_[np.sin(2 * np.pi * t / 48), np.cos(2 * np.pi * t / 48)] + 0.05 * rng.normal(
        size=(n, 2)
    )


def test_two_channels_parting_ways_is_found():
    x = _series()
    x[900:910, 1] = -x[900:910, 1]  # one channel runs against its usual partner
    det = timeseries.make("neural", steps=150).fit(x)
    top = np.argsort(-det.decision_scores_)[:10]
    assert np.isin(top, np.arange(900, 912)).mean() >= 0.8
    # The channel that broke away carries the blame.
    assert det.explain(x)[900:910].sum(axis=0).argmax() == 1


def test_seed_decides_the_weights():
    x = _series()
    a = timeseries.make("neural", steps=50, random_state=1).fit(x)
    b = timeseries.make("neural", steps=50, random_state=1).fit(x)
    c = timeseries.make("neural", steps=50, random_state=2).fit(x)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    assert not np.allclose(a.decision_scores_, c.decision_scores_)
    assert a.device_ in ("cpu", "cuda", "cuda:0")


def test_first_points_have_no_forecast():
    det = timeseries.make("neural", levels=3, steps=20).fit(_series(200))
    parts = det.components(_series(200))
    assert (parts.z[:8] == 0).all() and np.isnan(parts.expected[:8]).all()
    assert np.isfinite(parts.expected[8:]).all()


@pytest.mark.parametrize(
    "params, words",
    [
        ({"device": "tpu"}, "device must be"),
        ({"levels": 0}, "levels"),
        ({"levels": 11}, "levels must be at most 10"),
        ({"steps": 0}, "steps"),
        ({"batch_size": -1}, "batch_size"),
    ],
)
def test_bad_parameters_are_one_sentence(params, words):
    with pytest.raises(AnomalyzerError, match=words):
        timeseries.make("neural", **params).fit(_series(300))


def test_too_short_a_series_is_named():
    with pytest.raises(AnomalyzerError, match="needs a series of at least 40 points"):
        timeseries.make("neural").fit(_series(30))


def test_saved_model_scores_and_streams_the_same(tmp_path):
    x = _series(900)[:, 0]
    x[800] += 2.0
    df = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=x.size, freq="1min"), "v": x})
    model = az.SeriesModel("neural", causal=True, n_jobs=1, steps=60).fit(df[:700], time="t")
    path = model.save(tmp_path / "neural.azm")
    loaded = az.load(path)
    a = model.update(df[700:])
    b = loaded.update(df[700:])
    np.testing.assert_allclose(a["anomaly_score"], b["anomaly_score"])
    assert int(np.argmax(a["anomaly_score"].to_numpy())) == 100
