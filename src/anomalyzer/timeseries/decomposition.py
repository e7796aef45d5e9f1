"""Seasonal-trend decomposition with a robust test on what it leaves.

Offline, the series is split by STL (Cleveland et al., 1990; statsmodels) into
trend, one seasonal part per period (MSTL when there are several) and a
residual; each point's score is its residual in robust standard deviations.
With ``contamination="auto"`` the flags come from a generalised ESD test on
those robust residuals, as Twitter's seasonal hybrid ESD does (Hochenbaum,
Vallis & Kejariwal, 2017). Causally, the seasonal profile learned at fit is
kept and a robust exponentially weighted level and scale follow the series.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from scipy import stats

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts, robust_scale
from anomalyzer.timeseries.profile import (
    check_periods,
    fit_profiles,
    fitted_periods,
    scale_floor,
    seasonal_values,
)

# Share of points the ESD test may call anomalous at most, and its level.
_ESD_MAX_SHARE = 0.05
_ESD_ALPHA = 0.05
# Residuals beyond this many robust SD move the causal level and scale only as
# far as this bound (a Huber-type update), so a spike does not drag them.
_CLIP = 3.0
# The weight of each new absolute residual in the causal scale estimate.
_SCALE_WEIGHT = 0.01
# Mean absolute deviation to standard deviation for a normal distribution.
_MEAN_ABS_TO_SD = math.sqrt(math.pi / 2.0)


class SeasonalDecomposition(SeriesDetector):
    """Residuals of an STL decomposition, scored and tested robustly.

    ``period`` is an int, a list of ints (several seasonalities) or None to
    detect the periods from the data at fit. ``level_window`` sets how many
    points the causal level averages over (None: a quarter of the shortest
    period, at least 10, or 20 without a period).

    >>> import numpy as np
    >>> t = np.arange(24 * 14)
    >>> x = 10 + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.3, t.size)
    >>> x[200] += 3.0   # within the daily range, far from its hour's usual value
    >>> det = SeasonalDecomposition(period=24).fit(x)
    >>> int(np.argmax(det.decision_scores_))
    200
    """

    def __init__(
        self,
        period: int | list[int] | None = None,
        level_window: int | None = None,
        causal: bool = False,
        contamination: float | str = "auto",
    ) -> None:
        self.period = period
        self.level_window = level_window
        self.causal = causal
        self.contamination = contamination

    def _validate_params(self) -> None:
        check_periods(self.period)
        if self.level_window is not None and (
            not isinstance(self.level_window, int) or self.level_window < 1
        ):
            raise AnomalyzerError(
                f"level_window must be a positive integer or None, got {self.level_window!r}."
            )

    def _fit(self, X: np.ndarray) -> None:
        self.periods_ = _usable_periods(X, self.period)
        self.floor_ = scale_floor(X)
        if self.causal:
            self.profiles_ = fit_profiles(X, self.periods_)
            resid = X - seasonal_values(self.profiles_, 0, X.shape[0]) if self.periods_ else X
            resid = np.diff(resid, axis=0) / np.sqrt(2.0) if resid.shape[0] > 1 else resid
        else:
            resid = self._residual(X)
            # fit scores the same series next: one decomposition serves both.
            self._fit_resid = (X.shape, hash(X.tobytes()), resid)
        self.resid_scale_ = robust_scale(resid, floor=0.0)
        self.resid_scale_ = np.maximum(self.resid_scale_, self.floor_)

    def _threshold(self, scores: np.ndarray) -> float:
        if self.contamination != "auto":
            return super()._threshold(scores)
        return esd_threshold(scores)

    # -- offline --------------------------------------------------------------

    def _batch(self, X: np.ndarray) -> SeriesParts:
        resid = self._residual(X)
        centre = np.median(resid, axis=0)
        z = (resid - centre) / self.resid_scale_
        expected = X - resid + centre
        return SeriesParts(z, expected, np.broadcast_to(self.resid_scale_, X.shape).copy())

    def _residual(self, X: np.ndarray) -> np.ndarray:
        kept = self.__dict__.pop("_fit_resid", None)
        if kept is not None and kept[:2] == (X.shape, hash(X.tobytes())):
            return kept[2]
        return np.column_stack([_stl_residual(X[:, j], self.periods_) for j in range(X.shape[1])])

    # -- causal ---------------------------------------------------------------

    def _new_state(self) -> dict[str, Any]:
        c = self.n_features_in_
        return {
            "level": np.zeros(c),
            "scale": self.resid_scale_ / _MEAN_ABS_TO_SD,  # mean absolute residual
            "counts": np.zeros(1, dtype=np.int64),  # points seen
        }

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        start = int(state["counts"][0])
        season = seasonal_values(self.profiles_, start, X.shape[0])
        alpha = 2.0 / (self._level_window() + 1.0)
        z, expected, scale = _follow(
            X, season, state["level"], state["scale"], state["counts"], self.floor_, alpha
        )
        return SeriesParts(z, expected, scale)

    def _level_window(self) -> int:
        if self.level_window is not None:
            return self.level_window
        return max(10, min(self.periods_) // 4) if self.periods_ else 20


def esd_threshold(scores: np.ndarray, alpha: float = _ESD_ALPHA) -> float:
    """Threshold from a generalised ESD test (Rosner, 1983) on robust z scores.

    The test statistics are the largest ``|z|`` in turn; the number of
    anomalies is the largest ``i`` whose statistic exceeds Rosner's critical
    value. The median and MAD are not recomputed after each removal: with at
    most 5% removed they barely move, and that keeps the test one sort long.

    >>> z = np.concatenate([np.random.default_rng(0).normal(size=1000), [8.0, 9.0]])
    >>> int((np.abs(z) > esd_threshold(np.abs(z))).sum())
    2
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.size
    order = np.sort(scores)[::-1]
    k_max = max(1, int(_ESD_MAX_SHARE * n))
    i = np.arange(1, k_max + 1)
    p = 1.0 - alpha / (2.0 * (n - i + 1))
    t = stats.t.ppf(p, np.maximum(n - i - 1, 1))
    crit = (n - i) * t / np.sqrt((n - i - 1 + t**2) * (n - i + 1))
    above = np.nonzero(order[:k_max] > crit)[0]
    if above.size == 0:
        return float(order[0])
    k = int(above[-1]) + 1
    return float(order[k]) if k < n else float(order[-1])


def _usable_periods(X: np.ndarray, period: int | list[int] | None) -> list[int]:
    # STL needs more than two full cycles to tell a period from the trend.
    return [p for p in fitted_periods(X, period) if 2 * p < X.shape[0]]


def _stl_residual(x: np.ndarray, periods: list[int]) -> np.ndarray:
    from statsmodels.tsa.seasonal import MSTL, STL

    if not periods:
        # No season: the trend is a robust local level.
        import pandas as pd

        trend = pd.Series(x).rolling(21, center=True, min_periods=1).median().to_numpy()
        return x - trend
    seasonal = _seasonal_span(x.size, min(periods))
    if len(periods) == 1:
        kwargs = _jumps(periods[0], seasonal)
        return np.asarray(STL(x, period=periods[0], robust=True, **kwargs).fit().resid)
    stl_kwargs = {"robust": True, **_jumps(min(periods), seasonal)}
    return np.asarray(
        MSTL(x, periods=periods, windows=[seasonal] * len(periods), stl_kwargs=stl_kwargs)
        .fit()
        .resid
    )


def _seasonal_span(n: int, period: int) -> int:
    # The seasonal smoother spans about every cycle (Twitter's S-H-ESD uses a
    # fixed, "periodic" season), between 7 and 35 cycles: a short span lets the
    # season soak up noise, and the robust residual scale then comes out small.
    cycles = min(max(n // period, 7), 35)
    return cycles + 1 - cycles % 2


def _jumps(period: int, seasonal: int) -> dict[str, int]:
    # Cleveland's speed-up, and R's stl default: the loess smoothers are
    # evaluated every tenth of their span and interpolated in between.
    trend = math.ceil(1.5 * period / (1.0 - 1.5 / seasonal))
    trend += 1 - trend % 2
    low_pass = period + 1 - period % 2
    return {
        "seasonal": seasonal,
        "seasonal_deg": 0,
        "seasonal_jump": max(1, math.ceil(seasonal / 10)),
        "trend_jump": max(1, math.ceil(trend / 10)),
        "low_pass_jump": max(1, math.ceil(low_pass / 10)),
    }


@numba.njit(cache=True)
def _follow(X, season, level, scale, counts, floor, alpha):  # pragma: no cover - compiled
    n, c = X.shape
    z = np.zeros((n, c))
    expected = np.full((n, c), np.nan)
    sd = np.full((n, c), np.nan)
    for i in range(n):
        first = counts[0] == 0
        for j in range(c):
            deseason = X[i, j] - season[i, j]
            if first:
                level[j] = deseason
                continue
            s = max(scale[j] * _MEAN_ABS_TO_SD, floor[j])
            r = deseason - level[j]
            z[i, j] = r / s
            expected[i, j] = level[j] + season[i, j]
            sd[i, j] = s
            clipped = min(max(r, -_CLIP * s), _CLIP * s)
            level[j] += alpha * clipped
            scale[j] += _SCALE_WEIGHT * (abs(clipped) - scale[j])
        counts[0] += 1
    return z, expected, sd
