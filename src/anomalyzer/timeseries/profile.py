"""Seasonal profiles and scale floors: what several series detectors learn at fit.

A seasonal profile is the typical offset of each phase of a period from the
local level (the value at 14:00 on a weekday compared with that day's level).
Detectors that look for changes (level, variance) subtract it so a daily rise
is not taken for a shift, and causal detectors use it as their seasonal
expectation. Several periods (daily and weekly) are fitted in turn on what the
others leave, as multiple seasonal decomposition does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError

# Fitting rounds over the periods; two are enough for the profiles to settle
# (each round removes what the other periods left in the residual).
_ROUNDS = 2


def check_periods(period: object) -> list[int] | None:
    """``period`` as a list of ints >= 2 (``0`` or ``[]``: none), None to detect; else an error.

    >>> check_periods(24), check_periods([24, 168]), check_periods(0), check_periods(None)
    ([24], [24, 168], [], None)
    >>> check_periods(-3)
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: period must be an integer >= 2, a list of them, 0 for none, or None to detect them, got -3.
    """
    if period is None:
        return None
    values = np.atleast_1d(np.asarray(period, dtype=object)).tolist()
    if values == [0]:
        return []
    if any(isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 2 for p in values):
        raise AnomalyzerError(
            "period must be an integer >= 2, a list of them, 0 for none, or None to "
            f"detect them, got {period!r}."
        )
    return [int(p) for p in values]


def fitted_periods(X: np.ndarray, period: int | list[int] | None) -> list[int]:
    """The periods a detector uses: given, or detected when None; two cycles needed.

    >>> fitted_periods(np.zeros((100, 1)), [24, 168])
    [24]
    """
    periods = check_periods(period)
    if periods is None:
        from anomalyzer.timeseries.seasonality import detect_periods

        periods = detect_periods(X[:, 0])
    return sorted(p for p in periods if 2 * p <= X.shape[0])


def fit_profiles(values: np.ndarray, periods: list[int]) -> list[np.ndarray]:
    """Per-phase median offsets from a centred rolling median, one array per period.

    Each array has shape ``(period, n_channels)`` and median zero over a cycle.

    >>> t = np.arange(96.0)
    >>> x = (10 + np.sin(2 * np.pi * t / 24)).reshape(-1, 1)
    >>> prof = fit_profiles(x, [24])[0]
    >>> prof.shape, round(float(prof[6, 0]), 2)
    ((24, 1), 1.0)
    """
    values = np.asarray(values, dtype=np.float64)
    if not periods:
        return []
    trend = _rolling_median(values, max(periods))
    rest = values - trend
    profiles = [np.zeros((p, values.shape[1])) for p in periods]
    phases = [np.arange(values.shape[0]) % p for p in periods]
    for _ in range(_ROUNDS):
        for k, p in enumerate(periods):
            others = sum(
                (profiles[j][phases[j]] for j in range(len(periods)) if j != k),
                np.zeros_like(values),
            )
            own = rest - others
            prof = np.vstack([np.median(own[phases[k] == ph], axis=0) for ph in range(p)])
            profiles[k] = prof - np.median(prof, axis=0)
    return profiles


def seasonal_values(profiles: list[np.ndarray], start: int, n: int) -> np.ndarray:
    """The summed seasonal offsets of ``n`` points starting at position ``start``.

    >>> seasonal_values([np.array([[1.0], [-1.0]])], 1, 3).ravel()
    array([-1.,  1., -1.])
    """
    if not profiles:
        return np.zeros((n, 1))
    out = np.zeros((n, profiles[0].shape[1]))
    idx = np.arange(start, start + n)
    for prof in profiles:
        out += prof[idx % prof.shape[0]]
    return out


def scale_floor(values: np.ndarray) -> np.ndarray:
    """The smallest scale a detector may divide by, per channel.

    A tenth of the typical step between neighbours, or a hundredth of the
    spread of the values: a flat stretch then scores a change as large but
    finite, instead of dividing by zero.

    >>> scale_floor(np.array([[1.0], [1.0], [1.0], [2.0]])).round(4)
    array([0.0002])
    """
    values = np.asarray(values, dtype=np.float64)
    steps = np.abs(np.diff(values, axis=0)) if values.shape[0] > 1 else np.zeros_like(values)
    step_scale = 1.4826 * np.median(steps, axis=0) / np.sqrt(2.0)
    med = np.median(values, axis=0)
    spread = 1.4826 * np.median(np.abs(values - med), axis=0)
    tiny = 1e-4 * (1.0 + np.abs(med))
    return np.maximum.reduce([0.1 * step_scale, 0.01 * spread, tiny])


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    frame = pd.DataFrame(values)
    out = frame.rolling(window, center=True, min_periods=1).median()
    return out.to_numpy()
