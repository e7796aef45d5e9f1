"""Thresholds for streamed anomaly scores from extreme-value theory: SPOT and DSPOT.

Siffer, Fouque, Termier & Largouët, "Anomaly Detection in Streams with Extreme
Value Theory", KDD 2017. Whatever the distribution of the scores, the excesses
over a high threshold ``t`` follow a Generalised Pareto Distribution (GPD,
Pickands-Balkema-de Haan). Fitting that GPD gives the score ``z_q`` exceeded
with probability ``risk``:

    z_q = t + sigma / gamma * ((risk * n / N_t) ** -gamma - 1)

(``t - sigma * log(risk * n / N_t)`` when ``gamma == 0``), where ``n`` counts
the values seen and ``N_t`` those above ``t``. No share of anomalies is
assumed, only how rare a false alarm should be.

- :class:`Spot` calibrates ``t`` (the ``level`` quantile) and the GPD on initial
  scores, then streams: a score above ``z_q`` is an alarm and is not learned
  from; a score in ``(t, z_q]`` is a new excess, the GPD is refitted and
  ``z_q`` moves; anything else only counts in ``n``.
- :class:`DSpot` does the same on ``x - M``, where ``M`` is the mean of the last
  ``depth`` normal scores, so the threshold follows a drifting level.

Only the upper tail is watched (the paper's biSPOT also watches the lower
one): large anomaly scores are the ones that matter.

As in the paper, alarms never enter the fit, so on a long stream the GPD sees
excesses cut off at ``z_q``, fits a thinner tail and lowers ``z_q``: on i.i.d.
scores the share flagged settles above ``risk`` (about twice ``risk`` on
exponential scores, more on Gaussian ones, whose tail the GPD approaches only
slowly). Calibrate on plenty of values, and read ``risk`` as an order of
magnitude.

The GPD is fitted by maximum likelihood with Grimshaw's trick (:func:`fit_gpd`):
the likelihood's stationary points are the roots of a one-variable equation on
two known intervals, so every refit is a vectorised root search, not a general
optimiser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_float, check_int

__all__ = ["DSpot", "Spot", "SpotResult", "fit_gpd"]

# Fewest excesses over the initial threshold the calibration must give: with
# fewer, the GPD shape is noise and z_q with it.
_MIN_PEAKS = 10
# Where Grimshaw's equation is sampled for sign changes. Negative roots lie in
# (-1 / max, 0): as fractions of that interval, evenly spread with extra points
# near both ends (gamma close to 0, and bounded scores with gamma near -1).
_LEFT_FRACTIONS = np.unique(
    np.r_[np.geomspace(1e-3, 0.05, 4), np.linspace(0.1, 0.9, 9), 1.0 - np.geomspace(1e-7, 0.05, 4)]
)
# Positive roots lie in (0, 2 (mean - min) / min**2], an interval that can span
# many orders of magnitude, so it is sampled geometrically from a point where
# gamma would be about 1e-3 (closer to 0 the exponential fit is as good).
_RIGHT_STEPS = np.linspace(0.0, 1.0, 16)
_ROOT_RTOL = 1e-12
_ROOT_MAX_ITER = 60
# Elements evaluated at once in Grimshaw's equation (see _grimshaw_w).
_EVAL_ELEMENTS = 16_384
# Points examined at once when looking for the next excess; grown while none
# is found, so quiet stretches cost one comparison per point.
_FIRST_BLOCK = 64
_MAX_BLOCK = 1 << 16


@dataclass(frozen=True)
class SpotResult:
    """Per streamed point: the threshold in force when it arrived, and whether it exceeded it."""

    thresholds: np.ndarray
    flags: np.ndarray


class Spot:
    """Streaming Peaks-Over-Threshold (SPOT): a threshold with false-alarm probability ``risk``.

    Parameters
    ----------
    risk:
        Probability that a normal score exceeds the threshold (the paper's ``q``).
    level:
        Quantile of the calibration scores used as the initial threshold ``t``;
        the excesses over it are modelled by the GPD.
    max_peaks:
        Most excesses kept for the GPD fit; beyond it the oldest are dropped, so
        a refit costs at most this many values however long the stream (the
        counts ``n`` and ``N_t`` in ``z_q`` keep growing). ``None`` keeps all.

    After :meth:`fit`: ``threshold_`` (the current ``z_q``), ``init_threshold_``
    (``t``), ``gamma_`` and ``sigma_`` (the GPD), ``peaks_`` (excesses kept),
    ``n_`` (normal values seen) and ``n_peaks_`` (excesses seen, ``N_t``).

    >>> rng = np.random.default_rng(0)
    >>> spot = Spot(risk=1e-5).fit(rng.exponential(size=5000))
    >>> stream = rng.exponential(size=2000)
    >>> stream[[500, 1500]] = 30.0
    >>> np.flatnonzero(spot.update(stream).flags).tolist()
    [500, 1500]
    """

    init_threshold_: float
    threshold_: float
    gamma_: float
    sigma_: float
    peaks_: np.ndarray
    n_: int
    n_peaks_: int

    def __init__(
        self, risk: float = 1e-4, level: float = 0.98, max_peaks: int | None = 10_000
    ) -> None:
        self.risk = risk
        self.level = level
        self.max_peaks = max_peaks

    def fit(self, initial_scores: Any) -> Spot:
        """Calibrate on scores of normal behaviour: the initial threshold and the GPD."""
        self._check_params()
        scores = _as_scores(initial_scores, "initial_scores")
        need = self._min_calibration()
        if scores.size < need:
            raise AnomalyzerError(
                f"{type(self).__name__} needs at least {need} calibration scores with "
                f"{self._settings()} (got {scores.size}); pass more scores or lower level."
            )
        values = self._calibrate(scores)
        n = values.size
        # The empirical quantile as in the paper's reference code: the sorted
        # value at rank int(level * n).
        k = int(self.level * n)
        t = float(np.partition(values, k)[k])
        peaks = values[values > t] - t
        if peaks.size < _MIN_PEAKS:
            raise AnomalyzerError(
                f"Only {peaks.size} calibration scores exceed the initial threshold {t:g} "
                f"(tied scores), fewer than {_MIN_PEAKS}; pass more varied scores or lower level."
            )
        self.init_threshold_ = t
        self.n_ = int(n)
        self.n_peaks_ = int(peaks.size)
        self.peaks_ = peaks if self.max_peaks is None else peaks[-self.max_peaks :].copy()
        self._refit()
        return self

    def update(self, scores: Any) -> SpotResult:
        """Stream scores in order; flag those above the threshold and adapt it.

        Updating with all scores at once equals updating one at a time.
        """
        if not hasattr(self, "threshold_"):
            raise AnomalyzerError(
                f"This {type(self).__name__} is not calibrated; call fit(initial_scores) "
                "before update(scores)."
            )
        x = _as_scores(scores, "scores")
        size = x.size
        thresholds = np.empty(size)
        flags = np.zeros(size, dtype=bool)
        t = self.init_threshold_
        p = 0
        block = _FIRST_BLOCK
        while p < size:
            chunk = x[p : p + block]
            # Drift assuming every point of the chunk is normal: true up to the
            # first excess or alarm, where the chunk is cut.
            drift = self._drift(chunk)
            corrected = chunk - drift
            z = self.threshold_
            # Above min(t, z) something happens: an alarm or a new excess (z
            # falls below t only if risk is not far below 1 - level).
            events = np.flatnonzero(corrected > min(t, z))
            j = int(events[0]) if events.size else chunk.size
            thresholds[p : p + j] = z + drift[:j]
            self._accept(chunk[:j])
            self.n_ += j
            if j == chunk.size:
                p += j
                block = min(2 * block, _MAX_BLOCK)
                continue
            i = p + j
            thresholds[i] = z + drift[j]
            if corrected[j] > z:
                # An alarm: kept out of the peaks and the counts, as in the paper.
                flags[i] = True
            else:
                self._accept(chunk[j : j + 1])
                self.n_ += 1
                self._add_peak(float(corrected[j]) - t)
            p = i + 1
            block = max(_FIRST_BLOCK, 2 * (j + 1))
        return SpotResult(thresholds=thresholds, flags=flags)

    # -- hooks for DSpot -------------------------------------------------------

    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        """The calibration values the threshold is learned on."""
        return scores

    def _drift(self, chunk: np.ndarray) -> np.ndarray:
        """The level each point of ``chunk`` is measured from."""
        return np.zeros(chunk.size)

    def _accept(self, normal: np.ndarray) -> None:
        """Remember scores judged normal (DSpot's moving window)."""

    def _min_calibration(self) -> int:
        return _min_calibration(self.level)

    def _settings(self) -> str:
        return f"level={self.level:g}"

    # -- internals -------------------------------------------------------------

    def _check_params(self) -> None:
        check_float("risk", self.risk, low=0, high=1)
        check_float("level", self.level, low=0, high=1)
        if self.max_peaks is not None:
            check_int("max_peaks", self.max_peaks, minimum=_MIN_PEAKS)

    def _add_peak(self, excess: float) -> None:
        self.n_peaks_ += 1
        peaks = np.append(self.peaks_, excess)
        if self.max_peaks is not None and peaks.size > self.max_peaks:
            peaks = peaks[-self.max_peaks :]
        self.peaks_ = peaks
        self._refit()

    def _refit(self) -> None:
        self.gamma_, self.sigma_ = _grimshaw(self.peaks_)
        self.threshold_ = _gpd_quantile(
            self.init_threshold_,
            self.gamma_,
            self.sigma_,
            self.risk * self.n_ / self.n_peaks_,
        )


class DSpot(Spot):
    """SPOT with drift (DSPOT): thresholds relative to the mean of the last ``depth`` normal scores.

    The GPD models the excesses of ``x - M``, with ``M`` the mean of the last
    ``depth`` scores that raised no alarm, so a slowly moving level (a trend,
    a new regime) is followed while a spike still stands out. The thresholds
    returned are in the units of the scores (``z_q + M``).

    >>> rng = np.random.default_rng(1)
    >>> trend = np.linspace(0.0, 20.0, 10000) + rng.normal(size=10000)
    >>> trend[[6000, 8000]] += 10.0
    >>> dspot = DSpot(risk=1e-5, depth=20).fit(trend[:3000])
    >>> np.flatnonzero(dspot.update(trend[3000:]).flags).tolist()
    [3000, 5000]
    """

    window_: np.ndarray

    def __init__(
        self,
        risk: float = 1e-4,
        level: float = 0.98,
        depth: int = 10,
        max_peaks: int | None = 10_000,
    ) -> None:
        super().__init__(risk=risk, level=level, max_peaks=max_peaks)
        self.depth = depth

    def _check_params(self) -> None:
        super()._check_params()
        check_int("depth", self.depth, minimum=1)

    def _min_calibration(self) -> int:
        # The first depth values only start the moving mean.
        return self.depth + _min_calibration(self.level)

    def _settings(self) -> str:
        return f"level={self.level:g} and depth={self.depth}"

    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        d = self.depth
        self.window_ = scores[:d].copy()
        corrected = scores[d:] - self._drift(scores[d:])
        self.window_ = scores[-d:].copy()
        return corrected

    def _drift(self, chunk: np.ndarray) -> np.ndarray:
        d = self.depth
        values = np.concatenate([self.window_, chunk])
        # Summed term by term from the oldest, the same for a long chunk as for
        # one point, so streaming in pieces gives the very same thresholds.
        total = values[: chunk.size].copy()
        for k in range(1, d):
            total += values[k : k + chunk.size]
        return total / d

    def _accept(self, normal: np.ndarray) -> None:
        if normal.size:
            self.window_ = np.concatenate([self.window_, normal])[-self.depth :]


def fit_gpd(excesses: Any) -> tuple[float, float]:
    """Maximum-likelihood GPD ``(gamma, sigma)`` of positive excesses, by Grimshaw's trick.

    ``gamma`` is the shape (0: exponential tail, > 0: heavy, < 0: bounded) and
    ``sigma`` the scale. When no root of Grimshaw's equation beats it, the
    exponential fit ``(0, mean)`` is returned.

    >>> rng = np.random.default_rng(0)
    >>> gamma, sigma = fit_gpd(rng.exponential(2.0, size=20000))
    >>> round(gamma, 1) == 0, round(sigma, 1)
    (True, 2.0)
    """
    y = _as_scores(excesses, "excesses")
    if y.size == 0 or not (y > 0).all():
        raise AnomalyzerError("excesses must be a non-empty set of positive numbers.")
    return _grimshaw(y)


def _grimshaw(y: np.ndarray) -> tuple[float, float]:
    """GPD maximum likelihood by Grimshaw's trick (Grimshaw 1993), as SPOT fits it.

    With ``x = gamma / sigma``, the likelihood's stationary points solve
    ``u(x) v(x) = 1`` where ``u(x) = 1 + mean(log(1 + x y))`` and
    ``v(x) = mean(1 / (1 + x y))``; each root gives ``gamma = u(x) - 1`` and
    ``sigma = gamma / x``. Roots lie in ``(-1 / max(y), 0)`` and in
    ``(0, 2 (mean - min) / min**2]``. The reference code of Siffer et al.
    searches the positive side only from ``2 (mean - min) / (mean min)``, which
    for small excesses lies far above the root of a heavy tail (GPD shape 0.3
    fell back to gamma = 0), so the whole interval is searched here. The
    candidate with the highest log-likelihood wins, ``gamma = 0`` (sigma = mean)
    included.
    """
    n = y.size
    y_min, y_max, y_mean = float(y.min()), float(y.max()), float(y.mean())
    gamma_best, sigma_best = 0.0, y_mean
    # The exponential log-likelihood at sigma = mean (the reference code has
    # its sign flipped, which can make this candidate win or lose wrongly).
    ll_best = -n * (math.log(y_mean) + 1.0)
    if n < 2 or not y_max > y_min:
        return gamma_best, sigma_best
    left = -_LEFT_FRACTIONS / y_max
    c = 2.0 * (y_mean - y_min) / (y_min * y_min)
    low = 1e-3 / y_mean if 1e-3 / y_mean < c else 1e-3 * c
    right = low * (c / low) ** _RIGHT_STEPS
    roots = _roots(y, np.concatenate([left, right]))
    if roots.size:
        with np.errstate(all="ignore"):
            gamma = np.log1p(roots[:, None] * y).mean(axis=1)
            sigma = gamma / roots
            # At x = gamma / sigma, sum(log(1 + x y)) = n gamma, so the GPD
            # log-likelihood -n log sigma - (1 + 1/gamma) sum(log(1 + x y))
            # reduces to this.
            ll = -n * (np.log(sigma) + gamma + 1.0)
        ll[~(np.isfinite(ll) & (sigma > 0) & (gamma != 0))] = -np.inf
        k = int(np.argmax(ll))
        if ll[k] > ll_best:
            gamma_best, sigma_best = float(gamma[k]), float(sigma[k])
    return gamma_best, sigma_best


def _roots(y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Roots of Grimshaw's equation between consecutive grid points where it changes sign.

    The grid is monotone within each of the two intervals; a pair spanning the gap
    between them has no root of interest (x = 0 is the trivial one) and is dropped.
    """
    with np.errstate(all="ignore"):
        w, _ = _grimshaw_w(y, grid, derivative=False)
        lo, hi = grid[:-1], grid[1:]
        flo, fhi = w[:-1], w[1:]
        bracket = (
            np.isfinite(flo) & np.isfinite(fhi) & (np.sign(flo) * np.sign(fhi) < 0) & (lo * hi > 0)
        )
        if not bracket.any():
            return np.empty(0)
        lo, hi, flo, fhi = lo[bracket], hi[bracket], flo[bracket], fhi[bracket]
        # Safeguarded Newton, all brackets at once: a Newton step when it stays
        # inside the bracket, bisection otherwise.
        x = lo - flo * (hi - lo) / (fhi - flo)
        for _ in range(_ROOT_MAX_ITER):
            f, df = _grimshaw_w(y, x, derivative=True)
            same = np.sign(f) == np.sign(flo)
            lo, flo = np.where(same, x, lo), np.where(same, f, flo)
            hi = np.where(same, hi, x)
            step = x - f / df
            inside = np.isfinite(step) & ((step - lo) * (step - hi) < 0)
            new = np.where(inside, step, 0.5 * (lo + hi))
            done = (np.abs(new - x) <= _ROOT_RTOL * np.abs(x)) | (f == 0)
            x = np.where(f == 0, x, new)
            if done.all():
                break
    return x


def _grimshaw_w(
    y: np.ndarray, x: np.ndarray, *, derivative: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``w(x) = u(x) v(x) - 1`` for each ``x``, and its derivative if asked."""
    n = y.size
    log_sum = np.empty(x.size)
    inv_sum = np.empty(x.size)
    if derivative:
        du = np.empty(x.size)
        dv = np.empty(x.size)
    # A few grid points at a time: temporaries that stay in cache cost a
    # fraction of one (grid x peaks) array, freshly allocated at every refit.
    rows = max(1, _EVAL_ELEMENTS // n)
    for start in range(0, x.size, rows):
        part = slice(start, start + rows)
        s = np.multiply.outer(x[part], y)
        s += 1.0
        log_sum[part] = np.log(s).sum(axis=1)
        inv = np.reciprocal(s, out=s)
        inv_sum[part] = inv.sum(axis=1)
        if derivative:
            # du/dx = mean(y / s), dv/dx = -mean(y / s**2)
            du[part] = inv @ y
            inv *= inv
            dv[part] = inv @ y
    u = 1.0 + log_sum / n
    v = inv_sum / n
    w = u * v - 1.0
    if not derivative:
        return w, None
    return w, (v * du - u * dv) / n


def _gpd_quantile(t: float, gamma: float, sigma: float, ratio: float) -> float:
    """``z_q`` of the paper: the score exceeded with probability ``risk``; ``ratio = risk n / N_t``."""
    log_ratio = math.log(ratio)
    if gamma == 0.0:
        return t - sigma * log_ratio
    # expm1 keeps precision when gamma is close to 0.
    return t + sigma / gamma * math.expm1(-gamma * log_ratio)


def _min_calibration(level: float) -> int:
    """Fewest calibration values that leave ``_MIN_PEAKS`` above the ``level`` quantile."""
    n = max(_MIN_PEAKS + 1, math.ceil(_MIN_PEAKS / (1.0 - level)))
    while n - int(level * n) - 1 < _MIN_PEAKS:
        n += 1
    return n


def _as_scores(values: Any, name: str) -> np.ndarray:
    """One finite float per point, or an ``AnomalyzerError`` naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnomalyzerError(
            f"{name} must be numbers, one score per point; could not convert them to floats."
        ) from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise AnomalyzerError(
            f"{name} must be one score per point (a 1-D array), got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        first = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise AnomalyzerError(
            f"{name} contain NaN or infinite values (first at position {first}); "
            "pass finite scores."
        )
    return np.ascontiguousarray(arr)
