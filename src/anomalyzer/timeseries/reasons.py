"""Reasons in words for the points of a series: what was expected, what changed, and when.

A point is explained by the kind of anomaly that drives its score. For the
``auto`` committee that is the member scoring the point highest on the
committee's common scale (:meth:`~anomalyzer.timeseries.auto.SeriesAuto.member_scores`);
for a single detector, the detector itself:

- a value off its band (``rolling_z``, ``stl``, ``forecast``): "value 97.2
  above the expected band 40–61 for Tuesday 14:00", the seasonal slot named
  from the periods found (a daily period gives the time of day, a weekly one
  the weekday and time);
- a level shift (``level_shift``): "level shift down of 35% from 2026-03-02
  10:00", the change placed where the levels before and after differ most;
- a change of volatility (``variance_change``): "volatility up 4.1x from ...";
- an odd shape (``matrix_profile``, ``window``): "unusual shape over the 32
  points from ... to ...".

With several channels the reason names the channels that carry the score
(from :meth:`~anomalyzer.timeseries.base.SeriesDetector.explain`). Numbers
have three significant digits and thousands separators.

>>> idx = pd.date_range("2026-03-03", periods=48, freq="h")
>>> x = np.full((48, 1), 50.0); x[14, 0] = 97.2
>>> low, high = np.full_like(x, 40.0), np.full_like(x, 61.0)
>>> ctx = SeriesContext(x, idx, low, high, ["cpu"], pd.Timedelta("1h"), [24])
>>> point_reason(ctx, 14, "stl")
'value 97.2 above the expected band 40–61 for 14:00'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.timeseries.profile import seasonal_values

#: What each registered detector finds, as the kind of reason it gets.
KIND_OF = {
    "rolling_z": "band",
    "stl": "band",
    "forecast": "band",
    "level_shift": "level",
    "variance_change": "volatility",
    "matrix_profile": "shape",
    "window": "pattern",
}
# Channels named in a reason: at most this many, and only those carrying at
# least this share of the top channel's contribution.
MAX_CHANNELS = 3
MIN_SHARE = 0.25
# Fewest points on either side of a change for its levels to be measured.
_MIN_SIDE = 3
# A level this close to zero (relative to the shift) makes a percentage
# meaningless: the shift is given in the units of the data instead.
_MAX_PERCENT = 1000.0


@dataclass(frozen=True)
class SeriesContext:
    """A stretch of one series with what its reasons need.

    ``values``, ``lower`` and ``upper`` are ``(n_points, n_channels)``; the
    band edges are NaN where the detector has no expected value. ``start``
    is the grid position of ``values[0]`` in the series the detector was
    fitted on (it places seasonal profiles); ``causal`` says the scores use
    the past only, so a change is looked for before a point, not around it.
    """

    values: np.ndarray
    index: pd.DatetimeIndex
    lower: np.ndarray
    upper: np.ndarray
    channels: list[str]
    freq: pd.Timedelta
    periods: list[int]
    start: int = 0
    causal: bool = False


def point_reason(
    ctx: SeriesContext,
    pos: int,
    driver: str,
    *,
    shares: np.ndarray | None = None,
    member: Any = None,
    scores: np.ndarray | None = None,
) -> str:
    """One sentence on why point ``pos`` of ``ctx`` scores as it does.

    ``driver`` is the registry name of the detector (or committee member)
    that drives the score; ``shares`` the channels' contributions at the
    point; ``member`` that detector, fitted (its windows and seasonal
    profiles are used); ``scores`` its scores over ``ctx``, which place a
    shape anomaly among the windows covering the point.

    >>> idx = pd.date_range("2026-03-02", periods=60, freq="h")
    >>> x = np.r_[np.full(30, 100.0), np.full(30, 65.0)].reshape(-1, 1)
    >>> nan = np.full_like(x, np.nan)
    >>> ctx = SeriesContext(x, idx, nan, nan, ["v"], pd.Timedelta("1h"), [])
    >>> point_reason(ctx, 31, "level_shift")
    'level shift down of 35% from 2026-03-03 06:00 (level 100 before, 65 after)'
    """
    kind = KIND_OF.get(driver, "band")
    chans = named_channels(shares, len(ctx.channels))
    if kind == "band":
        return _band_reason(ctx, pos, chans)
    if kind in ("level", "volatility"):
        return _change_reason(ctx, pos, chans, kind, member)
    shape = _shape_reason(ctx, pos, chans, kind, member, scores)
    # A shape covers many points; one that is also off its band says so first.
    off = [j for j in chans if _off_band(ctx, pos, j)]
    if off:
        return f"{_band_reason(ctx, pos, off)}; {shape}"
    return shape


def _off_band(ctx: SeriesContext, pos: int, j: int) -> bool:
    v, lo, hi = ctx.values[pos, j], ctx.lower[pos, j], ctx.upper[pos, j]
    return bool(np.isfinite(lo) and np.isfinite(hi) and (v < lo or v > hi))


def named_channels(shares: np.ndarray | None, n_channels: int) -> list[int]:
    """Positions of the channels to name: the top ones by contribution.

    >>> named_channels(np.array([0.1, 3.0, 1.0]), 3)
    [1, 2]
    """
    if n_channels == 1 or shares is None:
        return list(range(min(n_channels, 1)))
    shares = np.nan_to_num(np.asarray(shares, dtype=np.float64), nan=0.0)
    order = np.argsort(-shares, kind="stable")
    top = float(shares[order[0]])
    if top <= 0:
        return [int(order[0])]
    return [int(j) for j in order[:MAX_CHANNELS] if shares[j] >= MIN_SHARE * top]


# -- kinds -------------------------------------------------------------------------


def _band_reason(ctx: SeriesContext, pos: int, chans: list[int]) -> str:
    single = len(ctx.channels) == 1
    phrases = []
    for j in chans:
        name = "value" if single else str(ctx.channels[j])
        phrases.append(band_phrase(name, ctx.values[pos, j], ctx.lower[pos, j], ctx.upper[pos, j]))
    text = "; ".join(phrases)
    slot = slot_name(ctx.index[pos], ctx.freq, ctx.periods)
    return f"{text} for {slot}" if slot else text


def band_phrase(name: str, value: float, low: float, high: float) -> str:
    """Where ``value`` lies against its expected band ``[low, high]``.

    >>> band_phrase("value", 12.0, 40.2, 61.4)
    'value 12 below the expected band 40.2–61.4'
    >>> band_phrase("cpu", 50.0, np.nan, np.nan)
    'cpu 50 is unusual'
    """
    v = fmt_number(value)
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{name} {v} is unusual"
    band = f"{fmt_number(low)}–{fmt_number(high)}"
    if value > high:
        return f"{name} {v} above the expected band {band}"
    if value < low:
        return f"{name} {v} below the expected band {band}"
    return f"{name} {v} is unusual for its neighbours, though inside the expected band {band}"


def _change_reason(ctx: SeriesContext, pos: int, chans: list[int], kind: str, member: Any) -> str:
    window = int(getattr(member, "window", 30) or 30)
    season = _season(ctx, member)
    phrases = []
    at = None
    for j in chans:
        y = ctx.values[:, j] - season[:, min(j, season.shape[1] - 1)]
        found = _change(y, pos, window, ctx.causal, kind)
        if found is None:
            continue
        at, before, after = found
        where = "" if len(ctx.channels) == 1 else f" in {ctx.channels[j]}"
        when = fmt_time(ctx.index[at], ctx.freq)
        if kind == "level":
            phrases.append(_level_phrase(before, after, where, when))
        else:
            ratio = after / before
            up = ratio >= 1.0
            factor = ratio if up else 1.0 / ratio
            phrases.append(
                f"volatility {'up' if up else 'down'} {fmt_number(factor)}x{where} from {when}"
            )
    if not phrases:
        # Too close to an edge to measure the change: say what the band says.
        return _band_reason(ctx, pos, chans)
    return "; ".join(phrases)


def _level_phrase(before: float, after: float, where: str, when: str) -> str:
    up = after >= before
    direction = "up" if up else "down"
    levels = f"(level {fmt_number(before)} before, {fmt_number(after)} after)"
    pct = 100.0 * (after - before) / abs(before) if before != 0 else math.inf
    if abs(pct) <= _MAX_PERCENT:
        return f"level shift {direction} of {fmt_number(abs(pct))}%{where} from {when} {levels}"
    return (
        f"level shift {direction} by {fmt_number(abs(after - before))}{where} from {when} {levels}"
    )


def _season(ctx: SeriesContext, member: Any) -> np.ndarray:
    """The seasonal offsets the change detectors remove (zeros without a profile)."""
    profiles = getattr(member, "profiles_", None)
    n = ctx.values.shape[0]
    if not profiles:
        return np.zeros((n, 1))
    return seasonal_values(list(profiles), ctx.start, n)


def _change(
    y: np.ndarray, pos: int, window: int, causal: bool, kind: str
) -> tuple[int, float, float] | None:
    """Where the level (or step size) of ``y`` changes near ``pos``, and its value before and after.

    The change is placed at the split, among those within a window of
    ``pos`` (before it, for causal scores), whose means on either side differ
    most: a mean, unlike a median, grows steadily as a window slides past a
    change, so it peaks at the change itself. For levels the values are first
    clipped at three robust SDs, so a spike nearby does not move the change.
    The levels reported are the medians on either side of it.

    >>> y = np.r_[np.zeros(20), np.full(20, 5.0)]
    >>> _change(y, 22, 10, False, "level")
    (20, 0.0, 5.0)
    """
    vol = kind == "volatility"
    # Volatility compares absolute steps; the first step has no predecessor.
    series = np.abs(np.diff(y)) if vol else y
    shift = 1 if vol else 0  # series[i] belongs to point i + shift
    p = pos - shift
    m = series.size
    lo = max(_MIN_SIDE, p - window)
    hi = p if causal else min(p + window, m - _MIN_SIDE)
    if hi < lo:
        return None
    seg_lo, seg_hi = max(0, lo - window), min(m, (p + 1) if causal else hi + window)
    local = series[seg_lo:seg_hi]
    if not vol:
        med = float(np.median(local))
        mad = 1.4826 * float(np.median(np.abs(local - med)))
        if mad > 0:
            local = np.clip(local, med - 3 * mad, med + 3 * mad)
    cs = np.concatenate([[0.0], np.cumsum(local)])
    cuts = np.arange(lo, hi + 1)
    b_lo = np.maximum(cuts - window, seg_lo)
    a_hi = np.full(cuts.size, p + 1) if causal else np.minimum(cuts + window, seg_hi)
    nb, na = cuts - b_lo, a_hi - cuts
    ok = (nb >= _MIN_SIDE) & (na >= _MIN_SIDE)
    if not ok.any():
        return None
    mean_b = (cs[cuts - seg_lo] - cs[b_lo - seg_lo]) / np.maximum(nb, 1)
    mean_a = (cs[a_hi - seg_lo] - cs[cuts - seg_lo]) / np.maximum(na, 1)
    if vol:
        floor = 1e-12 + 1e-9 * float(np.abs(y).max())
        gap = np.abs(np.log(np.maximum(mean_a, floor) / np.maximum(mean_b, floor)))
    else:
        gap = np.abs(mean_a - mean_b)
    k = int(np.argmax(np.where(ok, gap, -np.inf)))
    c = int(cuts[k])
    before = float(np.median(series[b_lo[k] : c]))
    after = float(np.median(series[c : a_hi[k]]))
    if vol:
        floor = 1e-12 + 1e-9 * float(np.abs(y).max())
        before, after = max(before, floor), max(after, floor)
    return c + shift, before, after


def _shape_reason(
    ctx: SeriesContext,
    pos: int,
    chans: list[int],
    kind: str,
    member: Any,
    scores: np.ndarray | None,
) -> str:
    n = ctx.values.shape[0]
    m = int(getattr(member, "window_", None) or getattr(member, "window", None) or 32)
    m = max(1, min(m, n))
    if ctx.causal:
        start = max(0, pos - m + 1)
    else:
        first, last = max(0, pos - m + 1), min(pos, n - m)
        start = max(0, min(pos - m // 2, n - m))
        if scores is not None and last >= first:
            # The window covering the point whose points score highest together.
            local = np.concatenate([[0.0], np.cumsum(np.nan_to_num(scores[first : last + m]))])
            sums = local[m:] - local[:-m]
            start = first + int(np.argmax(sums))
    end = min(n - 1, start + m - 1)
    what = "shape" if kind == "shape" else "pattern"
    where = ""
    if len(ctx.channels) > 1:
        where = " in " + " and ".join(str(ctx.channels[j]) for j in chans)
    return (
        f"unusual {what}{where} over the {end - start + 1} points from "
        f"{fmt_time(ctx.index[start], ctx.freq)} to {fmt_time(ctx.index[end], ctx.freq)}"
    )


# -- words for numbers and times ---------------------------------------------------


def fmt_number(value: float) -> str:
    """``value`` with three significant digits and thousands separators.

    >>> [fmt_number(v) for v in (97.23, 1243.7, 40.0, 0.012345, -3.0e6, 61.0)]
    ['97.2', '1,240', '40', '0.0123', '-3,000,000', '61']
    """
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) < 1e-4 or abs(v) >= 1e15:
        return f"{v:.3g}"
    digits = 2 - math.floor(math.log10(abs(v)))
    rounded = round(v, digits)
    text = f"{rounded:,.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt_time(ts: pd.Timestamp, freq: pd.Timedelta | None = None) -> str:
    """A timestamp as a person writes it: no seconds, nor a time on daily data, unless needed.

    >>> fmt_time(pd.Timestamp("2026-03-02 10:00"), pd.Timedelta("5min"))
    '2026-03-02 10:00'
    >>> fmt_time(pd.Timestamp("2026-03-02"), pd.Timedelta("1D"))
    '2026-03-02'
    """
    return _fmt_time(pd.Timestamp(ts), None if freq is None else pd.Timedelta(freq))


@functools.lru_cache(maxsize=4096)
def _fmt_time(ts: pd.Timestamp, freq: pd.Timedelta | None) -> str:
    # Cached: the points of one flagged stretch name the same start and end.
    if freq is not None and freq % pd.Timedelta("1D") == pd.Timedelta(0):
        return ts.strftime("%Y-%m-%d")
    if ts.second or ts.microsecond or (freq is not None and freq % pd.Timedelta("1min")):
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    return ts.strftime("%Y-%m-%d %H:%M")


def slot_name(ts: pd.Timestamp, freq: pd.Timedelta, periods: Sequence[int]) -> str | None:
    """The seasonal slot of ``ts``: weekday and time for a weekly period, time for a daily one.

    >>> ts = pd.Timestamp("2026-03-03 14:00")
    >>> slot_name(ts, pd.Timedelta("1h"), [24, 168]), slot_name(ts, pd.Timedelta("1h"), [24])
    ('Tuesday 14:00', '14:00')
    >>> slot_name(ts, pd.Timedelta("1h"), [12]) is None
    True
    """
    freq = pd.Timedelta(freq)
    spans = {int(p) * freq for p in periods}
    day = pd.Timedelta("1D")
    clock = "%H:%M" if freq % pd.Timedelta("1min") == pd.Timedelta(0) else "%H:%M:%S"
    ts = pd.Timestamp(ts)
    if 7 * day in spans:
        return ts.strftime("%A") if freq >= day else ts.strftime(f"%A {clock}")
    if day in spans and freq < day:
        return ts.strftime(clock)
    return None


def periods_text(periods: Sequence[int], freq: pd.Timedelta | None) -> str:
    """Periods in points and, when the step is known, as a length of time.

    >>> periods_text([288, 2016], pd.Timedelta("5min"))
    '288 points (1 day), 2,016 points (7 days)'
    >>> periods_text([], None)
    'none'
    """
    if not periods:
        return "none"
    return ", ".join(
        f"{int(p):,} points ({duration(int(p) * freq)})"
        if freq is not None
        else f"{int(p):,} points"
        for p in periods
    )


def duration(span: pd.Timedelta) -> str:
    """A length of time in the largest whole unit that fits it.

    >>> duration(pd.Timedelta("7D")), duration(pd.Timedelta("90min")), duration(pd.Timedelta("1h"))
    ('7 days', '90 minutes', '1 hour')
    """
    span = pd.Timedelta(span)
    for unit, name in (("7D", "week"), ("1D", "day"), ("1h", "hour"), ("1min", "minute")):
        step = pd.Timedelta(unit)
        if span >= step and span % step == pd.Timedelta(0):
            count = int(span // step)
            if name == "week":  # "7 days" reads better than "1 week" beside "1 day"
                count, name = count * 7, "day"
            return f"{count:,} {name}{'s' if count != 1 else ''}"
    seconds = span.total_seconds()
    return f"{fmt_number(seconds)} second{'s' if seconds != 1 else ''}"


def drivers(
    member_scores: Mapping[str, np.ndarray] | None, default: str, positions: Any
) -> list[str]:
    """The name of the member scoring highest at each position (``default`` without members).

    >>> drivers({"stl": np.array([1.0, 5.0]), "level_shift": np.array([3.0, 2.0])}, "auto", [0, 1])
    ['level_shift', 'stl']
    """
    positions = np.asarray(positions, dtype=np.int64)
    if not member_scores:
        return [default] * positions.size
    names = list(member_scores)
    stacked = np.vstack([np.asarray(member_scores[k])[positions] for k in names])
    best = np.argmax(np.nan_to_num(stacked, nan=-np.inf), axis=0)
    return [names[int(b)] for b in best]
