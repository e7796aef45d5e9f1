"""Rolling robust z-score: each point against the median and MAD of its neighbours."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from anomalyzer.timeseries.base import SeriesDetector, SeriesParts
from anomalyzer.timeseries.profile import (
    check_periods,
    fit_profiles,
    fitted_periods,
    scale_floor,
    seasonal_values,
)
from anomalyzer.validation import check_int

_MAD_TO_SD = 1.4826


class RollingZ(SeriesDetector):
    """Distance of each point from the rolling median, in rolling robust SDs.

    Offline, the window is centred on the point (the point itself left out);
    causally it holds the ``window`` points before it. A seasonal profile
    (``period``: an int, a list, None to detect, ``[]`` for none) is taken
    away first, so a daily peak is not compared with the night before it. The median and the
    median absolute deviation ignore the outliers they are meant to expose, so
    a spike does not hide itself or its neighbours. Finds spikes and dips; a
    level shift shows only at its start, until the window fills with the new
    level.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=500)
    >>> x[250] = 9.0
    >>> int(np.argmax(RollingZ().fit(x).decision_scores_))
    250
    """

    def __init__(
        self,
        window: int = 100,
        period: int | list[int] | None = None,
        causal: bool = False,
        contamination: float | str = "auto",
    ) -> None:
        self.window = window
        self.period = period
        self.causal = causal
        self.contamination = contamination

    def _validate_params(self) -> None:
        check_int("window", self.window, minimum=3)
        check_periods(self.period)

    def _fit(self, X: np.ndarray) -> None:
        self.periods_ = fitted_periods(X, self.period)
        self.profiles_ = fit_profiles(X, self.periods_)
        self.floor_ = scale_floor(X - seasonal_values(self.profiles_, 0, X.shape[0]))

    def _new_state(self) -> dict[str, Any]:
        return {
            "buffer": np.zeros((self.window, self.n_features_in_)),
            "counts": np.zeros(2, dtype=np.int64),  # points held, next write position
            "seen": np.zeros(1, dtype=np.int64),
        }

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        season = seasonal_values(self.profiles_, int(state["seen"][0]), X.shape[0])
        state["seen"][0] += X.shape[0]
        z, expected, scale = _trailing(X - season, state["buffer"], state["counts"], self.floor_)
        return SeriesParts(z, expected + season, scale)

    def _batch(self, X: np.ndarray) -> SeriesParts:
        season = seasonal_values(self.profiles_, 0, X.shape[0])
        z, expected, scale = _centred(X - season, self.window, self.floor_)
        return SeriesParts(z, expected + season, scale)


# The fewest earlier points a causal score is computed from; before that a
# point scores 0 (nothing to compare it with yet).
_MIN_HISTORY = 5


@numba.njit(cache=True)
def _trailing(X, buffer, counts, floor):  # pragma: no cover - compiled
    n, c = X.shape
    w = buffer.shape[0]
    z = np.zeros((n, c))
    expected = np.full((n, c), np.nan)
    scale = np.full((n, c), np.nan)
    for i in range(n):
        held = counts[0]
        for j in range(c):
            if held >= _MIN_HISTORY:
                window = buffer[:held, j].copy()
                med = np.median(window)
                mad = _MAD_TO_SD * np.median(np.abs(window - med))
                s = max(mad, floor[j])
                z[i, j] = (X[i, j] - med) / s
                expected[i, j] = med
                scale[i, j] = s
            buffer[counts[1], j] = X[i, j]
        counts[1] = (counts[1] + 1) % w
        if held < w:
            counts[0] = held + 1
    return z, expected, scale


@numba.njit(cache=True)
def _centred(X, w, floor):  # pragma: no cover - compiled
    n, c = X.shape
    half = w // 2
    z = np.zeros((n, c))
    expected = np.empty((n, c))
    scale = np.empty((n, c))
    for j in range(c):
        col = X[:, j]
        for i in range(n):
            lo = max(0, i - half)
            hi = min(n, i + half + 1)
            window = np.concatenate((col[lo:i], col[i + 1 : hi]))
            if window.size == 0:
                expected[i, j] = col[i]
                scale[i, j] = floor[j]
                continue
            med = np.median(window)
            mad = _MAD_TO_SD * np.median(np.abs(window - med))
            s = max(mad, floor[j])
            z[i, j] = (col[i] - med) / s
            expected[i, j] = med
            scale[i, j] = s
    return z, expected, scale
