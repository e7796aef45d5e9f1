"""Level shifts and variance changes: two adjacent windows compared robustly.

Both detectors first take away the seasonal profile learned at fit (so a daily
rise is not a shift), then compare a window after each point with the window
before it: medians for the level, median absolute steps for the variance.
Offline, the windows sit on either side of the point and the score peaks at
the change; causally, both lie in the past (the newest ``window // 3`` points
against the ``window`` before them), so a change is seen a few points late.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts
from anomalyzer.timeseries.profile import (
    check_periods,
    fit_profiles,
    fitted_periods,
    scale_floor,
    seasonal_values,
)

_MAD_TO_SD = 1.4826
# Asymptotic variance of log(MAD) for normal data is about 1.35 / n.
_LOG_MAD_VARIANCE = 1.35
_MIN_POINTS = 3
_CLIP = 3.0


class _TwoWindows(SeriesDetector):
    """Shared fitting and streaming of the two-window detectors."""

    _kind = 0  # 0: level, 1: variance

    def __init__(
        self,
        window: int = 30,
        period: int | list[int] | None = None,
        causal: bool = False,
        contamination: float | str = "auto",
    ) -> None:
        self.window = window
        self.period = period
        self.causal = causal
        self.contamination = contamination

    def _validate_params(self) -> None:
        if not isinstance(self.window, int) or self.window < 2 * _MIN_POINTS:
            raise AnomalyzerError(
                f"window must be an integer >= {2 * _MIN_POINTS}, got {self.window!r}."
            )
        check_periods(self.period)

    def _fit(self, X: np.ndarray) -> None:
        self.periods_ = fitted_periods(X, self.period)
        self.profiles_ = fit_profiles(X, self.periods_)
        rest = X - seasonal_values(self.profiles_, 0, X.shape[0])
        self.floor_ = scale_floor(rest)

    def _recent(self) -> int:
        return max(_MIN_POINTS, self.window // 3)

    def _history(self) -> int:
        return self.window + self._recent() + 1

    def _new_state(self) -> dict[str, Any]:
        return {
            "history": np.zeros((self._history(), self.n_features_in_)),
            "counts": np.zeros(1, dtype=np.int64),  # points seen
        }

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        seen = int(state["counts"][0])
        season = seasonal_values(self.profiles_, seen, X.shape[0])
        size = self._history()
        held = min(seen, size)
        rest = np.concatenate((state["history"][size - held :], X - season))
        z, expected, scale = _compare(
            rest, self.window, self._recent(), self.floor_, self._kind, True, held
        )
        # The newest points go to the end of the fixed-size history.
        keep = min(rest.shape[0], size)
        history = state["history"]
        history[: size - keep] = history[keep:].copy() if keep < size else history[:0]
        history[size - keep :] = rest[rest.shape[0] - keep :]
        state["counts"][0] = seen + X.shape[0]
        return SeriesParts(z, expected + season, scale)

    def _batch(self, X: np.ndarray) -> SeriesParts:
        season = seasonal_values(self.profiles_, 0, X.shape[0])
        z, expected, scale = _compare(
            X - season, self.window, self.window, self.floor_, self._kind, False, 0
        )
        return SeriesParts(z, expected + season, scale)


class LevelShift(_TwoWindows):
    """Sudden changes of level, in robust SDs of the data around them.

    The score is the difference of the (winsorised) means of the windows
    after and before a point, divided by the points' robust spread within the windows.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=400)
    >>> x[200:] += 5.0
    >>> int(np.argmax(LevelShift(period=[]).fit(x).decision_scores_))
    200
    """

    _kind = 0


class VarianceChange(_TwoWindows):
    """Changes of volatility: the log ratio of the step sizes after and before.

    Steps (first differences) are used so a level shift is not read as a
    change of spread; a drop (a sensor stuck on one value) scores as high as
    a rise. The ratio is in standard errors of a log-MAD, so it reads as z.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=400)
    >>> x[200:] *= 5.0
    >>> abs(int(np.argmax(VarianceChange(period=[]).fit(x).decision_scores_)) - 200) <= 3
    True
    """

    _kind = 1
    _joint = False

    def _batch(self, X: np.ndarray) -> SeriesParts:
        parts = super()._batch(X)
        return SeriesParts(np.abs(parts.z), parts.expected, parts.scale)

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        parts = super()._step(state, X)
        return SeriesParts(np.abs(parts.z), parts.expected, parts.scale)


@numba.njit(cache=True)
def _mad(values, floor):  # pragma: no cover - compiled
    med = np.median(values)
    return max(_MAD_TO_SD * np.median(np.abs(values - med)), floor), med


@numba.njit(cache=True)
def _winsorised_mean(values, med, s):  # pragma: no cover - compiled
    # Values clipped at three spreads from the median: a spike moves the mean
    # little, while the mean (unlike the median) still grows steadily as more
    # of the window lies past a shift, so the score peaks at the shift itself.
    return np.mean(np.minimum(np.maximum(values, med - _CLIP * s), med + _CLIP * s))


@numba.njit(cache=True)
def _compare(y, before, after, floor, kind, causal, start):  # pragma: no cover - compiled
    """Scores of points ``start..`` of ``y``: level (kind 0) or variance (kind 1)."""
    n, c = y.shape
    out = n - start
    z = np.zeros((out, c))
    expected = np.full((out, c), np.nan)
    scale = np.full((out, c), np.nan)
    for j in range(c):
        col = y[:, j]
        steps = np.zeros(n)
        steps[1:] = np.abs(col[1:] - col[:-1])
        for t in range(start, n):
            if causal:
                a_lo, a_hi = t - after + 1, t + 1
                b_lo, b_hi = a_lo - before, a_lo
            else:
                a_lo, a_hi = t, min(n, t + after)
                b_lo, b_hi = max(0, t - before), t
            # Offline, the windows at either end of the series are cut short;
            # a handful of points gives a spread too small to divide by.
            least = _MIN_POINTS if causal else max(_MIN_POINTS, min(before, after) // 2)
            if b_lo < 0 or a_hi - a_lo < least or b_hi - b_lo < least:
                continue
            i = t - start
            if kind == 0:
                s_b, m_b = _mad(col[b_lo:b_hi], floor[j])
                s_a, m_a = _mad(col[a_lo:a_hi], floor[j])
                # Offline, the smaller of the two windows' spreads (a shift
                # out of a quiet stretch counts in the quiet one's units);
                # causally, the one before, as the newest points may hold
                # the change itself.
                s = min(s_b, s_a) if not causal else s_b
                s = max(s, floor[j])
                mean_b = _winsorised_mean(col[b_lo:b_hi], m_b, s_b)
                mean_a = _winsorised_mean(col[a_lo:a_hi], m_a, s_a)
                z[i, j] = (mean_a - mean_b) / s
                expected[i, j] = mean_b
                scale[i, j] = s
            else:
                lo_b = max(b_lo, 1)
                if b_hi - lo_b < _MIN_POINTS:
                    continue
                s_b = max(np.median(steps[lo_b:b_hi]), floor[j])
                s_a = max(np.median(steps[a_lo:a_hi]), floor[j])
                se = math.sqrt(_LOG_MAD_VARIANCE * (1.0 / (b_hi - lo_b) + 1.0 / (a_hi - a_lo)))
                z[i, j] = math.log(s_a / s_b) / se
    return z, expected, scale
