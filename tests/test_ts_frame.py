"""From a user's table to regular series: formats, order, duplicates, gaps, DST, groups."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.frame import (
    SeriesFrame,
    infer_frequency,
    parse_timestamps,
    prepare_series,
)

START = pd.Timestamp("2026-03-02 10:00")


def table(n: int = 48, freq: str = "5min", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.date_range(START, periods=n, freq=freq)
    return pd.DataFrame({"timestamp": t, "cpu": rng.normal(50, 5, n), "mem": rng.normal(size=n)})


def one(df: pd.DataFrame, **kwargs: object) -> SeriesFrame:
    prepared = prepare_series(df, **kwargs)
    assert len(prepared) == 1
    return prepared[0]


def check_contract(s: SeriesFrame, n_rows: int | None = None) -> None:
    """What every detector relies on: regular, ordered, finite, every row mapped."""
    assert s.values.dtype == np.float64 and s.values.ndim == 2
    assert s.values.shape == (len(s.index), len(s.channels))
    assert np.isfinite(s.values).all()
    assert s.observed.shape == (len(s.index),) and s.observed.dtype == bool
    steps = np.diff(s.index.as_unit("ns").asi8)
    assert (steps == s.freq.value).all()
    assert s.row_points.shape == s.rows.shape
    assert (np.diff(s.rows) > 0).all()
    assert s.row_points.min() >= 0 and s.row_points.max() < len(s.index)
    if n_rows is not None:
        assert s.rows.tolist() == list(range(n_rows))


# -- timestamp formats ------------------------------------------------------------------


STAMPS = pd.date_range(START, periods=24, freq="15min")


@pytest.mark.parametrize(
    ("column", "tz"),
    [
        (STAMPS.strftime("%Y-%m-%dT%H:%M:%S"), None),
        (STAMPS.strftime("%Y-%m-%d %H:%M"), None),
        (STAMPS.strftime("%Y-%m-%dT%H:%M:%S.%f"), None),
        (STAMPS.strftime("%Y-%m-%dT%H:%M:%SZ"), "UTC"),
        (STAMPS.strftime("%Y-%m-%dT%H:%M:%S+01:00"), "UTC+01:00"),
        (STAMPS.strftime("%m/%d/%Y %H:%M"), None),
        (STAMPS.strftime("%b %d, %Y %H:%M"), None),
        (list(STAMPS), None),
        (list(STAMPS.to_pydatetime()), None),
        (STAMPS.tz_localize("UTC").as_unit("s").asi8, "UTC"),
        (STAMPS.tz_localize("UTC").as_unit("ms").asi8, "UTC"),
        (STAMPS.tz_localize("UTC").as_unit("s").asi8.astype(float), "UTC"),
        (STAMPS.tz_localize("UTC").as_unit("s").asi8.astype(str), "UTC"),
    ],
    ids=[
        "iso-T",
        "iso-space-minutes",
        "iso-fraction",
        "iso-Z",
        "iso-offset",
        "month-first",
        "month-name",
        "datetime64",
        "python-datetime",
        "epoch-s",
        "epoch-ms",
        "epoch-s-float",
        "epoch-s-text",
    ],
)
def test_timestamp_formats(column: object, tz: str | None) -> None:
    df = pd.DataFrame({"when": column, "v": np.arange(24.0) % 5})
    s = one(df, time="when")
    check_contract(s, 24)
    assert s.freq == pd.Timedelta("15min")
    assert str(s.index.tz) == str(tz)
    wall = s.index.tz_localize(None) if tz is not None else s.index
    # Offsets move the instant, not the wall-clock reading shown in the zone.
    assert wall[0] == START
    assert s.notes == []


def test_mixed_offsets_become_utc() -> None:
    # Europe/Berlin across the spring change, written with the offset of the moment.
    utc = pd.date_range("2026-03-28 20:00", periods=12, freq="1h", tz="UTC")
    text = utc.tz_convert("Europe/Berlin").strftime("%Y-%m-%dT%H:%M:%S%z")
    assert len(set(t[-5:] for t in text)) == 2
    s = one(pd.DataFrame({"t": text, "v": np.arange(12.0) % 4}), time="t")
    assert str(s.index.tz) == "UTC"
    assert (s.index == utc).all()
    assert s.observed.all() and s.notes == []


def test_datetimes_in_several_zones_become_utc() -> None:
    utc = pd.date_range("2026-01-01 09:00", periods=12, freq="1h", tz="UTC")
    mixed = [t.tz_convert("Europe/Berlin") if i % 2 else t for i, t in enumerate(utc)]
    s = one(pd.DataFrame({"t": pd.Series(mixed, dtype=object), "v": np.arange(12.0) % 5}), time="t")
    assert str(s.index.tz) == "UTC" and (s.index == utc).all()


def test_day_first_when_a_value_says_so() -> None:
    days = pd.date_range("2026-03-05", periods=12, freq="1D")
    s = one(pd.DataFrame({"d": days.strftime("%d/%m/%Y"), "v": np.arange(12.0) % 3}), time="d")
    assert s.index[0] == pd.Timestamp("2026-03-05") and s.freq == pd.Timedelta("1D")
    # Every value ambiguous: month first, as pandas reads it.
    ambiguous = pd.Series(["02/03/2026 10:00", "02/03/2026 10:05"])
    assert parse_timestamps(ambiguous, "t")[0] == pd.Timestamp("2026-02-03 10:00")


def test_tz_aware_column_keeps_its_zone() -> None:
    t = pd.date_range("2026-06-01", periods=30, freq="1h", tz="America/New_York")
    s = one(pd.DataFrame({"t": t, "v": np.arange(30.0) % 7}), time="t")
    assert str(s.index.tz) == "America/New_York"
    assert (s.index == t).all()


def test_time_from_the_index() -> None:
    df = table().set_index("timestamp")
    s = one(df, time="timestamp")
    check_contract(s, 48)
    assert s.channels == ["cpu", "mem"]


def test_few_unreadable_timestamps_are_left_out() -> None:
    df = table(n=300)
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    df.loc[[10, 200], "timestamp"] = ["n/a", None]
    df.loc[250, "timestamp"] = "  "
    prepared = prepare_series(df, time="timestamp")
    s = prepared[0]
    assert prepared.unscored.tolist() == [10, 200, 250]
    assert 10 not in s.rows and len(s.rows) == 297
    assert prepared.notes == [
        "3 rows with a missing or unreadable timestamp in 'timestamp' (such as 'n/a') left out; "
        "they get no score"
    ]
    # The three points are filled from their neighbours.
    assert (~s.observed).sum() == 3
    assert "3 missing timestamps interpolated" in s.notes


def test_epoch_unit_follows_the_magnitude() -> None:
    t = pd.Timestamp("2026-03-02 10:00", tz="UTC")
    for unit in ("s", "ms", "us", "ns"):
        value = t.as_unit(unit).value
        out = parse_timestamps(pd.Series([value, value + 1]), "t")
        assert out[0] == t, unit


# -- order, duplicates, irregular times -------------------------------------------------


def test_unsorted_rows_are_sorted_and_mapped_back() -> None:
    df = table(n=40)
    shuffled = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    s = one(shuffled, time="timestamp")
    check_contract(s, 40)
    assert s.notes == ["timestamps were not sorted; sorted"]
    assert np.allclose(s.values[:, 0], df["cpu"].to_numpy())
    # Each row's point is its own timestamp.
    assert (s.index[s.row_points] == shuffled["timestamp"].to_numpy()).all()
    assert np.allclose(s.values[s.row_points, 0], shuffled["cpu"].to_numpy())


def test_duplicates_are_averaged() -> None:
    df = table(n=20)
    extra = df.iloc[[3, 3, 7]].assign(cpu=[0.0, 3.0, 100.0])
    both = pd.concat([df, extra], ignore_index=True)
    s = one(both, time="timestamp", value="cpu")
    check_contract(s, 23)
    assert len(s.index) == 20
    assert s.values[3, 0] == pytest.approx((df["cpu"][3] + 0.0 + 3.0) / 3)
    assert s.values[7, 0] == pytest.approx((df["cpu"][7] + 100.0) / 2)
    assert s.row_points[[3, 20, 21, 7, 22]].tolist() == [3, 3, 3, 7, 7]
    assert "3 duplicate timestamps averaged" in s.notes
    assert s.observed.all()


def test_irregular_timestamps_are_binned_on_a_round_grid() -> None:
    rng = np.random.default_rng(2)
    base = pd.date_range("2026-03-02 10:00:00", periods=60, freq="5min")
    jitter = pd.to_timedelta(rng.integers(-40, 40, 60), unit="s")
    t = base + jitter
    df = pd.DataFrame({"t": t, "v": np.arange(60.0)})
    s = one(df, time="t", value="v")
    check_contract(s, 60)
    assert s.freq == pd.Timedelta("5min")
    assert s.index[0] == base[0]  # round grid times, not the first jittered one
    assert (s.index[s.row_points] == base).all()
    assert any(n.startswith("irregular timestamps snapped to a 5 min grid") for n in s.notes)
    assert infer_frequency(pd.DatetimeIndex(t)) == pd.Timedelta("5min")


def test_given_freq_aggregates() -> None:
    s = one(table(n=48), time="timestamp", value="cpu", freq="15min")
    assert s.freq == pd.Timedelta("15min") and len(s.index) == 16
    assert s.values[0, 0] == pytest.approx(table(n=48)["cpu"][:3].mean())
    assert s.row_points.tolist() == [i // 3 for i in range(48)]
    assert s.notes == ["rows averaged per 15 min step of freq= (48 timestamps into 16 points)"]
    # The data's own step with jitter: each timestamp to the nearest grid time.
    jitter = pd.to_timedelta(np.tile([40, -40, 0], 16), unit="s")
    jittered = table(n=48).assign(timestamp=lambda d: d["timestamp"] + jitter)
    s = one(jittered, time="timestamp", value="cpu", freq="5min")
    assert s.index[0] == START and s.row_points.tolist() == list(range(48))
    assert s.notes == [
        "timestamps snapped to the 5 min grid of freq= (32 timestamps moved to the nearest "
        "grid time)"
    ]


@pytest.mark.parametrize(
    "freq", ["1h", "60min", "1 hour", pd.Timedelta("1h"), dt.timedelta(hours=1)]
)
def test_freq_spellings(freq: object) -> None:
    s = one(table(n=48, freq="20min"), time="timestamp", freq=freq)
    assert s.freq == pd.Timedelta("1h") and len(s.index) == 16


def test_daily_freq() -> None:
    df = table(n=48, freq="6h")  # from 10:00 on 2 March to 04:00 on 14 March
    s = one(df, time="timestamp", value="cpu", freq="D")
    assert s.freq == pd.Timedelta("1D") and len(s.index) == 13
    assert s.index[0] == pd.Timestamp("2026-03-02")
    assert s.values[0, 0] == pytest.approx(df["cpu"][:3].mean())


def test_infer_frequency() -> None:
    assert infer_frequency(pd.date_range("2026-01-01", periods=10, freq="1D")) == pd.Timedelta("1D")
    # A few gaps do not change the step.
    t = pd.date_range("2026-01-01", periods=100, freq="1min").delete([5, 6, 7, 50])
    assert infer_frequency(t) == pd.Timedelta("1min")
    # No round step near the median gap: the median, to the second.
    odd = pd.DatetimeIndex(pd.Timestamp("2026-01-01") + pd.to_timedelta([0, 7, 14, 22, 29], "min"))
    assert infer_frequency(odd) == pd.Timedelta("7min")
    with pytest.raises(AnomalyzerError, match="at least two distinct timestamps"):
        infer_frequency(pd.DatetimeIndex(["2026-01-01"]))


# -- gaps and missing values ------------------------------------------------------------


def seasonal_table(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Four weeks of hourly load with a daily cycle, and three days and a bit missing."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2026-02-01", periods=24 * 28, freq="1h")
    truth = 10 + 3 * np.sin(2 * np.pi * np.arange(t.size) / 24) + 0.3 * rng.normal(size=t.size)
    keep = np.ones(t.size, dtype=bool)
    keep[24 * 10 + 10 : 24 * 13 + 14] = False
    return pd.DataFrame({"timestamp": t[keep], "load": truth[keep]}), truth, keep


def test_long_gap_filled_with_the_season() -> None:
    df, truth, keep = seasonal_table()
    s = one(df, time="timestamp")
    check_contract(s, len(df))
    assert len(s.index) == truth.size
    assert (s.observed == keep).all()
    assert s.gaps == [(pd.Timestamp("2026-02-11 10:00"), pd.Timestamp("2026-02-14 13:00"))]
    assert s.notes == [
        "gap of 3 days 5 hours from 2026-02-11 09:00 to 2026-02-14 14:00 filled with the "
        "value one season earlier (1 day)"
    ]
    seasonal_error = np.abs(s.values[~keep, 0] - truth[~keep]).mean()
    linear = one(df, time="timestamp", fill="linear")
    linear_error = np.abs(linear.values[~keep, 0] - truth[~keep]).mean()
    assert seasonal_error < 0.6 < 1.5 < linear_error
    assert linear.notes[0].endswith("interpolated")
    # Observed values are never altered.
    assert np.array_equal(s.values[keep, 0], truth[keep])


def test_long_gap_at_the_start_uses_the_season_after() -> None:
    _, truth, _ = seasonal_table(seed=1)
    keep = np.ones(truth.size, dtype=bool)
    keep[5:20] = False
    t = pd.date_range("2026-02-01", periods=truth.size, freq="1h")
    s = one(pd.DataFrame({"timestamp": t[keep], "load": truth[keep]}), time="timestamp")
    assert "one season later (1 day)" in s.notes[0]
    assert np.abs(s.values[~keep, 0] - truth[~keep]).mean() < 0.6


def test_long_gap_without_season_is_interpolated() -> None:
    rng = np.random.default_rng(3)
    t = pd.date_range("2026-02-01", periods=500, freq="1h")
    x = np.cumsum(rng.normal(size=500))
    keep = np.ones(500, dtype=bool)
    keep[100:130] = False
    s = one(pd.DataFrame({"t": t[keep], "x": x[keep]}), time="t")
    assert s.notes[0].endswith("interpolated linearly")
    expected = np.linspace(x[99], x[130], 32)[1:-1]
    assert np.allclose(s.values[100:130, 0], expected)


def test_missing_values() -> None:
    df = table(n=30)
    df.loc[[4, 5], "cpu"] = np.nan
    df.loc[[0, 1], "mem"] = np.nan
    df.loc[29, "mem"] = None
    s = one(df, time="timestamp")
    check_contract(s, 30)
    assert s.values[4, 0] == pytest.approx(df["cpu"][3] + (df["cpu"][6] - df["cpu"][3]) / 3)
    assert s.values[0, 1] == s.values[1, 1] == df["mem"][2]
    assert s.values[29, 1] == df["mem"][28]
    assert (~s.observed).nonzero()[0].tolist() == [0, 1, 4, 5, 29]
    assert s.gaps == [
        (s.index[0], s.index[1]),
        (s.index[4], s.index[5]),
    ]
    assert s.notes == [
        "2 missing values in cpu interpolated",
        "first 2 values of mem missing; filled with the first observed one",
        "last 1 value of mem missing; filled with the last observed one",
    ]


def test_ffill_policy() -> None:
    df = table(n=30)
    df.loc[[10, 11, 12, 13, 14], "cpu"] = np.nan
    s = one(df, time="timestamp", value="cpu", fill="ffill")
    assert (s.values[10:15, 0] == df["cpu"][9]).all()
    assert s.notes == [
        "gap of 30 minutes from 2026-03-02 10:45 to 2026-03-02 11:15 filled with the previous value"
    ]


def test_column_without_values_in_a_series_is_left_out() -> None:
    df = table(n=30)
    df["mem"] = np.nan
    df["disk"] = 1.0 * (np.arange(30) % 4)
    s = one(df, time="timestamp", value=["cpu", "mem", "disk"])
    assert s.channels == ["cpu", "disk"]
    assert "'mem' has no value in this series; left out of it" in s.notes


# -- daylight saving --------------------------------------------------------------------


def berlin(day: str) -> pd.DatetimeIndex:
    """Hourly instants over the two days around ``day``, in Europe/Berlin."""
    utc = pd.date_range(pd.Timestamp(day) - pd.Timedelta("1D"), periods=72, freq="1h", tz="UTC")
    return utc.tz_convert("Europe/Berlin")


def test_dst_fall_back_naive_local_times_are_averaged() -> None:
    local = berlin("2026-10-25")
    wall = local.tz_localize(None)
    values = np.arange(72.0)
    s = one(pd.DataFrame({"t": wall.strftime("%Y-%m-%d %H:%M"), "v": values}), time="t", value="v")
    check_contract(s, 72)
    assert len(s.index) == 71 and s.freq == pd.Timedelta("1h")
    assert s.notes == ["1 duplicate timestamp averaged"]
    twice = np.flatnonzero(wall == pd.Timestamp("2026-10-25 02:00"))
    assert len(twice) == 2
    assert s.row_points[twice[0]] == s.row_points[twice[1]]
    assert s.values[s.row_points[twice[0]], 0] == values[twice].mean()


def test_dst_spring_forward_naive_local_times_are_interpolated() -> None:
    local = berlin("2026-03-29")
    wall = local.tz_localize(None)
    df = pd.DataFrame({"t": wall.strftime("%Y-%m-%d %H:%M"), "v": np.arange(72.0)})
    s = one(df, time="t", value="v")
    check_contract(s, 72)
    assert len(s.index) == 73
    assert s.index[~s.observed].tolist() == [pd.Timestamp("2026-03-29 02:00")]
    assert s.notes == ["1 missing timestamp interpolated"]


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_dst_tz_aware_stays_regular(day: str) -> None:
    local = berlin(day)
    s = one(pd.DataFrame({"t": local, "v": np.arange(72.0) % 9}), time="t")
    check_contract(s, 72)
    assert len(s.index) == 72 and s.observed.all() and s.notes == []
    assert str(s.index.tz) == "Europe/Berlin"
    assert (s.index == local).all()


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_dst_daily_steps_in_a_zone(day: str) -> None:
    # Local midnights are 23 or 25 hours apart across a change: still one a day.
    days = pd.date_range(pd.Timestamp(day) - pd.Timedelta("10D"), periods=20, freq="1D")
    local = days.tz_localize("Europe/Berlin")
    s = one(pd.DataFrame({"t": local, "v": np.arange(20.0) % 6}), time="t")
    assert s.freq == pd.Timedelta("1D") and len(s.index) == 20
    assert s.row_points.tolist() == list(range(20))


# -- groups -----------------------------------------------------------------------------


def test_groups_with_their_own_length_and_step() -> None:
    a = pd.DataFrame(
        {
            "ts": pd.date_range("2026-03-02", periods=40, freq="1min"),
            "host": "web",
            "cpu": np.arange(40.0) % 7,
        }
    )
    b = pd.DataFrame(
        {
            "ts": pd.date_range("2026-03-02", periods=25, freq="1h"),
            "host": "db",
            "cpu": np.arange(25.0) % 5,
        }
    )
    # Interleaved rows, the db host first.
    df = pd.concat([b, a], ignore_index=True).sample(frac=1.0, random_state=0)
    df = df.reset_index(drop=True)
    prepared = prepare_series(df, time="ts", group="host")
    assert [s.group for s in prepared] == [df["host"][0], "web" if df["host"][0] == "db" else "db"]
    by_host = {s.group: s for s in prepared}
    assert by_host["web"].freq == pd.Timedelta("1min") and len(by_host["web"].index) == 40
    assert by_host["db"].freq == pd.Timedelta("1h") and len(by_host["db"].index) == 25
    for s in prepared:
        check_contract(s)
        assert (df["host"].to_numpy()[s.rows] == s.group).all()
        assert (s.index[s.row_points] == df["ts"].to_numpy()[s.rows]).all()
        assert np.allclose(s.values[s.row_points, 0], df["cpu"].to_numpy()[s.rows])
    all_rows = np.sort(np.concatenate([s.rows for s in prepared]))
    assert all_rows.tolist() == list(range(len(df)))
    assert prepared.unscored.size == 0


def test_short_group_is_skipped_and_its_rows_unscored() -> None:
    df = table(n=30)
    df["host"] = ["a"] * 25 + ["b"] * 4 + [None]
    prepared = prepare_series(df, time="timestamp", group="host")
    assert [s.group for s in prepared] == ["a"]
    assert prepared.unscored.tolist() == list(range(25, 30))
    assert prepared.notes == [
        "1 row with no value in 'host' left out; it gets no score",
        "host=b skipped: only 4 points with a value (at least 10 are needed); its rows get "
        "no score",
    ]
    with pytest.raises(AnomalyzerError, match="No group of column 'host' could be prepared"):
        prepare_series(df.iloc[25:29], time="timestamp", group="host")


def test_group_notes_are_prefixed() -> None:
    df = table(n=30)
    df["host"] = ["a", "b"] * 15
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    prepared = prepare_series(df, time="timestamp", group="host", value="cpu")
    assert prepared.all_notes() == [
        "host=a: timestamps were not sorted; sorted",
        "host=a: 1 duplicate timestamp averaged",
    ]


def test_many_groups() -> None:
    n_groups, n = 200, 50
    t = np.tile(pd.date_range("2026-01-01", periods=n, freq="1min").to_numpy(), n_groups)
    rng = np.random.default_rng(4)
    df = pd.DataFrame(
        {"t": t, "g": np.repeat(np.arange(n_groups), n), "x": rng.normal(size=n * n_groups)}
    )
    prepared = prepare_series(df, time="t", group="g")
    assert [s.group for s in prepared] == list(range(n_groups))
    assert all(s.values.shape == (n, 1) for s in prepared)
    assert np.allclose(np.concatenate([s.values[:, 0] for s in prepared]), df["x"])


# -- value columns ----------------------------------------------------------------------


def test_default_value_columns_skip_identifiers_and_constants() -> None:
    df = table(n=40)
    df["row"] = np.arange(40)
    df["order_id"] = np.random.default_rng(5).permutation(40)
    df["zone"] = 3
    df["ok"] = True
    df["name"] = "x"
    df["requests_total"] = np.cumsum(np.random.default_rng(6).integers(1, 9, 40))
    prepared = prepare_series(df, time="timestamp")
    assert prepared[0].channels == ["cpu", "mem", "requests_total"]
    assert prepared.notes == [
        "column 'row' not used as a value: it is an identifier (whole numbers, unique per "
        "row); name it in value= to use it",
        "column 'order_id' not used as a value: it is an identifier (whole numbers, unique "
        "per row); name it in value= to use it",
        "column 'zone' not used as a value: it is constant (always 3); name it in value= to use it",
    ]
    assert prepare_series(df, time="timestamp", exclude=["mem"])[0].channels == [
        "cpu",
        "requests_total",
    ]
    s = one(df, time="timestamp", value=["zone", "ok"])
    assert s.channels == ["zone", "ok"] and (s.values[:, 1] == 1.0).all()


# -- the caller's frame and the errors --------------------------------------------------


def test_callers_frame_is_not_modified() -> None:
    df = table(n=60)
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    df.loc[[3, 4, 5, 6, 7], "cpu"] = np.nan
    df["host"] = ["a", "b", "c"] * 20
    df = df.sample(frac=1.0, random_state=2)
    before = df.copy(deep=True)
    cpu = df["cpu"].to_numpy()
    prepare_series(df, time="timestamp", group="host", fill="auto")
    prepare_series(df, time="timestamp", freq="10min", fill="ffill")
    pd.testing.assert_frame_equal(df, before)
    assert np.isnan(cpu).sum() == 5


def test_errors() -> None:
    df = table(n=30)
    cases = [
        (
            {"time": "time"},
            "Column 'time' given as time= is not in the table; use one of: timestamp, cpu, mem.",
        ),
        ({"time": "timestamp", "group": "host"}, "Column 'host' given as group= is not in"),
        ({"time": "timestamp", "fill": "spline"}, "Unknown fill='spline'; use one of: auto"),
        ({"time": "timestamp", "freq": "1MS"}, "freq='1MS' is not a fixed step"),
        ({"time": "timestamp", "freq": "-5min"}, "freq='-5min' must be a positive step"),
        (
            {"time": "timestamp", "value": "disk"},
            "Column 'disk' given as value= is not in the table; numeric columns: cpu, mem.",
        ),
        (
            {"time": "timestamp", "value": "timestamp"},
            "Column 'timestamp' is both value= and time=; pick another value column",
        ),
        ({"time": "timestamp", "value": []}, "value= is empty"),
    ]
    for kwargs, message in cases:
        with pytest.raises(AnomalyzerError) as info:
            prepare_series(df, **kwargs)
        assert str(info.value).startswith(message), str(info.value)

    with pytest.raises(AnomalyzerError, match="Expected a pandas DataFrame"):
        prepare_series(df.to_numpy(), time="timestamp")  # type: ignore[arg-type]
    with pytest.raises(AnomalyzerError, match="The table has no rows"):
        prepare_series(df.iloc[:0], time="timestamp")
    with pytest.raises(
        AnomalyzerError,
        match=r"Column 'label' given as value= is not numeric \(it holds str values\); "
        "use a numeric column: cpu, mem.",
    ):
        prepare_series(df.assign(label="x"), time="timestamp", value="label")
    with pytest.raises(AnomalyzerError, match=r"No column to score besides 'timestamp' \("):
        prepare_series(df[["timestamp"]].assign(kind="a"), time="timestamp")
    with pytest.raises(AnomalyzerError, match="'c' is constant"):
        prepare_series(df[["timestamp"]].assign(c=1.0), time="timestamp")


def test_timestamp_errors() -> None:
    n = 30
    df = pd.DataFrame({"t": ["soon"] * n, "v": np.arange(n) % 4.0})
    with pytest.raises(
        AnomalyzerError,
        match="Column 't' does not hold timestamps pandas can read \\(such as 'soon'\\)",
    ):
        prepare_series(df, time="t")
    dates = list(pd.date_range("2026-01-01", periods=n, freq="1h").strftime("%Y-%m-%d %H:%M"))
    dates[3] = "later"
    with pytest.raises(
        AnomalyzerError,
        match=r"Column 't' has 1 value of 30 \(3.3%\) that is missing or not a timestamp, "
        "such as 'later'",
    ):
        prepare_series(df.assign(t=dates), time="t")
    with pytest.raises(AnomalyzerError, match="Column 't' has no values"):
        prepare_series(df.assign(t=None), time="t")
    with pytest.raises(AnomalyzerError, match="Column 't' holds true/false values"):
        prepare_series(df.assign(t=True), time="t")
    with pytest.raises(AnomalyzerError, match="Column 't': only 5 points with a value"):
        prepare_series(df.assign(t=dates[:1] * 26 + dates[26:]), time="t")
    few = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=6, freq="1D"), "v": range(6)})
    with pytest.raises(AnomalyzerError, match=r"Column 't': only 6 points with a value \(at least"):
        prepare_series(few.assign(v=[1.0, 2, 1, 3, 1, 2]), time="t")
    far = pd.DataFrame(
        {
            "t": pd.date_range("2500-01-01", periods=12, freq="1D").as_unit("s"),
            "v": np.arange(12) % 5,
        }
    )
    with pytest.raises(AnomalyzerError, match="Column 't' has timestamps outside the years 1678"):
        prepare_series(far, time="t")
    stray = pd.DataFrame(
        {"t": [*pd.date_range("2026-01-01", periods=20, freq="1s"), dt.datetime(2030, 1, 1)]}
    ).assign(v=np.arange(21) % 3.0)
    with pytest.raises(AnomalyzerError, match="check for stray timestamps or give a coarser step"):
        prepare_series(stray, time="t")
