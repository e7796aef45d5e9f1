"""Seasonal periods found in the data: the real ones, several at once, and none in noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.seasonality import (
    candidate_periods,
    detect_periods,
    seasonality_strength,
)

HOUR = pd.Timedelta("1h")
FIVE_MIN = pd.Timedelta("5min")


def daily_weekly(n: int, per_day: int, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """A daily sine, a weekend dip and noise: what server metrics look like."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    weekend = (t // per_day) % 7 >= 5
    return np.sin(2 * np.pi * t / per_day) - 1.0 * weekend + noise * rng.normal(size=n)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("freq", [HOUR, None])
def test_hourly_daily_and_weekly(seed: int, freq: pd.Timedelta | None) -> None:
    x = daily_weekly(24 * 28, 24, seed)
    periods = detect_periods(x, freq=freq)
    assert sorted(periods) == [24, 168]
    # The week holds the day, so it explains more: strongest first.
    assert periods[0] == 168


@pytest.mark.parametrize("weeks", [2, 3])
def test_five_minute_daily_and_weekly(weeks: int) -> None:
    x = daily_weekly(288 * 7 * weeks, 288, seed=weeks)
    assert sorted(detect_periods(x, freq=FIVE_MIN)) == [288, 2016]


def test_weekly_needs_two_full_weeks() -> None:
    x = daily_weekly(24 * 13, 24)
    assert detect_periods(x, freq=HOUR) == [24]


def test_near_natural_period_is_snapped() -> None:
    # A cycle of 287.5 points (a clock drifting by half a step a day) is still a day.
    t = np.arange(288 * 10)
    x = np.sin(2 * np.pi * t / 287.5) + 0.2 * np.random.default_rng(0).normal(size=t.size)
    assert detect_periods(x, freq=FIVE_MIN) == [288]
    assert detect_periods(x)[0] in (287, 288)


def test_daily_only_is_not_reported_weekly() -> None:
    t = np.arange(24 * 28)
    x = np.sin(2 * np.pi * t / 24) + 0.3 * np.random.default_rng(3).normal(size=t.size)
    assert detect_periods(x, freq=HOUR) == [24]


def test_harmonic_is_not_a_period() -> None:
    # Two humps a day (unequal): 12 hours is a harmonic of the day, not a season of its own.
    t = np.arange(24 * 28)
    x = np.sin(2 * np.pi * t / 24) + 0.8 * np.sin(4 * np.pi * t / 24 + 1.0)
    x = x + 0.3 * np.random.default_rng(4).normal(size=t.size)
    assert detect_periods(x, freq=HOUR) == [24]
    assert detect_periods(x) == [24]


def test_spike_every_day_is_found_at_its_own_period() -> None:
    t = np.arange(24 * 28)
    x = np.where(t % 24 == 2, 5.0, 0.0) + 0.5 * np.random.default_rng(5).normal(size=t.size)
    assert detect_periods(x) == [24]


def test_season_on_a_wandering_level() -> None:
    rng = np.random.default_rng(6)
    t = np.arange(24 * 28)
    x = np.cumsum(0.1 * rng.normal(size=t.size)) + np.sin(2 * np.pi * t / 24)
    x = x + 0.3 * rng.normal(size=t.size)
    assert detect_periods(x, freq=HOUR) == [24]


def test_weekly_on_daily_data() -> None:
    rng = np.random.default_rng(7)
    x = np.where(np.arange(365) % 7 >= 5, -1.0, 0.0) + 0.5 * rng.normal(size=365)
    assert detect_periods(x, freq=pd.Timedelta("1D")) == [7]


def test_unknown_step_plain_period() -> None:
    t = np.arange(2000)
    x = np.sin(2 * np.pi * t / 50) + 0.01 * t + 0.5 * np.random.default_rng(8).normal(size=t.size)
    assert detect_periods(x) == [50]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [200, 1000, 4032])
@pytest.mark.parametrize("kind", ["noise", "random walk", "trend", "noisy trend", "ar"])
def test_no_false_periods(kind: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n)
    if kind == "noise":
        x = e
    elif kind == "random walk":
        x = np.cumsum(e)
    elif kind == "trend":
        x = 3.0 + 0.5 * np.arange(n)
    elif kind == "noisy trend":
        x = 0.01 * np.arange(n) + e
    else:  # an AR(1) close to a random walk: slow wiggles that look like cycles
        x = np.zeros(n)
        for i in range(1, n):
            x[i] = 0.99 * x[i - 1] + e[i]
    for freq in (None, HOUR, FIVE_MIN):
        assert detect_periods(x, freq=freq) == [], (kind, n, seed, freq)


def test_degenerate_series() -> None:
    assert detect_periods(np.full(500, 3.0)) == []
    assert detect_periods(np.zeros(0)) == []
    assert detect_periods(np.ones(5)) == []
    # Shorter than two periods: a day needs two days.
    t = np.arange(40)
    assert detect_periods(np.sin(2 * np.pi * t / 24), freq=HOUR) == []
    assert detect_periods(daily_weekly(24 * 28, 24), max_periods=0) == []


def test_limits_are_respected() -> None:
    x = daily_weekly(24 * 28, 24)
    assert detect_periods(x, freq=HOUR, max_periods=1) == [168]
    assert detect_periods(x, freq=HOUR, max_period=100) == [24]
    assert detect_periods(x, freq=HOUR, min_period=30) == [168]


def test_given_candidates_only() -> None:
    x = daily_weekly(24 * 28, 24)
    assert sorted(detect_periods(x, candidates=[24, 168])) == [24, 168]
    assert detect_periods(x, candidates=[24, 100]) == [24]
    assert detect_periods(np.random.default_rng(11).normal(size=600), candidates=[24]) == []


def test_several_channels_are_merged() -> None:
    rng = np.random.default_rng(9)
    t = np.arange(24 * 28)
    daily = np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=t.size)
    noise = rng.normal(size=t.size)
    assert detect_periods(np.column_stack([daily, noise]), freq=HOUR) == [24]
    assert sorted(
        detect_periods(np.column_stack([daily, daily_weekly(t.size, 24)]), freq=HOUR)
    ) == [24, 168]


def test_nan_is_an_error() -> None:
    x = daily_weekly(500, 24)
    x[10] = np.nan
    with pytest.raises(AnomalyzerError, match="NaN or infinite values; fill the gaps first"):
        detect_periods(x)
    with pytest.raises(AnomalyzerError, match="1-D series or a 2-D"):
        detect_periods(np.zeros((2, 2, 2)))


def test_candidate_periods() -> None:
    assert candidate_periods(HOUR) == [24, 168, 8760]
    assert candidate_periods(FIVE_MIN) == [12, 288, 2016, 105120]
    assert candidate_periods("1min") == [60, 1440, 10080, 525600]
    assert candidate_periods(pd.Timedelta("1D")) == [7, 365]
    assert candidate_periods("13min") == []
    assert candidate_periods(pd.Timedelta("7D")) == []


def test_strength() -> None:
    t = np.arange(24 * 20)
    assert seasonality_strength(np.sin(2 * np.pi * t / 24), 24) > 0.99
    noise = np.random.default_rng(10).normal(size=t.size)
    assert seasonality_strength(noise, 24) < 0.25
    long_noise = np.random.default_rng(11).normal(size=24 * 80)
    assert seasonality_strength(long_noise, 24) < 0.1
    mixed = np.sin(2 * np.pi * t / 24) + 0.5 * noise
    assert 0.5 < seasonality_strength(mixed, 24) < 0.95
    assert seasonality_strength(np.full(100, 2.0), 24) == 0.0
    assert seasonality_strength(np.sin(t[:30]), 24) == 0.0
    with pytest.raises(AnomalyzerError, match="period must be at least 2"):
        seasonality_strength(noise, 1)


def test_long_series_periods_and_strength() -> None:
    # Speed is measured by benchmarks/nab.py and ts_groups.py, not asserted here.
    x = daily_weekly(20_000, 288)
    assert sorted(detect_periods(x, freq=FIVE_MIN)) == [288, 2016]
    assert seasonality_strength(x, 288) > 0.5
