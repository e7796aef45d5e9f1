"""The time-series front door: ``detect(df, time=...)``, ``SeriesModel``, reasons, files."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pandas as pd
import pytest

import anomalyzer as az
from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries import model as series_model
from anomalyzer.timeseries.model import SeriesModel
from anomalyzer.timeseries.result import SeriesResult

START = "2026-03-16"  # a Monday; the clocks in Paris go forward on 2026-03-29
N = 24 * 21  # hourly points for three weeks


def metrics_frame(
    n: int = N,
    seed: int = 0,
    spike: int | None = 130,
    shift: int | None = None,
    weekly: bool = True,
) -> pd.DataFrame:
    """Hourly cpu with a daily (and a weekly) cycle, and a spike at ``spike``."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(START, periods=n, freq="h")
    hour, weekend = np.arange(n) % 24, (np.arange(n) // 24) % 7 >= 5
    cpu = 50 + 10 * np.sin(2 * np.pi * hour / 24) - 8 * weekly * weekend + rng.normal(0, 1, n)
    if spike is not None:
        cpu[spike] += 30
    if shift is not None:
        cpu[shift:] *= 0.65
    return pd.DataFrame({"timestamp": t, "cpu": cpu})


def planted_with_defects() -> tuple[pd.DataFrame, dict[str, int]]:
    """A spike, a dip, a level shift and a variance change, in a table with every defect."""
    rng = np.random.default_rng(1)
    df = metrics_frame(spike=None)
    cpu = df["cpu"].to_numpy().copy()
    cpu[130] += 30  # spike
    cpu[250] -= 30  # dip
    cpu[330:] -= 20  # level shift, about 40% down
    cpu[430:] += rng.normal(0, 6, N - 430)  # volatility up
    df["cpu"] = cpu
    df["planted"] = ""
    for name, i in {"spike": 130, "dip": 250, "shift": 330, "variance": 430}.items():
        df.loc[i, "planted"] = name
    # Local wall-clock times: the hour skipped on 2026-03-29 (DST) is simply absent.
    local = pd.date_range(START, periods=N, freq="h", tz="Europe/Paris").tz_localize(None)
    df["timestamp"] = local
    normal = np.flatnonzero(df["planted"].to_numpy() == "")
    df = df.drop(index=range(180, 228))  # a two-day gap
    df.loc[rng.choice(normal[normal < 170], 5, replace=False), "cpu"] = np.nan
    jitter = rng.choice(normal[normal < 170], 6, replace=False)
    df.loc[jitter, "timestamp"] += pd.Timedelta("4min")  # irregular stamps
    df = pd.concat([df, df.loc[[10, 11, 400]]])  # duplicated rows
    df = df.sample(frac=1.0, random_state=3).reset_index(drop=True)  # unsorted
    rows = {name: int(np.flatnonzero(df["planted"].to_numpy() == name)[0]) for name in
            ("spike", "dip", "shift", "variance")}  # fmt: skip
    return df, rows


@pytest.fixture(scope="module")
def planted_result() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int], SeriesResult]:
    df, rows = planted_with_defects()
    before = df.copy(deep=True)
    return df, before, rows, az.detect(df, time="timestamp", value="cpu")


def test_detect_with_time_finds_planted_points_through_the_defects(planted_result):
    df, before, rows, result = planted_result
    assert isinstance(result, SeriesResult)
    pd.testing.assert_frame_equal(df, before)  # the caller's table is untouched
    frame = result.frame
    assert len(frame) == len(df) and frame.index.equals(df.index)
    assert frame[["timestamp", "cpu", "planted"]].equals(df[["timestamp", "cpu", "planted"]])
    for col in ("anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason"):
        assert col in frame.columns
    # The spike and the dip are the top-ranked rows, and say why.
    assert sorted(frame.loc[[rows["spike"], rows["dip"]], "anomaly_rank"]) == [1, 2]
    assert frame.loc[rows["spike"], "anomaly_reason"] and frame.loc[rows["dip"], "anomaly_reason"]
    # The shift and the volatility change are flagged, or among the top-ranked
    # rows, at or just after their start.
    times = pd.to_datetime(frame["timestamp"])
    high = frame["is_anomaly"] | (frame["anomaly_rank"] <= 0.15 * len(frame))
    for name, after in (("shift", 12), ("variance", 36)):
        start = times[rows[name]]
        near = (times >= start - pd.Timedelta("3h")) & (times <= start + pd.Timedelta(hours=after))
        assert high[near].any(), name
    assert (frame.loc[frame["is_anomaly"], "anomaly_reason"].str.len() > 0).all()
    assert result.notes  # the defects were handled and said so


def test_points_table_has_the_grid_with_bands(planted_result):
    _, _, _, result = planted_result
    pts = result.points
    for col in ("timestamp", "cpu", "expected_cpu", "lower_cpu", "upper_cpu", "anomaly_score",
                "is_anomaly", "observed"):  # fmt: skip
        assert col in pts.columns
    assert pts["timestamp"].is_monotonic_increasing
    assert not pts["cpu"].isna().any()
    assert (~pts["observed"]).sum() >= 48  # the two-day gap was filled ...
    assert not (pts["is_anomaly"] & ~pts["observed"]).any()  # ... and never flagged
    band = pts[["lower_cpu", "upper_cpu"]].dropna()
    assert (band["lower_cpu"] <= band["upper_cpu"]).all()
    assert "SeriesResult(" in repr(result) and result.n_anomalies == len(result.anomalies)


def test_spike_reason_names_the_band_and_the_slot():
    # Daily cycle only: with three weeks, a weekly season would be fitted from
    # three cycles, too few for the decomposition to tell a spike from the season.
    result = az.detect(metrics_frame(spike=130, weekly=False), "stl", time="timestamp")
    reason = result.frame.loc[130, "anomaly_reason"]
    hour = pd.Timestamp(result.frame.loc[130, "timestamp"]).strftime("%H:00")
    assert result.frame.loc[130, "is_anomaly"]
    assert re.search(rf"above the expected band [\d.,]+–[\d.,]+ for (\w+ )?{hour}$", reason), reason


def test_level_shift_reason_gives_direction_and_percent():
    result = az.detect(metrics_frame(spike=None, shift=300), "level_shift", time="timestamp")
    flagged = result.frame[result.frame["is_anomaly"]]
    texts = " | ".join(flagged["anomaly_reason"])
    found = re.search(r"level shift down of (\d+(?:\.\d+)?)% from 2026-03-28 12:00", texts)
    assert found, texts
    assert 25 <= float(found.group(1)) <= 45


def test_reason_names_the_channel_that_drives_it():
    df = metrics_frame(spike=None)
    df["mem"] = 20 + np.random.default_rng(5).normal(0, 0.5, len(df))
    df.loc[200, "mem"] = 35.0
    result = az.detect(df, "rolling_z", time="timestamp")
    reason = result.frame.loc[200, "anomaly_reason"]
    assert result.frame.loc[200, "is_anomaly"]
    assert reason.startswith("mem 35 above the expected band") and "cpu" not in reason


def three_hosts() -> pd.DataFrame:
    parts = []
    for g in range(3):
        part = metrics_frame(n=24 * 10, seed=g, spike=60 + 20 * g)
        parts.append(part.assign(host=f"web-{g}"))
    return pd.concat(parts, ignore_index=True)


def test_groups_one_table_and_parallel_equals_sequential(monkeypatch):
    df = three_hosts()
    one = SeriesModel("rolling_z", n_jobs=1).fit(df, "timestamp", group="host")
    # Force the worker processes even for this small table.
    monkeypatch.setattr(series_model, "PARALLEL_SECONDS", 0.0)
    two = SeriesModel("rolling_z", n_jobs=2).fit(df, "timestamp", group="host")
    pd.testing.assert_frame_equal(one.points(), two.points())
    pts = one.points()
    assert sorted(pts["group"].unique()) == ["web-0", "web-1", "web-2"]
    result = az.detect(df, "rolling_z", time="timestamp", group="host", n_jobs=1)
    assert len(result.frame) == len(df) and result.frame["anomaly_score"].notna().all()
    for g in range(3):
        assert result.frame.loc[240 * g + 60 + 20 * g, "anomaly_rank"] <= 3


def test_streaming_equals_causal_batch_scores():
    df = metrics_frame(spike=None)
    df.loc[420, "cpu"] += 30
    k = 400
    model = SeriesModel(causal=True).fit(df.iloc[:k], "timestamp")
    batch = model.score(df)  # scored as a series of its own: the causal batch scores
    streamed = pd.concat([model.update(df.iloc[[i]]) for i in range(k, len(df))])
    np.testing.assert_array_equal(
        streamed["anomaly_score"].to_numpy(), batch["anomaly_score"].to_numpy()[k:]
    )
    assert streamed["anomaly_score"].idxmax() == 420
    assert {"expected", "lower", "upper", "anomaly_reason"} <= set(streamed.columns)
    simple = SeriesModel("rolling_z", causal=True).fit(df.iloc[:k], "timestamp")
    spike = simple.update(df.iloc[k:421]).loc[420]
    assert spike["is_anomaly"] and spike["cpu"] > spike["upper"]
    assert spike["anomaly_reason"].startswith(f"value {spike['cpu']:.3g} above the expected band")


def test_update_fills_gaps_and_skips_late_rows():
    df = metrics_frame(spike=None)
    k = 400
    a = SeriesModel("rolling_z", causal=True).fit(df.iloc[:k], "timestamp")
    b = SeriesModel("rolling_z", causal=True).fit(df.iloc[:k], "timestamp")
    out = a.update(df.iloc[[k + 3, k + 1]])
    assert "3 missing point(s)" in " ".join(out.attrs["notes"])
    # The three missing points went through the detector as the last value.
    last = df["cpu"].iloc[k - 1]
    filled = pd.DataFrame({"timestamp": df["timestamp"].iloc[k : k + 3], "cpu": last})
    b.update(filled)
    again = b.update(df.iloc[[k + 3]])
    assert out["anomaly_score"].iloc[0] == again["anomaly_score"].iloc[0]
    late = out.iloc[1]
    assert np.isnan(late["anomaly_score"]) and not late["is_anomaly"]
    assert "is not after the last point" in late["anomaly_reason"]


def test_score_new_rows_of_known_and_unknown_series():
    df = three_hosts()
    model = SeriesModel("rolling_z").fit(
        df[df["timestamp"] < "2026-03-23"], "timestamp", group="host"
    )
    new = df[df["timestamp"] >= "2026-03-23"].copy()
    new.loc[new.index[10], "cpu"] += 40
    new.loc[new.index[-3:], "host"] = "db-9"
    scored = model.score(new)
    assert scored.index.equals(new.index) and scored.loc[new.index[10], "is_anomaly"]
    assert "above the expected band" in scored.loc[new.index[10], "anomaly_reason"]
    unknown = scored.loc[new.index[-3:]]
    assert unknown["anomaly_score"].isna().all() and not unknown["is_anomaly"].any()
    assert (unknown["anomaly_reason"] == "not scored: its series was not seen at fit").all()
    streaming = SeriesModel("rolling_z", causal=True).fit(df, "timestamp", group="host")
    late = streaming.update(new.tail(1))
    assert late["anomaly_reason"].iloc[0] == "not scored: its series was not seen at fit"


def test_update_needs_a_causal_model():
    model = SeriesModel("rolling_z").fit(metrics_frame(), "timestamp")
    with pytest.raises(AnomalyzerError, match=r"causal=True"):
        model.update(metrics_frame().tail(2))


def test_save_load_round_trip(tmp_path):
    df = three_hosts()
    fit = df[df["timestamp"] < "2026-03-24"]
    new = df[df["timestamp"] >= "2026-03-24"]
    model = SeriesModel(causal=True).fit(fit, "timestamp", group="host")
    path = model.save(tmp_path / "series.azm")
    again = az.load(path)
    assert isinstance(again, SeriesModel) and again.periods == model.periods
    pd.testing.assert_frame_equal(model.score(new), again.score(new))
    pd.testing.assert_frame_equal(model.update(new), again.update(new))


def test_model_file_holds_only_allowed_types(tmp_path):
    import skops.io as sio

    from anomalyzer import persist

    path = SeriesModel("rolling_z").fit(metrics_frame(), "timestamp").save(tmp_path / "m.azm")
    with zipfile.ZipFile(path) as zf:
        payload = zf.read(persist.PAYLOAD)
    assert set(sio.get_untrusted_types(data=payload)) <= set(persist.SERIES_ALLOWED_TYPES)
    # A payload holding any other type is refused before anything in it is built.
    manifest = persist.read_manifest(path)
    bad = sio.dumps({"detectors": [Planted()], "tail_values": [None], "tail_index": [None]})
    manifest["payload"]["sha256"] = persist.hashlib.sha256(bad).hexdigest()
    manifest["payload"]["size"] = len(bad)
    manifest["digest"] = persist._digest(manifest, bad)
    tampered = tmp_path / "bad.azm"
    persist._write_zip(tampered, manifest, bad)
    with pytest.raises(AnomalyzerError, match="may not contain"):
        az.load(tampered)
    assert not Planted.built


class Planted:
    """An object a model file must not bring back: building it would run its code."""

    built = False

    def __setstate__(self, state: dict) -> None:
        Planted.built = True


def test_series_detector_names_are_checked():
    with pytest.raises(AnomalyzerError, match=r"Unknown time-series detector 'iforest'.*rolling_z"):
        az.detect(metrics_frame(), "iforest", time="timestamp")
    with pytest.raises(AnomalyzerError, match="Column 'when' given as time= is not in the table"):
        az.detect(metrics_frame(), time="when")
