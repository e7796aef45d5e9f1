"""The time column of a table: its span, its step, its gaps and its seasons.

:func:`profile_time` reads a time column the way the series front door does
(:func:`~anomalyzer.timeseries.frame.parse_timestamps`,
:func:`~anomalyzer.timeseries.frame.infer_frequency`) and says:

- the **step**: the usual gap between distinct timestamps (or a round step
  near the median gap), and whether the timestamps are **regular** (at least
  half the gaps are exactly that step) or events at irregular times;
- the **gaps**: stretches without any row longer than twice the step (20
  times the typical gap for events at irregular times), within each series
  when a group column splits the table into series;
- the **seasons**: for regular timestamps, the periods
  :func:`~anomalyzer.timeseries.seasonality.detect_periods` finds in each
  numeric column of the first series (prepared by
  :func:`~anomalyzer.timeseries.frame.prepare_series`); for events, the
  periods of the number of rows per time bucket (transactions that follow
  the day, say).

A **group column** is a categorical column with at most 100 levels that makes
repeated timestamps unique (``host`` in a table of metrics from several
hosts); it is guessed when not given.

>>> t = pd.date_range("2026-01-01", periods=24 * 21, freq="1h")
>>> x = np.sin(2 * np.pi * np.arange(t.size) / 24)
>>> df = pd.DataFrame({"t": t, "load": x}).drop(index=range(100, 110))
>>> p = profile_time(df, "t", ["load"])
>>> p.step_text, p.regular, p.n_gaps, p.periods
('1 h', True, 1, {'load': [24]})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError
from anomalyzer.explore.columns import numeric
from anomalyzer.report.timeview import duration
from anomalyzer.timeseries.frame import infer_frequency, parse_timestamps, prepare_series
from anomalyzer.timeseries.seasonality import detect_periods

# A stretch without rows longer than this many steps is a gap.
GAP_STEPS = 2.0
# ... or, for events at irregular times, this many typical gaps between rows.
EVENT_GAP_STEPS = 20.0
# Gaps listed one by one; the rest are counted.
MAX_GAPS = 10
# Numeric columns searched for seasons, and drawn over time.
MAX_VALUE_COLUMNS = 8
MAX_DRAWN_COLUMNS = 4
MAX_DRAWN_GROUPS = 5
# Time buckets of a drawn line (each the mean of its rows) and of an event count.
MAX_BUCKETS = 1500
_EVENT_BUCKETS = ("1min", "5min", "15min", "1h", "6h", "1D", "7D")
_MAX_GROUP_LEVELS = 100
# Stands for "count the rows" among the drawn columns: no column name can equal it.
_ROWS = "\x00rows"


@dataclass
class TimeProfile:
    """What the time column of a table shows (see the module docstring)."""

    column: str
    start: pd.Timestamp
    end: pd.Timestamp
    step: pd.Timedelta
    regular: bool
    group: str | None
    n_series: int
    n_gaps: int
    gaps: list[tuple[pd.Timestamp, pd.Timestamp, str]]
    periods: dict[str, list[int]]
    period_unit: pd.Timedelta
    notes: list[str] = field(default_factory=list)
    lines: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def step_text(self) -> str:
        """The step in words (``5 min``, ``1 h``)."""
        return duration(self.step / pd.Timedelta("1ms"))

    def seasons_text(self) -> list[str]:
        """One line per column with a season: ``cpu: every 288 points (1 day)``."""
        out = []
        for name, periods in self.periods.items():
            if periods:
                spans = ", ".join(
                    f"{p} points ({duration(p * self.period_unit / pd.Timedelta('1ms'))})"
                    for p in periods
                )
                out.append(f"{name}: every {spans}")
        return out


def guess_group(df: pd.DataFrame, time: str, stamps: pd.DatetimeIndex) -> str | None:
    """The column that makes repeated timestamps unique, or None (see the module docstring).

    >>> df = pd.DataFrame({"t": [1, 1, 2, 2], "host": list("abab"), "v": [1, 2, 3, 4]})
    >>> guess_group(df, "t", pd.DatetimeIndex(pd.to_datetime(df["t"])))
    'host'
    """
    ns = pd.Series(stamps.as_unit("ns").asi8)
    n_times = ns.nunique()
    if n_times >= 0.99 * len(df):
        return None
    best: tuple[int, str] | None = None
    for col in df.columns:
        name = str(col)
        if name == time:
            continue
        s = df[col]
        if pd.api.types.is_float_dtype(s.dtype):
            continue
        levels = s.nunique(dropna=True)
        if not 2 <= levels <= _MAX_GROUP_LEVELS:
            continue
        pairs = pd.DataFrame({"t": ns.to_numpy(), "g": s.to_numpy()}).drop_duplicates().shape[0]
        if pairs >= 0.99 * len(df) and (best is None or levels < best[0]):
            best = (levels, name)
    return best[1] if best else None


def profile_time(
    df: pd.DataFrame,
    time: str,
    value_columns: Sequence[str],
    *,
    group: str | None = None,
    exclude: Sequence[str] = (),
) -> TimeProfile:
    """The :class:`TimeProfile` of column ``time`` of ``df``, its seasons searched in ``value_columns``."""
    stamps = parse_timestamps(df[time], time)
    if stamps.tz is not None:
        stamps = stamps.tz_convert(None)
    stamps = stamps.as_unit("ns")
    valid = ~np.asarray(stamps.isna())
    if valid.sum() < 2:
        raise AnomalyzerError(f"Column {time!r} holds fewer than two timestamps to profile.")
    if group is None:
        group = guess_group(df, time, stamps)
    step = infer_frequency(stamps[valid])
    ns = stamps.as_unit("ns").asi8
    codes = pd.factorize(df[group])[0] if group is not None else np.zeros(len(df), dtype=np.int64)
    times = [np.unique(ns[valid & (codes == g)]) for g in np.unique(codes[valid & (codes >= 0)])]
    exact = sum(int((np.diff(t) == step.value).sum()) for t in times)
    total = sum(max(t.size - 1, 0) for t in times)
    regular = total > 0 and 2 * exact >= total
    limit = (GAP_STEPS if regular else EVENT_GAP_STEPS) * step.value
    gaps: list[tuple[int, int]] = []
    for t in times:
        big = np.flatnonzero(np.diff(t) > limit)
        gaps += [(int(t[i]), int(t[i + 1])) for i in big]
    gaps.sort(key=lambda ab: ab[0] - ab[1])
    shown = [
        (pd.Timestamp(a), pd.Timestamp(b), duration((b - a) / 1e6)) for a, b in gaps[:MAX_GAPS]
    ]
    values = [c for c in value_columns if c not in (time, group, *exclude)][:MAX_VALUE_COLUMNS]
    notes: list[str] = []
    periods: dict[str, list[int]] = {}
    unit = step
    if regular and values:
        try:
            series = prepare_series(df, time, value=values, group=group, exclude=list(exclude))
        except AnomalyzerError as exc:
            notes.append(f"Seasons not searched: {exc}")
        else:
            first = max(series, key=lambda s: s.values.shape[0])
            for j, name in enumerate(first.channels):
                periods[name] = detect_periods(first.values[:, j], freq=first.freq)
            unit = first.freq
            if group is not None:
                notes.append(f"Seasons are those of the longest series, {group}={first.group}")
    elif not regular:
        counts, unit = _event_counts(ns[valid])
        periods["rows per " + duration(unit / pd.Timedelta("1ms"))] = detect_periods(
            counts, freq=unit
        )
    return TimeProfile(
        column=time,
        start=pd.Timestamp(ns[valid].min()),
        end=pd.Timestamp(ns[valid].max()),
        step=step,
        regular=bool(regular),
        group=group,
        n_series=len(np.unique(codes[codes >= 0])),
        n_gaps=len(gaps),
        gaps=shown,
        periods=periods,
        period_unit=unit,
        notes=notes,
        lines=_lines(df, ns, valid, codes, group, values, regular),
    )


def _event_counts(ns: np.ndarray) -> tuple[np.ndarray, pd.Timedelta]:
    """Rows per time bucket, the bucket being the finest round one that gives few enough."""
    span = int(ns.max() - ns.min())
    for text in _EVENT_BUCKETS:
        bucket = pd.Timedelta(text)
        if span / bucket.value <= 4 * MAX_BUCKETS:
            break
    index = (ns - ns.min()) // bucket.value
    return np.bincount(index).astype(np.float64), bucket


def _lines(
    df: pd.DataFrame,
    ns: np.ndarray,
    valid: np.ndarray,
    codes: np.ndarray,
    group: str | None,
    values: list[str],
    regular: bool,
) -> pd.DataFrame:
    """What the series figure draws: per column and group, the mean per time bucket.

    Columns ``time``, ``column``, ``group`` and ``value``; event streams also
    get the rows per bucket as a column of their own.
    """
    lo, hi = int(ns[valid].min()), int(ns[valid].max())
    width = max(1, -(-(hi - lo) // MAX_BUCKETS))
    bucket = np.where(valid, (ns - lo) // width, -1)
    keep = valid & (codes >= 0) & (codes < MAX_DRAWN_GROUPS)
    labels = pd.factorize(df[group])[1] if group is not None else [None]
    parts = []
    drawn = values[:MAX_DRAWN_COLUMNS]
    if not regular:
        drawn = [_ROWS, *drawn[: MAX_DRAWN_COLUMNS - 1]]
    for name in drawn:
        x = np.ones(len(df)) if name == _ROWS else numeric(df[name])
        ok = keep & np.isfinite(x)
        frame = pd.DataFrame({"b": bucket[ok], "g": codes[ok], "x": x[ok]})
        agg = frame.groupby(["g", "b"], sort=True)["x"]
        stat = agg.sum() if name == _ROWS else agg.mean()
        parts.append(
            pd.DataFrame(
                {
                    "time": pd.to_datetime(lo + stat.index.get_level_values("b") * width),
                    "column": "rows per bucket" if name == _ROWS else name,
                    "group": [labels[g] for g in stat.index.get_level_values("g")],
                    "value": stat.to_numpy(),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["time", "column", "group", "value"])
    return pd.concat(parts, ignore_index=True)
