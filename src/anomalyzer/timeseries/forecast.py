"""Forecasting bands: Holt-Winters one-step forecasts and their prediction interval.

statsmodels estimates the smoothing weights and initial states of additive
exponential smoothing (Holt-Winters, with the strongest seasonal period when
there is one); the recursion then forecasts each point from the ones before it.
A point's score is its forecast error in robust standard deviations, so with
``contamination="auto"`` a point is flagged exactly when it falls outside the
``interval`` prediction band ``forecast ± z × sigma``. Sigma is the robust
spread (MAD) of the one-step errors, so past anomalies do not widen the band.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numba
import numpy as np
from scipy import stats

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts, robust_scale
from anomalyzer.timeseries.profile import check_periods, scale_floor
from anomalyzer.validation import check_float

# Smoothing weights are estimated on at most this many of the last points:
# the optimiser's cost grows with the series, the weights hardly change.
_FIT_POINTS = 5000
_CLIP = 3.0
_SCALE_WEIGHT = 0.01
_MEAN_ABS_TO_SD = math.sqrt(math.pi / 2.0)


class ForecastBand(SeriesDetector):
    """One-step Holt-Winters forecast errors against a prediction band.

    ``period`` is the seasonal period in points (None: the strongest one found
    in the data, or none). Offline the band's width is fixed at fit; causally
    the error scale follows the series, so the band widens and narrows with it.
    Errors beyond three scales update the level and season only up to that
    bound, so an anomaly is not learned as the new normal at once.

    >>> import numpy as np
    >>> t = np.arange(24 * 10)
    >>> x = 50 + 10 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(1).normal(0, 1, t.size)
    >>> x[150] = 30.0
    >>> det = ForecastBand(period=24).fit(x)
    >>> int(np.argmax(det.decision_scores_)), bool(det.predict(x)[150])
    (150, True)
    """

    def __init__(
        self,
        period: int | None = None,
        interval: float = 0.999,
        causal: bool = False,
        contamination: float | str = "auto",
    ) -> None:
        self.period = period
        self.interval = interval
        self.causal = causal
        self.contamination = contamination

    def _validate_params(self) -> None:
        check_float("interval", self.interval, low=0.0, high=1.0)
        if self.period is not None and len(check_periods(self.period) or []) > 1:
            raise AnomalyzerError(
                f"period must be one integer >= 2, 0 for none, or None, got {self.period!r}."
            )

    def _fit(self, X: np.ndarray) -> None:
        self.period_ = _usable_period(X, self.period)
        self.floor_ = scale_floor(X)
        c = X.shape[1]
        m = max(self.period_, 1)
        self.alpha_ = np.zeros(c)
        self.gamma_ = np.zeros(c)
        self.initial_level_ = np.zeros(c)
        self.initial_season_ = np.zeros((m, c))
        for j in range(c):
            alpha, gamma, level, season = _estimate(X[:, j], self.period_)
            self.alpha_[j], self.gamma_[j] = alpha, gamma
            self.initial_level_[j] = level
            self.initial_season_[:, j] = season
        errors = self._run(self._new_state(), X, adapt=False)[0]
        self.error_scale_ = np.maximum(robust_scale(errors), self.floor_)

    def _threshold(self, scores: np.ndarray) -> float:
        if self.contamination != "auto":
            return super()._threshold(scores)
        return float(stats.norm.ppf(0.5 + self.interval / 2.0))

    def _new_state(self) -> dict[str, Any]:
        return {
            "level": self.initial_level_.copy(),
            "season": self.initial_season_.copy(),
            "scale": getattr(self, "error_scale_", self.floor_) / _MEAN_ABS_TO_SD,
            "counts": np.zeros(1, dtype=np.int64),
        }

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        errors, expected, scale = self._run(state, X, adapt=True)
        return SeriesParts(errors / scale, expected, scale)

    def _batch(self, X: np.ndarray) -> SeriesParts:
        errors, expected, scale = self._run(self._new_state(), X, adapt=False)
        return SeriesParts(errors / scale, expected, scale)

    def _run(
        self, state: dict[str, Any], X: np.ndarray, adapt: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _holt_winters(
            X,
            state["level"],
            state["season"],
            state["scale"],
            state["counts"],
            self.alpha_,
            self.gamma_,
            self.floor_,
            adapt,
        )


def _usable_period(X: np.ndarray, period: int | None) -> int:
    # The strongest period with two full cycles (the heuristic initial season
    # needs them), or none.
    if period is None:
        from anomalyzer.timeseries.seasonality import detect_periods

        found = detect_periods(X[:, 0])
        period = found[0] if found else 0
    periods = [p for p in check_periods(period) or [] if 2 * p <= X.shape[0]]
    return periods[0] if periods else 0


def _estimate(x: np.ndarray, period: int) -> tuple[float, float, float, np.ndarray]:
    """Smoothing weights and initial states from statsmodels' Holt-Winters fit."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    m = max(period, 1)
    fit_x = (
        x[-_FIT_POINTS:] if x.size > _FIT_POINTS and period == 0 else x[: max(_FIT_POINTS, 2 * m)]
    )
    seasonal = "add" if period else None
    with warnings.catch_warnings():
        # Convergence chatter from the optimiser; the weights are still usable.
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            fit_x,
            trend=None,
            seasonal=seasonal,
            seasonal_periods=period or None,
            initialization_method="heuristic" if period else "estimated",
        )
        res = model.fit()
    params = res.params
    alpha = float(np.nan_to_num(params.get("smoothing_level", 0.5)))
    gamma = float(np.nan_to_num(params.get("smoothing_seasonal", 0.0))) if period else 0.0
    level = float(params["initial_level"])
    season = np.asarray(params["initial_seasons"], dtype=np.float64) if period else np.zeros(1)
    if period == 0 and x.size > _FIT_POINTS:
        level = float(x[0])
    return alpha, gamma, level, season


@numba.njit(cache=True)
def _holt_winters(
    X, level, season, scale, counts, alpha, gamma, floor, adapt
):  # pragma: no cover - compiled
    n, c = X.shape
    m = season.shape[0]
    errors = np.zeros((n, c))
    expected = np.empty((n, c))
    sd = np.empty((n, c))
    for i in range(n):
        phase = counts[0] % m
        for j in range(c):
            forecast = level[j] + season[phase, j]
            s = max(scale[j] * _MEAN_ABS_TO_SD, floor[j])
            e = X[i, j] - forecast
            errors[i, j] = e
            expected[i, j] = forecast
            sd[i, j] = s
            clipped = min(max(e, -_CLIP * s), _CLIP * s)
            level[j] += alpha[j] * clipped
            season[phase, j] += gamma[j] * (1.0 - alpha[j]) * clipped
            if adapt:
                scale[j] += _SCALE_WEIGHT * (abs(clipped) - scale[j])
        counts[0] += 1
    return errors, expected, sd
