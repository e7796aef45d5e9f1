"""Seasonal periods found in the data: how many points until the pattern repeats.

:func:`detect_periods` returns the periods (in points) of the seasonal patterns
of a regular, gap-free series, strongest first, several at once (a daily and a
weekly cycle). It works in three steps:

1. **Candidates.** Peaks of the periodogram (Hann window) of the linearly
   detrended series that stand out from the spectrum around them, the highest
   local peaks of its autocorrelation (and the shortest lags that come close
   to them), and, when the step ``freq`` is known, the natural periods of
   :func:`candidate_periods` (an hour, a day, a week, a year). A candidate
   within 2% of a natural period of 24 points or more is snapped to it (287 or
   289 five-minute points become 288, one day). The whole fractions of a
   confirmed period are tried too (a spike once a day also repeats every 72
   hours, and may be found there first).
2. **Confirmation.** The series is detrended with a centred moving average one
   period long (which removes a trend, even a wandering one, but keeps a
   pattern of that period), clipped at 5 robust standard deviations (so that
   a few spikes cannot make two cycles alike), and each cycle is correlated
   with the next ones (up to three cycles ahead, averaged). A period is kept
   when that correlation is at least 0.2; when it is a local peak, 10% above
   the correlation an eighth of a period either side; and when it is
   significant (4 standard errors) once the autocorrelation of what the
   pattern leaves unexplained is allowed for. That last test is what keeps a
   random walk, whose cycles look alike only by chance, from passing.
3. **Pruning.** Periods within 5% of each other are one (the stronger stays).
   A multiple of a kept period (48 beside 24) is kept only when it still
   repeats once the shorter pattern is removed (a week whose days differ); a
   divisor of a kept period (12 beside 24) is kept only when it is a natural
   period or when the longer pattern mostly repeats at that lag.

Periods are ordered by that cycle-to-cycle correlation, strongest first. A
natural period needs two full cycles (a weekly period needs two weeks of
data), any other period three. A constant series, white noise, a random walk
or a trend have no period.

:func:`seasonality_strength` measures how much of the variation a period
explains, from an STL decomposition.

>>> import numpy as np
>>> t = np.arange(24 * 28)
>>> rng = np.random.default_rng(0)
>>> daily = np.sin(2 * np.pi * t / 24)
>>> weekly = np.where(t % 168 >= 120, -1.5, 0.0)
>>> x = daily + weekly + 0.3 * rng.normal(size=t.size)
>>> sorted(detect_periods(x, freq=pd.Timedelta("1h")))
[24, 168]
>>> detect_periods(rng.normal(size=2000))
[]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy import signal

from anomalyzer.errors import AnomalyzerError

# A cycle must correlate at least this much with the next to count as a season:
# below it the pattern explains too little of the variation to be worth using.
_MIN_CORR = 0.2
# ... and the correlation must be this many standard errors above zero, the
# standard error allowing for autocorrelation of what the pattern leaves over.
_MIN_Z = 4.0
# ... and exceed the correlation an eighth of a period away by this share of itself.
_PEAK_MARGIN = 0.1
# A divisor of a kept period is kept when the longer pattern correlates with
# itself at the divisor's lag at least this share of its correlation at its own.
_DIVISOR_SHARE = 0.5
# Candidates taken from the periodogram and from the autocorrelation.
_SPECTRAL_CANDIDATES = 6
_ACF_CANDIDATES = 3
# A spectral peak must be this many times the median power around it.
_MIN_PROMINENCE = 4.0
# Natural periods, as spans of time; the year is 365 days so that daily data gets 365.
_NATURAL_SPANS = tuple(pd.Timedelta(s).value for s in ("1min", "1h", "1D", "7D", "365D"))


def candidate_periods(freq: pd.Timedelta | str) -> list[int]:
    """Natural periods, in points, for a series with step ``freq``.

    The minute, hour, day, week and (365-day) year that hold a whole number of
    at least two steps.

    >>> candidate_periods(pd.Timedelta("5min"))
    [12, 288, 2016, 105120]
    >>> candidate_periods("1D")
    [7, 365]
    >>> candidate_periods("13min")
    []
    """
    return list(_natural_periods(pd.Timedelta(freq).value))


@functools.lru_cache(maxsize=64)
def _natural_periods(step: int) -> tuple[int, ...]:
    if step <= 0:
        return ()
    return tuple(span // step for span in _NATURAL_SPANS if span % step == 0 and span >= 2 * step)


def detect_periods(
    values: np.ndarray,
    max_periods: int = 3,
    min_period: int = 2,
    max_period: int | None = None,
    *,
    freq: pd.Timedelta | str | None = None,
    candidates: Sequence[int] | None = None,
) -> list[int]:
    """Seasonal periods of ``values`` in points, strongest first; ``[]`` when there is none.

    ``values`` is a regular series without NaN, 1-D or ``(n_points, n_channels)``;
    with several channels the periods of each are merged, strongest first.
    ``freq`` (the step) adds the natural periods of :func:`candidate_periods`
    and snaps near ones to them. ``candidates`` skips the search: only those
    periods are tested (as natural ones), which is several times faster. Only
    periods in ``[min_period, max_period]`` are returned; a period needs two
    full cycles when natural, three otherwise.

    >>> t = np.arange(2000)
    >>> detect_periods(np.sin(2 * np.pi * t / 50) + 0.01 * t)
    [50]
    >>> detect_periods(np.cumsum(np.random.default_rng(1).normal(size=2000)))
    []
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim not in (1, 2):
        raise AnomalyzerError(
            f"detect_periods needs a 1-D series or a 2-D (points, channels) array, "
            f"got {x.ndim} dimensions."
        )
    if not np.isfinite(x).all():
        raise AnomalyzerError(
            "detect_periods got NaN or infinite values; fill the gaps first (prepare_series does)."
        )
    if max_periods < 1:
        return []
    naturals = candidate_periods(freq) if freq is not None else []
    search = candidates is None
    if candidates is not None:
        naturals = sorted({int(p) for p in candidates})
    if x.ndim == 2:
        best: dict[int, float] = {}
        for j in range(x.shape[1]):
            for c in _detect(x[:, j], min_period, max_period, naturals, search):
                if c.score > best.get(c.period, -1.0):
                    best[c.period] = c.score
        merged = sorted(best, key=lambda p: -best[p])
        kept: list[int] = []
        for p in merged:
            if all(abs(p - q) > max(1, 0.05 * max(p, q)) for q in kept):
                kept.append(p)
        return kept[:max_periods]
    found = _detect(x, min_period, max_period, naturals, search)
    return [c.period for c in found][:max_periods]


def seasonality_strength(values: np.ndarray, period: int) -> float:
    """How much of the variation the seasonal pattern of ``period`` explains, in [0, 1].

    Wang, Smith & Hyndman (2006): ``max(0, 1 - var(R) / var(S + R))`` with the
    seasonal part ``S`` and the remainder ``R`` of an STL decomposition whose
    seasonal smoother spans about as many cycles as the series holds (so the
    pattern may drift slowly). Near 1 for a clean seasonal pattern, near 0 for
    noise (about 0.15 with 20 cycles, 0.05 with 80); 0 when the series is
    shorter than two periods or constant.

    >>> t = np.arange(240)
    >>> round(seasonality_strength(np.sin(2 * np.pi * t / 24), 24), 2)
    1.0
    """
    from statsmodels.tsa.seasonal import STL

    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise AnomalyzerError(
            "seasonality_strength got NaN or infinite values; fill the gaps first "
            "(prepare_series does)."
        )
    if int(period) < 2:
        raise AnomalyzerError(f"period must be at least 2 points, got {period}.")
    period = int(period)
    if x.size < 2 * period or np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return 0.0
    # The seasonal smoother spans about as many cycles as there are (odd, 7 to 101): with
    # STL's default of 7 even white noise shows a "seasonal" part of strength ~0.35,
    # while a pattern that truly repeats is as strong either way.
    cycles = x.size // period
    window = min(101, max(7, cycles if cycles % 2 else cycles - 1))
    # LOESS evaluated at every tenth point of each window and interpolated between:
    # statsmodels' recommended speed-up, a hundred times faster for daily periods of
    # five-minute data, with the same strength to three decimals.
    fit = STL(
        x,
        period=period,
        seasonal=window,
        robust=False,
        seasonal_jump=max(1, window // 10),
        trend_jump=max(1, int(1.5 * period) // 10),
        low_pass_jump=max(1, period // 10),
    ).fit()
    r = np.asarray(fit.resid)
    sr = np.asarray(fit.seasonal) + r
    var_sr = float(np.var(sr))
    if var_sr <= 0.0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - np.var(r) / var_sr)))


# -- detection ---------------------------------------------------------------------------


@dataclass
class _Candidate:
    period: int
    score: float
    natural: bool
    residual: np.ndarray = field(repr=False)  # series minus its trend at this period, clipped
    seasonal: np.ndarray = field(repr=False)  # the pattern: the detrended mean of each phase


def _tolerance(natural: int) -> int:
    """Lags by which a detected period may miss a natural one and still be snapped to it."""
    return max(1, round(0.02 * natural)) if natural >= 24 else 0


def _detect(
    x: np.ndarray, min_period: int, max_period: int | None, naturals: list[int], search: bool
) -> list[_Candidate]:
    """The confirmed, pruned periods of one channel, strongest first (see the module doc)."""
    n = x.size
    # The search covers every period from 2 points to half the length; the limits only
    # filter what it finds, so that a period below min_period (a day) still keeps its
    # multiples (two days) from being reported as periods of their own.
    lo, hi = 2, n // 2
    wanted_lo = max(2, int(min_period))
    wanted_hi = hi if max_period is None else int(max_period)
    if hi < lo or n < 8 or wanted_hi < wanted_lo:
        return []
    standard = _standardise(x)
    if standard is None:
        return []
    x = standard
    naturals = [p for p in naturals if lo <= p <= hi]
    tried: dict[int, _Candidate | None] = {}
    kept: list[_Candidate] = []

    def consider(p0: int, lags: tuple[int, int] | None) -> None:
        p = _refine(x, p0, lags, lo, hi) if lags is not None else p0
        near = [m for m in naturals if abs(m - p) <= _tolerance(m)]
        if near:
            p = min(near, key=lambda m: abs(m - p))
        if p in tried:
            return
        c = _confirm(x, p, natural=p in naturals)
        tried[p] = c
        if c is not None:
            kept.append(c)

    for p in naturals:
        consider(p, None)
    if not search:
        return [c for c in _prune(x, kept) if wanted_lo <= c.period <= wanted_hi]
    for p0, lags in _spectral_candidates(x, lo, hi):
        consider(p0, lags)
    for p in _acf_candidates(_acf(x), lo, hi):
        consider(p, (max(lo, p - 1), min(hi, p + 1)))
    for c in list(kept):
        for p in _fractions(c, kept, lo):
            consider(p, None)
    return [c for c in _prune(x, kept) if wanted_lo <= c.period <= wanted_hi]


def _standardise(x: np.ndarray) -> np.ndarray | None:
    """``x`` detrended and scaled to unit spread; None when nothing varies but a trend."""
    spread = float(np.std(x))
    if spread <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return None
    x = _detrend(x)
    # A pure trend leaves (almost) nothing once detrended: no season there.
    scale = float(np.std(x))
    if scale <= 1e-9 * spread:
        return None
    return x / scale


def _fractions(c: _Candidate, kept: list[_Candidate], lo: int) -> list[int]:
    """Whole fractions of the confirmed period ``c`` to try, unless a period kept divides it.

    A confirmed period may be a multiple of the true one (a spike every 24
    hours repeats at 72 too).
    """
    if c.natural or any(q.period < c.period and c.period % q.period == 0 for q in kept):
        return []
    return [c.period // m for m in range(2, 8) if c.period % m == 0 and c.period // m >= lo]


def _detrend(x: np.ndarray) -> np.ndarray:
    """``x`` minus its least-squares line (closed form: no LAPACK call for two numbers)."""
    t = np.arange(x.size, dtype=np.float64)
    t -= t.mean()
    xc = x - x.mean()
    return xc - t * (_dot(t, xc) / _dot(t, t))


def _acf(x: np.ndarray) -> np.ndarray:
    """Autocorrelation of a centred series at every lag, by FFT (biased estimate)."""
    n = x.size
    size = sp_fft.next_fast_len(2 * n - 1, real=True)
    f = sp_fft.rfft(x - x.mean(), size)
    acf = sp_fft.irfft(f.real**2 + f.imag**2, size)[:n]
    return acf / acf[0] if acf[0] > 0 else np.zeros(n)


def _spectral_candidates(x: np.ndarray, lo: int, hi: int) -> list[tuple[int, tuple[int, int]]]:
    """Periodogram peaks standing out from their surroundings: (period, lag range) pairs."""
    n = x.size
    power = np.abs(np.fft.rfft(x * signal.windows.hann(n, sym=False))) ** 2
    k_lo = max(1, int(np.ceil(n / hi)))
    k_hi = min(power.size - 2, int(np.floor(n / lo)))
    if k_hi < k_lo:
        return []
    k = np.arange(k_lo, k_hi + 1)
    p = power[k]
    is_peak = (p > power[k - 1]) & (p >= power[k + 1]) & (p > 0)
    peaks = k[is_peak]
    if peaks.size == 0:
        return []
    # Rank peaks against a power law fitted to the whole band (flat for noise, falling
    # for a random walk), then judge the best few against their own neighbourhood.
    logk, logp = np.log(k), np.log(p + 1e-300)
    lk = logk - logk.mean()
    slope = _dot(lk, logp - logp.mean()) / max(_dot(lk, lk), 1e-300)
    intercept = logp.mean() - slope * logk.mean()
    excess = np.log(power[peaks] + 1e-300) - (intercept + slope * np.log(peaks))
    best = peaks[np.argsort(-excess)[: 2 * _SPECTRAL_CANDIDATES]]
    scored = []
    for b in best:
        half = max(4, int(0.25 * b))
        lo_k, hi_k = max(1, b - half), min(power.size - 1, b + half + 1)
        around = np.r_[power[lo_k : max(lo_k, b - 2)], power[b + 3 : hi_k]]
        if around.size < 3:
            continue
        prominence = power[b] / max(float(np.median(around)), 1e-300)
        if prominence >= _MIN_PROMINENCE:
            scored.append((prominence, int(b)))
    scored.sort(reverse=True)
    out = []
    for _, b in scored[:_SPECTRAL_CANDIDATES]:
        # A peak at bin b means a period between n/(b+1/2) and n/(b-1/2) points.
        first = max(lo, int(np.floor(n / (b + 0.5))))
        last = min(hi, int(np.ceil(n / (b - 0.5))) if b > 0.5 else hi)
        out.append((round(n / b), (first, max(first, last))))
    return out


def _acf_candidates(acf: np.ndarray, lo: int, hi: int) -> list[int]:
    """The highest local peaks of the autocorrelation between ``lo`` and ``hi``."""
    n = acf.size
    hi = min(hi, n - 2)
    if hi < lo:
        return []
    lag = np.arange(lo, hi + 1)
    # Undo the (n - lag) / n shrinkage of the biased estimate, or a weekly peak would
    # lose to the daily ones before it only for being further out.
    unbiased = acf[lo - 1 : hi + 2] * n / (n - np.arange(lo - 1, hi + 2))
    a = unbiased[1:-1]
    peak = (a > unbiased[:-2]) & (a >= unbiased[2:]) & (a > 0.1)
    lags, values = lag[peak], a[peak]
    if lags.size == 0:
        return []
    best = lags[np.argsort(-values)[:_ACF_CANDIDATES]]
    # A pattern repeats at every multiple of its period, often about equally well: the
    # shortest lags that come close to the best peak are candidates too.
    first = lags[values >= 0.5 * values.max()][:2]
    return sorted({int(v) for v in (*best, *first)})


def _refine(x: np.ndarray, p0: int, lags: tuple[int, int], lo: int, hi: int) -> int:
    """The lag in ``lags`` where cycles of the series detrended at ``p0`` correlate best.

    Correlations at the first few multiples of each lag are averaged: an error of
    one lag grows to several at the third cycle, which sharpens the choice.
    """
    first, last = max(lo, lags[0]), min(hi, lags[1])
    p0 = min(max(p0, lo), hi)
    if last <= first:
        return p0
    n = x.size
    r = x - _trend(x, p0)
    lag = np.arange(first, last + 1)
    cycles = max(1, min(4, (n - 1) // last - 1))
    if lag.size * cycles <= 8:
        score = [sum(_lag_corr(r, m * int(v)) for m in range(1, cycles + 1)) for v in lag]
        return int(lag[np.argmax(score)])
    acf = _acf(r)
    total = np.zeros(lag.size)
    for m in range(1, cycles + 1):
        # The biased ACF shrinks long lags by (n - lag) / n; undo that before comparing.
        total += acf[m * lag] * n / (n - m * lag)
    return int(lag[np.argmax(total)])


def _trend(x: np.ndarray, p: int) -> np.ndarray:
    """Centred moving average over one period (2×p for even p), extended linearly at the ends.

    Over exactly one period the seasonal pattern averages out, so this is the
    trend the pattern rides on; being symmetric it follows a quadratic exactly.
    """
    n = x.size
    h = p // 2
    if n < 2 * h + 2:
        return np.full(n, x.mean())
    c = np.concatenate(([0.0], np.cumsum(x)))
    total = c[2 * h + 1 :] - c[: n - 2 * h]  # sums of x[t-h : t+h+1]
    if p % 2:
        m = total / p
    else:
        m = (total - 0.5 * (x[: n - 2 * h] + x[2 * h :])) / p
    trend = np.empty(n)
    trend[h : n - h] = m
    span = min(m.size, max(2, h + 1))
    if m.size >= 2 and h > 0:
        steps = np.arange(1, h + 1)
        head = (m[span - 1] - m[0]) / (span - 1)
        tail = (m[-1] - m[-span]) / (span - 1)
        trend[:h] = m[0] - head * steps[::-1]
        trend[n - h :] = m[-1] + tail * steps
    elif h > 0:
        trend[:h] = m[0]
        trend[n - h :] = m[-1]
    return trend


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two vectors.

    ``einsum`` rather than ``np.dot``: a multithreaded BLAS can take a hundred times
    longer on a busy machine for vectors this short, and this runs thousands of times.
    """
    return float(np.einsum("i,i->", a, b))


def _lag_corr(r: np.ndarray, lag: int) -> float:
    """Pearson correlation of ``r`` with itself ``lag`` points later."""
    a, b = r[:-lag], r[lag:]
    m = a.size
    # From sums rather than centred copies: the series are standardised, so there is
    # no cancellation to fear, and this runs thousands of times.
    sa, sb = float(a.sum()), float(b.sum())
    cov = _dot(a, b) - sa * sb / m
    den = (_dot(a, a) - sa * sa / m) * (_dot(b, b) - sb * sb / m)
    return cov / np.sqrt(den) if den > 0 else 0.0


def _phase_means(r: np.ndarray, p: int) -> np.ndarray:
    """The seasonal pattern: the mean of ``r`` at each phase of period ``p``, as a series."""
    phase = np.arange(r.size) % p
    means = np.bincount(phase, weights=r, minlength=p) / np.bincount(phase, minlength=p)
    return means[phase]


def _confirm(x: np.ndarray, p: int, *, natural: bool) -> _Candidate | None:
    """Test period ``p`` on ``x`` (standardised, detrended); the candidate if it holds."""
    n = x.size
    # Two cycles show a repeat only by comparing one with the other, which chance
    # wiggles pass too often; an unexplained period must show it over three.
    if p < 2 or n < (2 if natural else 3) * p:
        return None
    r = x - _trend(x, p)
    if _dot(r, r) <= 1e-12 * n:
        return None
    # Clipped at 5 robust SD so that a few spikes do not make two cycles look alike.
    rc = _clip(r)
    corr = _lag_corr(rc, p) - _filter_corr(p)
    if corr < _MIN_CORR:
        return None
    # A local peak: clearly above the correlation an eighth of a period either side
    # (a smooth residual correlates about as well at every nearby lag).
    d = max(1, round(p / 8))
    for lag in (p - d, p + d):
        if 1 <= lag <= n - 3 and _lag_corr(rc, lag) > (1.0 - _PEAK_MARGIN) * corr:
            return None
    # A season repeats in every cycle, a chance resemblance mostly between neighbours:
    # the score is the mean correlation with the next few cycles.
    cycles = n // p
    if cycles >= 3:
        more = [_lag_corr(rc, m * p) for m in range(2, min(4, cycles))]
        corr = (corr + sum(more)) / (1 + len(more))
        if corr < _MIN_CORR:
            return None
    seasonal = _phase_means(r, p)
    inflation = _inflation(rc - _phase_means(rc, p), p) * n / max(n - p, 1)
    if corr * np.sqrt((n - p) / inflation) < _MIN_Z:
        return None
    return _Candidate(p, corr, natural, rc, seasonal)


def _clip(r: np.ndarray) -> np.ndarray:
    """``r`` winsorised at 5 robust standard deviations from its median."""
    # A few thousand evenly spread points estimate the median and MAD well enough.
    sample = r[:: max(1, r.size // 2048)]
    med = float(np.median(sample))
    mad = 1.4826 * float(np.median(np.abs(sample - med)))
    if mad <= 0.0:
        return r
    return np.clip(r, med - 5.0 * mad, med + 5.0 * mad)


def _filter_corr(p: int) -> float:
    """Lag-``p`` correlation that detrending alone puts into white noise.

    The 2×p average of an even period weighs the points half a period away on
    both sides, so a residual and the one a period later share one point; it
    matters only for the shortest periods (1/6 at p = 2).
    """
    if p % 2:
        return 0.0
    return (0.25 / p**2) / (1.0 - 1.0 / p - 0.5 / p**2)


def _inflation(rest: np.ndarray, p: int) -> float:
    """How much autocorrelation of what the pattern leaves widens the chance correlation.

    Bartlett's variance of a correlation between two stretches with autocorrelation
    ρ(k) is (1 + 2 Σ ρ(k)²) / N. The sample ACF of a few cycles of a smooth series
    decays too fast (the mean removal eats it), so an AR(1) with the same lag-1
    correlation is used as a floor.
    """
    if _dot(rest, rest) <= 1e-12 * rest.size:
        return 1.0
    k = max(1, p // 2)
    if k <= 16:
        rho = np.array([_lag_corr(rest, lag) for lag in range(1, k + 1)])
    else:
        rho = _acf(rest)[1 : k + 1]
    sampled = 1.0 + 2.0 * _dot(rho, rho)
    r1 = min(abs(float(rho[0])), 0.9999)
    q = r1 * r1
    ar1 = 1.0 + 2.0 * q * (1.0 - q**k) / (1.0 - q)
    return max(sampled, ar1)


def _multiple(a: int, b: int) -> bool:
    """Whether ``b`` is (nearly) a whole multiple, at least twice, of ``a``."""
    m = round(b / a)
    return m >= 2 and abs(b - m * a) <= _tolerance(b)


def _prune(x: np.ndarray, kept: list[_Candidate]) -> list[_Candidate]:
    """Drop near-duplicates, multiples that add nothing and divisors that are harmonics."""
    kept = sorted(kept, key=lambda c: -c.score)
    unique: list[_Candidate] = []
    for c in kept:
        # Two periods within 5% of each other are one pattern seen twice.
        if all(abs(c.period - u.period) > max(1, 0.05 * max(c.period, u.period)) for u in unique):
            unique.append(c)
    by_period = sorted(unique, key=lambda c: c.period)
    # Multiples: a longer period must still repeat once the shorter patterns it
    # contains are removed (a week whose days differ, not just seven equal days).
    # They are removed one after the other, shortest first, so that a pattern
    # nested in another is not removed twice.
    survivors: list[_Candidate] = []
    for c in by_period:
        shorter = [s for s in survivors if _multiple(s.period, c.period)]
        if shorter:
            rest = x
            for s in shorter:
                rest = rest - _phase_means(rest - _trend(rest, s.period), s.period)
            if _confirm(rest, c.period, natural=c.natural) is None:
                continue
        survivors.append(c)
    # Divisors: a shorter period inside a longer one is a harmonic unless it is a natural
    # period or the longer pattern mostly repeats at that lag.
    out = []
    for c in survivors:
        longer = [s for s in survivors if _multiple(c.period, s.period)]
        if not c.natural and any(
            _lag_corr(s.residual, c.period) < _DIVISOR_SHARE * _lag_corr(s.residual, s.period)
            for s in longer
        ):
            continue
        out.append(c)
    return sorted(out, key=lambda c: -c.score)
