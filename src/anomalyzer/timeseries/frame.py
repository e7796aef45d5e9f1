"""From a user's table to regular series: one per group, ready for series detectors.

:func:`prepare_series` turns a table with a time column into one
:class:`SeriesFrame` per group: a float matrix ``(n_points, n_channels)`` on a
regular time grid, in time order, without NaN, and for every input row the grid
point its timestamp falls on, so that scores can be written back onto the
user's rows. The table itself is never modified. Each data defect that was
handled is written up as one plain-English line in ``notes``.

**Timestamps** (:func:`parse_timestamps`)

- Datetime columns are used as they are, naive or time-zone aware.
- Numbers are times since 1970-01-01 UTC; the unit follows from the size of the
  typical value: below 1e11 seconds, below 1e14 milliseconds, below 1e17
  microseconds, else nanoseconds. Text made only of such numbers reads the same.
- Text is read as ISO 8601 (``2026-03-02T10:00:00+01:00``, ``2026-03-02 10:00``,
  with or without seconds, fractions and offsets) or, failing that, in the
  format pandas infers from the values (``02/03/2026 10:00``, ``Mar 2, 2026``).
  Day or month first: ``02/03/2026`` is read month first, as 3 February, as
  pandas does, unless some value can only be read day first (a first number
  above 12, such as ``13/03/2026``, and no second number above 12); then all
  are read day first. Write ISO 8601 to avoid the ambiguity.
- Mixed UTC offsets are converted to UTC (the only zone they share); a single
  offset is kept. Where offsets and plain times are mixed, plain times count as UTC.
- Missing or unreadable timestamps: when they are at most 1% of the rows, those
  rows are left out with a note and get no score (NaN); more is an error that
  shows one of them.

**Value columns.** ``value=None`` uses every numeric column other than the time
and group columns, except boolean columns, columns without values or with a
single value, and identifiers (row numbers counting up by one, or whole numbers
unique per row in a column named like ``id`` or ``key``); a note names each
column left out. A column named in ``value=`` must exist and be numeric (or
boolean). Infinite values count as missing.

**Order and duplicates.** Rows are sorted by time (noted when they were not).
Rows that share a timestamp are averaged into one point (noted with the count);
each still maps to that point in ``row_points``.

**Frequency** (:func:`infer_frequency`). The step is the most common gap between
consecutive distinct timestamps when at least half the gaps have it; otherwise
(irregular timestamps) the median gap, snapped to a round step (1, 2, 5, 10, 15,
20 or 30 seconds or minutes, 1, 2, 3, 4, 6, 8 or 12 hours, a day, a week...)
within 25%. ``freq=`` sets it instead. The grid starts at the first timestamp
or, when timestamps fall between grid times, at the round time nearest to it.
Each timestamp goes to the nearest grid time, except with a ``freq=`` coarser
than the data's own step: then each grid time averages the rows of the step
that starts at it, as a resample would. Timestamps that share a grid time are
averaged (noted).

**Gaps and missing values** (``fill=``). ``observed`` is False at each grid point
where any value was filled; ``gaps`` lists the filled stretches longer than one
point.

- ``"auto"`` (default): runs of up to 3 missing points are interpolated
  linearly. Longer gaps are filled with the values one season earlier (one
  season later when the gap is too close to the start), shifted to meet the
  observed level at both ends, when :func:`~anomalyzer.timeseries.seasonality.detect_periods`
  finds a season in that column among the natural periods of the step (an
  hour, a day, a week; any period when the step has none), the strongest one
  with a full period of data beside the gap; otherwise they are interpolated
  linearly too.
- ``"linear"``: every gap is interpolated linearly.
- ``"ffill"``: every gap takes the last value before it.
- In every policy, missing values at the start take the first observed value
  and those at the end the last one (noted). A column with no value at all in
  a series is left out of that series (noted).

**Daylight saving.** Naive local times are used as wall-clock times: the hour
repeated when clocks go back holds duplicate timestamps, which are averaged;
the hour skipped when clocks go forward is a gap, which is filled (interpolated
when it is at most 3 points). Time-zone aware times are put on a grid that is
regular in UTC, so neither happens; ``index`` is shown in the original zone.
(Daily local times are then 23 or 25 hours apart across a change; they go to
the nearest grid time, noted as irregular timestamps.)

**Groups.** With ``group=``, each value of that column (in order of first
appearance) gives its own series, prepared on its own (its own step). Rows whose
group is missing are left out (noted). A group with fewer than 10 points that
have a value is skipped with a note, and its rows get no score; without groups
that is an error, as it is when every group is too short.

>>> import pandas as pd
>>> df = pd.DataFrame({
...     "timestamp": ["2026-03-02 10:05", "2026-03-02 10:00", "2026-03-02 10:10",
...                   "2026-03-02 10:10"] + [f"2026-03-02 {10 + m // 60}:{m % 60:02d}"
...                                           for m in range(20, 80, 5)],
...     "cpu": [2.0, 1.0, 3.0, 5.0] + [float(v) for v in range(12)],
... })
>>> [s] = prepare_series(df, time="timestamp")
>>> s.freq, s.values.shape, s.channels
(Timedelta('0 days 00:05:00'), (16, 1), ['cpu'])
>>> s.row_points[:4].tolist(), float(s.values[2, 0]), bool(s.observed[3])
([1, 0, 2, 2], 4.0, False)
>>> print("\\n".join(s.notes))
timestamps were not sorted; sorted
1 duplicate timestamp averaged
1 missing timestamp interpolated
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from anomalyzer.data.datetext import needs_care, read_date_text
from anomalyzer.data.roles import (
    as_text,
    column_lookup,
    date_format,
    name_looks_like_id,
    numeric_values,
    parse_dates,
)
from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.seasonality import candidate_periods, detect_periods
from anomalyzer.validation import check_frame

FILLS = ("auto", "linear", "ffill")
MIN_POINTS = 10
# Share of rows whose timestamp may be missing or unreadable before that is an error:
# a stray "n/a" should not stop a run, a column of the wrong kind should.
_MAX_BAD_SHARE = 0.01
# Runs of up to this many missing points are interpolated linearly under "auto":
# a few steps are too short for a seasonal pattern to matter.
_SHORT_GAP = 3
# A grid this many times the number of distinct timestamps (beyond a floor) means
# stray timestamps far from the rest, or a step far too fine: an error, not a fill.
_MAX_GRID_RATIO = 20
_MIN_GRID_LIMIT = 10_000
# Long gaps written up one by one in the notes; the rest are counted.
_MAX_GAP_NOTES = 10
# Values listed in an error before the rest are counted.
_MAX_LISTED = 20

_NS = {"ms": 10**6, "s": 10**9, "min": 60 * 10**9, "h": 3600 * 10**9, "D": 86400 * 10**9}
_NICE_STEPS = sorted(
    {int(v * _NS[u]) for u, vs in (("ms", (1, 2, 5, 10, 20, 50, 100, 200, 250, 500)),) for v in vs}
    | {int(v * _NS["s"]) for v in (1, 2, 5, 10, 15, 20, 30)}
    | {int(v * _NS["min"]) for v in (1, 2, 5, 10, 15, 20, 30)}
    | {int(v * _NS["h"]) for v in (1, 2, 3, 4, 6, 8, 12)}
    | {int(v * _NS["D"]) for v in (1, 7)}
)
# The median gap of irregular timestamps is snapped to a round step this close.
_SNAP_RATIO = 1.25


@dataclass
class SeriesFrame:
    """One regular series: the grid, its values, and how the input rows map onto it.

    ``values`` is ``(n_points, n_channels)`` float64 without NaN; ``observed`` is
    False where a value was filled; ``row_points[i]`` is the grid position of the
    input row ``rows[i]`` (positions in the user's table, in table order).
    """

    index: pd.DatetimeIndex
    values: np.ndarray
    channels: list[str]
    observed: np.ndarray
    freq: pd.Timedelta
    row_points: np.ndarray
    rows: np.ndarray
    group: object | None = None
    notes: list[str] = field(default_factory=list)
    gaps: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The values as a DataFrame indexed by time, one column per channel.

        >>> idx = pd.date_range("2026-01-01", periods=2, freq="1h")
        >>> SeriesFrame(idx, np.array([[1.0], [2.0]]), ["cpu"], np.array([True, True]),
        ...             pd.Timedelta("1h"), np.array([0, 1]), np.array([0, 1])).to_frame()
                             cpu
        2026-01-01 00:00:00  1.0
        2026-01-01 01:00:00  2.0
        """
        return pd.DataFrame(self.values, index=self.index, columns=self.channels)


class PreparedSeries(list[SeriesFrame]):
    """The series of :func:`prepare_series`, in group order, plus what concerns the table.

    ``notes`` holds the lines about the table as a whole (rows left out, columns
    not used, groups skipped); each series has its own ``notes``. ``unscored``
    holds the positions of the rows that are in no series (they get no score).
    """

    def __init__(
        self,
        frames: Sequence[SeriesFrame] = (),
        *,
        notes: Sequence[str] = (),
        unscored: np.ndarray | None = None,
        group: str | None = None,
    ) -> None:
        super().__init__(frames)
        self.notes = list(notes)
        self.unscored = np.zeros(0, dtype=np.int64) if unscored is None else unscored
        self.group = group

    def all_notes(self) -> list[str]:
        """Every note: the table's, then each series' (prefixed by its group when grouped).

        >>> PreparedSeries(notes=["column 'id' not used"]).all_notes()
        ["column 'id' not used"]
        """
        out = list(self.notes)
        for s in self:
            prefix = f"{self.group}={s.group}: " if self.group is not None else ""
            out += [prefix + n for n in s.notes]
        return out


# -- the front door ---------------------------------------------------------------------


def prepare_series(
    data: pd.DataFrame,
    time: str,
    value: str | Sequence[str] | None = None,
    group: str | None = None,
    freq: str | pd.Timedelta | None = None,
    fill: str = "auto",
    *,
    exclude: Sequence[str] = (),
) -> PreparedSeries:
    """One regular, gap-free :class:`SeriesFrame` per group of ``data``, by the rules above.

    ``time`` names the time column (or the index, by its name); ``value`` the
    value column(s), all numeric ones when None; ``group`` the column whose
    values split the table into series; ``freq`` the step (``"5min"``,
    ``pd.Timedelta("1h")``) when it should not be inferred; ``fill`` the gap
    policy (``"auto"``, ``"linear"`` or ``"ffill"``); ``exclude`` columns never
    used as values (a label column). Returns a list of series, with the notes
    about the whole table in its ``notes``.

    >>> df = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=24, freq="1D"),
    ...                    "host": ["a", "b"] * 12, "load": np.arange(24.0) % 7})
    >>> [(s.group, s.freq.days, s.values[:, 0].tolist()[:3]) for s in
    ...  prepare_series(df, time="t", group="host")]
    [('a', 2, [0.0, 2.0, 4.0]), ('b', 2, [1.0, 3.0, 5.0])]
    >>> prepare_series(df, time="when")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Column 'when' given as time= is not in the table; ...
    """
    check_frame(data)
    if not isinstance(fill, str) or fill.strip().lower() not in FILLS:
        raise AnomalyzerError(f"Unknown fill={fill!r}; use one of: {', '.join(FILLS)}.")
    fill = fill.strip().lower()
    if len(data) == 0:
        raise AnomalyzerError("The table has no rows; pass a table with at least one row.")
    lookup = column_lookup(data)
    names = _list(lookup)
    step = _parse_freq(freq)

    time = str(time)
    time_col = _time_column(data, lookup, time, names)
    group = _check_group(group, lookup, time, names)
    excluded = _check_exclude(exclude, lookup, names)
    channels, notes = _value_columns(data, lookup, time, group, value, excluded)

    stamps = parse_timestamps(time_col, time, notes)
    tz = stamps.tz
    try:
        ns = stamps.as_unit("ns").asi8
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        far = stamps[(stamps.year < 1678) | (stamps.year > 2261)][0]
        raise AnomalyzerError(
            f"Column {time!r} has timestamps outside the years 1678 to 2261 (such as {far}); "
            "fix those rows or pass another column as time=."
        ) from None
    valid = ~np.asarray(stamps.isna())
    n_rows = len(data)
    if not valid.all():
        bad = np.flatnonzero(~valid)
        shown = _example(time_col, bad)
        notes.append(
            f"{_count(bad.size, 'row')} with a missing or unreadable timestamp in {time!r}"
            f"{f' ({shown[2:]})' if shown else ''} left out; {_no_score(bad.size)}"
        )

    values = np.empty((n_rows, len(channels)), dtype=np.float64)
    for j, name in enumerate(channels):
        values[:, j] = numeric_values(data[lookup[name]])

    codes, keys = _group_codes(data, lookup, group, valid, notes)
    keep = np.flatnonzero(valid & (codes >= 0))
    # The rows of each group together, in table order, by one stable sort on the group
    # code (a linear-time radix sort for small integer codes); each group is then
    # sorted by time on its own. The per-group work is a handful of array operations,
    # not a pandas groupby.
    code_type = np.int16 if len(keys) < 2**15 else np.int64
    order = keep[np.argsort(codes[keep].astype(code_type), kind="stable")]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(codes[order], minlength=len(keys)))))

    frames: list[SeriesFrame] = []
    skipped: list[str] = []
    unscored = [np.flatnonzero(~(valid & (codes >= 0)))]
    for g, key in enumerate(keys):
        rows = order[bounds[g] : bounds[g + 1]]
        if rows.size == 0:
            continue
        result = _prepare_one(ns[rows], values[rows], rows, channels, tz, step, fill, key)
        if isinstance(result, str):
            if group is None:
                raise AnomalyzerError(f"Column {time!r}: {result}.")
            skipped.append(f"{group}={key}")
            notes.append(f"{group}={key} skipped: {result}; its rows get no score")
            unscored.append(rows)
            continue
        frames.append(result)
    if not frames:
        raise AnomalyzerError(
            f"No group of column {group!r} could be prepared ({len(skipped)} skipped, such as "
            f"{skipped[0]}: see the notes); each needs at least {MIN_POINTS} points with a value."
        )
    return PreparedSeries(
        frames, notes=notes, unscored=np.sort(np.concatenate(unscored)), group=group
    )


def _time_column(data: pd.DataFrame, lookup: dict[str, Any], time: str, names: str) -> pd.Series:
    """The time column (or the index of that name), or one sentence naming the columns."""
    if time in lookup:
        return data[lookup[time]]
    if data.index.name is not None and str(data.index.name) == time:
        return pd.Series(data.index, name=time)
    raise AnomalyzerError(
        f"Column {time!r} given as time= is not in the table; use one of: {names}."
    )


def _check_group(group: str | None, lookup: dict[str, Any], time: str, names: str) -> str | None:
    """The group column's name, checked against the table and the time column."""
    if group is None:
        return None
    group = str(group)
    if group not in lookup:
        raise AnomalyzerError(
            f"Column {group!r} given as group= is not in the table; use one of: {names}."
        )
    if group == time:
        raise AnomalyzerError(f"Column {time!r} is both time= and group=; group by another column.")
    return group


def _check_exclude(exclude: str | Sequence[str], lookup: dict[str, Any], names: str) -> set[str]:
    """The names in ``exclude``, each checked against the table."""
    excluded = {str(exclude)} if isinstance(exclude, str) else {str(e) for e in exclude}
    for name in sorted(excluded):
        if name not in lookup:
            raise AnomalyzerError(
                f"Column {name!r} given in exclude= is not in the table; use one of: {names}."
            )
    return excluded


def _group_codes(
    data: pd.DataFrame,
    lookup: dict[str, Any],
    group: str | None,
    valid: np.ndarray,
    notes: list[str],
) -> tuple[np.ndarray, list[Any]]:
    """Each row's group code (-1 for no group value) and the group keys, in order of appearance."""
    if group is None:
        return np.zeros(len(data), dtype=np.int64), [None]
    codes, uniques = pd.factorize(data[lookup[group]], use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    missing_group = (codes < 0) & valid
    if missing_group.any():
        k = int(missing_group.sum())
        notes.append(f"{_count(k, 'row')} with no value in {group!r} left out; {_no_score(k)}")
    return codes, list(uniques.tolist())


# -- timestamps -------------------------------------------------------------------------


def parse_timestamps(
    column: pd.Series, name: str, notes: list[str] | None = None
) -> pd.DatetimeIndex:
    """Timestamps of ``column`` (one per row, NaT where missing), by the rules above.

    Raises ``AnomalyzerError`` naming the column when no value is a timestamp
    or when more than 1% of the rows are missing or unreadable. Text written in
    several formats, or as numeric day/month dates, is read value by value with
    the day/month order settled from the values (see
    :mod:`anomalyzer.data.datetext`); what was decided is appended to ``notes``.

    >>> parse_timestamps(pd.Series(["2026-03-02 10:00", "2026-03-02T10:05:00"]), "t").tolist()
    [Timestamp('2026-03-02 10:00:00'), Timestamp('2026-03-02 10:05:00')]
    >>> parse_timestamps(pd.Series([1772445600, 1772445900]), "t")[1]
    Timestamp('2026-03-02 10:05:00+0000', tz='UTC')
    >>> parse_timestamps(pd.Series(["2026-03-02", "soon", "later"] + ["2026-03-03"] * 97), "t")
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Column 't' has 2 values of 100 (2.0%) that are missing or not a timestamp, such as 'soon'; fix those rows (up to 1% are left out on their own), or pass another column as time=.
    """
    s = column if isinstance(column, pd.Series) else pd.Series(column)
    s = s.reset_index(drop=True)
    dtype = s.dtype
    if ptypes.is_datetime64_any_dtype(dtype):
        parsed = pd.DatetimeIndex(s)
    elif ptypes.is_bool_dtype(dtype):
        raise AnomalyzerError(
            f"Column {name!r} holds true/false values, not timestamps; pass the column that "
            "holds the times as time=."
        )
    elif ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype):
        if ptypes.is_integer_dtype(dtype) and not s.hasnans:
            # Integers as they are: nanoseconds since 1970 do not survive a float64.
            parsed = _from_epoch(s.to_numpy(dtype=np.int64), name)
        else:
            parsed = _from_epoch(numeric_values(s), name)
    elif ptypes.is_timedelta64_dtype(dtype):
        raise AnomalyzerError(
            f"Column {name!r} holds durations, not timestamps; pass the column that holds the "
            "times as time=."
        )
    else:
        parsed = _parse_text(s, name, notes if notes is not None else [])
    _check_share(s, parsed, name)
    return parsed


def _from_epoch(x: np.ndarray, name: str) -> pd.DatetimeIndex:
    """Numbers since 1970-01-01 UTC, the unit chosen by the size of the typical value."""
    if x.dtype.kind in "iu":
        size = float(np.median(np.abs(x.astype(np.float64))))
        unit = "s" if size < 1e11 else "ms" if size < 1e14 else "us" if size < 1e17 else "ns"
        try:
            return pd.DatetimeIndex(pd.to_datetime(x.astype(np.int64), unit=unit, utc=True))
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            x = x.astype(np.float64)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return pd.DatetimeIndex(np.full(x.size, np.datetime64("NaT"), "datetime64[ns]"), tz="UTC")
    size = float(np.median(np.abs(finite)))
    unit = "s" if size < 1e11 else "ms" if size < 1e14 else "us" if size < 1e17 else "ns"
    try:
        whole = np.all(finite == np.floor(finite)) and np.abs(finite).max() < 2.0**62
        if whole:
            # Whole numbers in integers: float64 would round nanoseconds past 2**53.
            ints = np.where(np.isfinite(x), x, 0).astype(np.int64)
            out = pd.to_datetime(ints, unit=unit, utc=True).where(np.isfinite(x))
        else:
            out = pd.to_datetime(x, unit=unit, utc=True)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise AnomalyzerError(
            f"Column {name!r} holds numbers that are not times in {unit} since 1970 (such as "
            f"{_scalar(finite[np.argmax(np.abs(finite))])}); pass the column that holds the "
            "times as time=."
        ) from None
    return pd.DatetimeIndex(out)


def _parse_text(s: pd.Series, name: str, notes: list[str]) -> pd.DatetimeIndex:
    """Text (or other objects) as timestamps: dates by format, else epoch numbers."""
    if ptypes.is_object_dtype(s.dtype) and pd.api.types.infer_dtype(s, skipna=True) in (
        "datetime",
        "datetime64",
        "date",
    ):
        try:
            return pd.DatetimeIndex(pd.to_datetime(s))
        except (ValueError, TypeError, OverflowError):
            # Several time zones (or a mix with plain times): UTC is what they share.
            return pd.DatetimeIndex(pd.to_datetime(s, errors="coerce", utc=True))
    text = s if ptypes.is_string_dtype(s.dtype) and not ptypes.is_object_dtype(s.dtype) else None
    if text is None or isinstance(s.dtype, pd.CategoricalDtype):
        text = as_text(s)
    sample = _spread_sample(text.dropna())
    if sample.empty:
        raise AnomalyzerError(
            f"Column {name!r} has no values; pass the column that holds the times as time=."
        )
    sample = sample.str.strip()
    fmt = date_format(sample)
    if fmt is not None and needs_care(text):
        # Several formats, or day/month order to settle: decided from every value and
        # said in the notes, never swapped in silence.
        parsed, said = read_date_text(text.str.strip(), name)
        notes += [f"{name!r}: {note}" for note in said]
        return pd.DatetimeIndex(parsed)
    if fmt is not None:
        parsed = parse_dates(text, fmt)
        if parsed.isna().sum() > text.isna().sum():
            # Stray spaces around the values defeat the fast formats; strip and retry.
            stripped = text.str.strip()
            parsed = parse_dates(stripped.where(stripped != ""), fmt)
        return pd.DatetimeIndex(parsed)
    numbers = pd.to_numeric(sample, errors="coerce")
    if numbers.notna().mean() >= 1.0 - _MAX_BAD_SHARE:
        x = pd.to_numeric(text.str.strip(), errors="coerce")
        return _from_epoch(np.asarray(x, dtype=np.float64), name)
    bad = sample[pd.to_datetime(sample, errors="coerce", format="mixed").isna()]
    example = bad.iloc[0] if len(bad) else sample.iloc[0]
    raise AnomalyzerError(
        f"Column {name!r} does not hold timestamps pandas can read (such as {example!r}); "
        "write them like '2026-03-02 10:00' (ISO 8601), or pass another column as time=."
    )


def _check_share(s: pd.Series, parsed: pd.DatetimeIndex, name: str) -> None:
    """Error when more than 1% of the rows have no usable timestamp."""
    bad = np.flatnonzero(np.asarray(parsed.isna()))
    n = len(s)
    if bad.size == 0:
        return
    if bad.size == n:
        shown = _example(s, bad)
        what = f"no readable timestamp{shown}" if shown else "no values"
        raise AnomalyzerError(
            f"Column {name!r} has {what}; pass the column that holds the times as time=."
        )
    if bad.size > _MAX_BAD_SHARE * n:
        shown = _example(s, bad)
        verb = "is" if bad.size == 1 else "are"
        raise AnomalyzerError(
            f"Column {name!r} has {_count(bad.size, 'value')} of {n:,} "
            f"({bad.size / n:.1%}) that {verb} missing or not a timestamp{shown}; fix those "
            "rows (up to 1% are left out on their own), or pass another column as time=."
        )


def _example(s: pd.Series, bad: np.ndarray) -> str:
    """``, such as 'n/a'`` for the first non-missing value among positions ``bad``."""
    values = s.iloc[bad[:1000]]
    present = values[values.notna()]
    if ptypes.is_string_dtype(present.dtype) or ptypes.is_object_dtype(present.dtype):
        present = present[present.astype(str).str.strip() != ""]
    if present.empty:
        return ""
    return f", such as {_scalar(present.iloc[0])!r}"


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _spread_sample(s: pd.Series, n: int = 1000) -> pd.Series:
    if len(s) <= n:
        return s
    return s.iloc[np.linspace(0, len(s) - 1, n).astype(np.int64)]


# -- frequency --------------------------------------------------------------------------


def infer_frequency(timestamps: pd.DatetimeIndex) -> pd.Timedelta:
    """The step of ``timestamps``: the usual gap, or a round step near the median one.

    >>> infer_frequency(pd.date_range("2026-03-01", periods=5, freq="5min"))
    Timedelta('0 days 00:05:00')
    >>> jittered = pd.to_datetime(["2026-03-01 10:00:00", "2026-03-01 10:04:58",
    ...                            "2026-03-01 10:10:03", "2026-03-01 10:14:59"])
    >>> infer_frequency(jittered)
    Timedelta('0 days 00:05:00')
    """
    idx = pd.DatetimeIndex(timestamps)
    idx = idx[~idx.isna()]
    ns = np.unique(idx.as_unit("ns").asi8)
    if ns.size < 2:
        raise AnomalyzerError(
            "infer_frequency needs at least two distinct timestamps; pass more of them, "
            "or give the step as freq=."
        )
    step, _ = _infer_step(ns)
    return pd.Timedelta(step, unit="ns")


def _infer_step(ut: np.ndarray) -> tuple[int, bool]:
    """(step in ns, whether it is the exact usual gap) from sorted distinct times in ns."""
    d = np.diff(ut)
    values, counts = np.unique(d, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] * 2 >= d.size:
        return int(values[best]), True
    median = float(np.median(d))
    nice = min(_NICE_STEPS, key=lambda v: abs(math.log(median / v)))
    if abs(math.log(median / nice)) <= math.log(_SNAP_RATIO):
        return nice, False
    # No round step nearby: the median, to the second (or millisecond below a second).
    unit = _NS["s"] if median >= _NS["s"] else _NS["ms"] if median >= _NS["ms"] else 1
    return max(1, round(median / unit)) * unit, False


def _parse_freq(freq: str | pd.Timedelta | None) -> int | None:
    """``freq=`` as a positive number of nanoseconds, or None."""
    if freq is None:
        return None
    fixed = f"freq={freq!r} is not a fixed step; use one such as '5min', '1h' or '1D'."
    try:
        if not isinstance(freq, str):
            step = pd.Timedelta(freq)
        else:
            try:
                offset = pd.tseries.frequencies.to_offset(freq)
            except ValueError:
                # Not an offset alias: a plain duration such as "5 minutes".
                step = pd.Timedelta(freq)
            else:
                # Days and weeks are taken as 24 hours and 7 days (times are compared in
                # UTC); months, business days and the like have no fixed length.
                if isinstance(offset, pd.offsets.Day):
                    step = pd.Timedelta(days=offset.n)
                elif isinstance(offset, pd.offsets.Week):
                    step = pd.Timedelta(days=7 * offset.n)
                elif isinstance(offset, pd.offsets.Tick):
                    step = pd.Timedelta(offset)
                else:
                    raise AnomalyzerError(fixed)
    except (ValueError, TypeError):
        raise AnomalyzerError(fixed) from None
    if pd.isna(step) or step <= pd.Timedelta(0):
        raise AnomalyzerError(f"freq={freq!r} must be a positive step such as '5min' or '1h'.")
    return int(step.value)


# -- value columns ----------------------------------------------------------------------


def _value_columns(
    data: pd.DataFrame,
    lookup: dict[str, Hashable],
    time: str,
    group: str | None,
    value: str | Sequence[str] | None,
    exclude: set[str],
) -> tuple[list[str], list[str]]:
    """The value columns and the notes about numeric columns left out."""
    taken = {time, group} | exclude
    numeric = [
        name
        for name, label in lookup.items()
        if name not in taken and _is_numeric(data[label].dtype, allow_bool=False)
    ]
    shown = ", ".join(numeric[:_MAX_LISTED]) or "none"
    if len(numeric) > _MAX_LISTED:
        shown += f" and {len(numeric) - _MAX_LISTED} more"
    if value is not None:
        wanted = [value] if isinstance(value, str) else [str(v) for v in value]
        wanted = list(dict.fromkeys(wanted))
        if not wanted:
            raise AnomalyzerError(
                f"value= is empty; name at least one numeric column (numeric columns: {shown})."
            )
        for name in wanted:
            if name not in lookup:
                raise AnomalyzerError(
                    f"Column {name!r} given as value= is not in the table; numeric columns: "
                    f"{shown}."
                )
            if name == time or name == group:
                role = "time=" if name == time else "group="
                raise AnomalyzerError(
                    f"Column {name!r} is both value= and {role}; pick another value column "
                    f"(numeric columns: {shown})."
                )
            dtype = data[lookup[name]].dtype
            if not _is_numeric(dtype, allow_bool=True):
                raise AnomalyzerError(
                    f"Column {name!r} given as value= is not numeric (it holds {dtype} values); "
                    f"use a numeric column: {shown}."
                )
        return wanted, []
    chosen, notes, reasons = [], [], []
    for name in numeric:
        why = _not_a_value(name, data[lookup[name]])
        if why is None:
            chosen.append(name)
        else:
            reasons.append(f"{name!r} is {why}")
            notes.append(
                f"column {name!r} not used as a value: it is {why}; name it in value= to use it"
            )
    if not chosen:
        others = [n for n in lookup if n not in (time, group)]
        why = "; ".join(reasons) if reasons else "no other column is numeric"
        besides = f"{time!r}" + (f" and {group!r}" if group else "")
        raise AnomalyzerError(
            f"No column to score besides {besides} ({why}); name the numeric column(s) to "
            f"score with value= (columns: {_list(others) or 'none'})."
        )
    return chosen, notes


def _is_numeric(dtype: Any, *, allow_bool: bool) -> bool:
    if ptypes.is_bool_dtype(dtype):
        return allow_bool
    return (
        ptypes.is_numeric_dtype(dtype)
        and not ptypes.is_complex_dtype(dtype)
        and not ptypes.is_timedelta64_dtype(dtype)
    )


def _not_a_value(name: str, s: pd.Series) -> str | None:
    """Why a numeric column is not a value to score, or None when it is one."""
    x = numeric_values(s)
    ok = ~np.isnan(x)
    if not ok.any():
        return "empty (no values)"
    v = x[ok]
    if v.min() == v.max():
        return f"constant (always {_scalar(v[0])})"
    if np.all(v == np.floor(v)):
        # Row numbers count up by one; a counter that only grows is a value to score.
        d = np.diff(v)
        row_number = v.size >= 20 and (bool(np.all(d == 1)) or bool(np.all(d == -1)))
        if row_number or (name_looks_like_id(name) and np.unique(v).size == v.size):
            return "an identifier (whole numbers, unique per row)"
    return None


# -- one series -------------------------------------------------------------------------


def _prepare_one(
    t: np.ndarray,
    v: np.ndarray,
    rows: np.ndarray,
    channels: list[str],
    tz: Any,
    step: int | None,
    fill: str,
    key: Any,
) -> SeriesFrame | str:
    """One series from its rows in table order (``t`` in ns); a reason string if impossible."""
    notes: list[str] = []
    n = t.size
    unsorted = n > 1 and bool(np.any(t[1:] < t[:-1]))
    if unsorted:
        notes.append("timestamps were not sorted; sorted")
        # Stable, so rows with the same timestamp keep their table order.
        by_time = np.argsort(t, kind="stable")
        t, v, rows = t[by_time], v[by_time], rows[by_time]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(t[1:], t[:-1], out=new[1:])
    distinct = t[new]
    if distinct.size < 2:
        return (
            f"only {_count(distinct.size, 'distinct timestamp')} (at least {MIN_POINTS} are needed)"
        )
    if n > distinct.size:
        notes.append(f"{_count(n - distinct.size, 'duplicate timestamp')} averaged")
    given = step is not None
    regular = True
    own_step, own_regular = _infer_step(distinct)
    if step is None:
        step, regular = own_step, own_regular
    # A freq= coarser than the data's own step aggregates: each grid point takes the
    # rows of the step that starts at it, as a resample would. Otherwise each timestamp
    # goes to the nearest grid time, which absorbs jitter on either side.
    coarser = given and step >= 1.5 * own_step
    half = 0 if coarser else step // 2
    # The grid starts at the first timestamp, or, when timestamps fall between grid
    # times, at the round time (in local wall-clock time) at or nearest to it.
    offset = _utc_offset(int(distinct[0]), tz)
    if regular and not np.any((distinct - distinct[0]) % step):
        origin = int(distinct[0])
    else:
        local = int(distinct[0]) + offset
        origin = (local + half) // step * step - offset
    pos = (t - origin + half) // step
    n_points = int(pos[-1]) + 1
    limit = max(_MAX_GRID_RATIO * distinct.size, _MIN_GRID_LIMIT)
    if n_points > limit:
        span = _duration(int(distinct[-1] - distinct[0]))
        return (
            f"its timestamps span {span}, which at a {_step_text(step)} step makes "
            f"{n_points:,} points for {distinct.size:,} timestamps; check for stray timestamps "
            "or give a coarser step with freq="
        )
    moved = int(np.count_nonzero((distinct - origin) % step))
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    merged = distinct.size - starts.size
    if coarser:
        notes.append(
            f"rows averaged per {_step_text(step)} step of freq= ({distinct.size:,} timestamps "
            f"into {starts.size:,} points)"
        )
    elif moved:
        grid = f"the {_step_text(step)} grid of freq=" if given else f"a {_step_text(step)} grid"
        what = "timestamps" if given else "irregular timestamps"
        detail = f"{_count(moved, 'timestamp')} moved to the nearest grid time"
        if merged:
            detail += f", {merged:,} averaged with another in the same grid step"
        notes.append(f"{what} snapped to {grid} ({detail})")

    # Mean per grid point, ignoring missing values: sums and counts per run of rows.
    seen = ~np.isnan(v)
    sums = np.add.reduceat(np.where(seen, v, 0.0), starts, axis=0)
    counts = np.add.reduceat(seen.astype(np.int64), starts, axis=0)
    grid_values = np.full((n_points, v.shape[1]), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        grid_values[pos[starts]] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    has_row = np.zeros(n_points, dtype=bool)
    has_row[pos[starts]] = True

    keep = _channels_with_values(counts, channels, notes)
    if not keep:
        return f"none of {', '.join(map(repr, channels))} has a value"
    names = [channels[j] for j in keep]
    grid_values = grid_values[:, keep]
    with_value = int(np.count_nonzero((~np.isnan(grid_values)).any(axis=1)))
    if with_value < MIN_POINTS:
        return f"only {_count(with_value, 'point')} with a value (at least {MIN_POINTS} are needed)"

    index = _grid_index(origin, n_points, step, tz)
    filled, observed, fill_notes, gaps = _fill(grid_values, has_row, names, index, step, fill)
    notes += fill_notes

    if unsorted:
        back = np.argsort(rows, kind="stable")
        rows, pos = rows[back], pos[back]
    return SeriesFrame(
        index=index,
        values=np.ascontiguousarray(filled),
        channels=names,
        observed=observed,
        freq=pd.Timedelta(step),
        row_points=pos.astype(np.int64),
        rows=rows.astype(np.int64),
        group=key,
        notes=notes,
        gaps=gaps,
    )


def _grid_index(origin: int, n_points: int, step: int, tz: Any) -> pd.DatetimeIndex:
    """The grid's times: ``n_points`` steps from ``origin`` (ns, UTC), in the zone ``tz``."""
    if tz is None:
        return pd.date_range(
            pd.Timestamp(origin, unit="ns"), periods=n_points, freq=pd.Timedelta(step)
        )
    start = pd.Timestamp(origin, unit="ns", tz="UTC").tz_convert(tz)
    return pd.date_range(start, periods=n_points, freq=pd.Timedelta(step))


def _channels_with_values(counts: np.ndarray, channels: list[str], notes: list[str]) -> list[int]:
    """Positions of the channels with at least one value; a note for each left out."""
    keep = [j for j in range(len(channels)) if counts[:, j].any()]
    for j in range(len(channels)):
        if j not in keep:
            notes.append(f"{channels[j]!r} has no value in this series; left out of it")
    return keep


def _utc_offset(ns: int, tz: Any) -> int:
    """The UTC offset in ns at ``ns`` in zone ``tz`` (0 for naive times)."""
    if tz is None:
        return 0
    off = pd.Timestamp(ns, unit="ns", tz="UTC").tz_convert(tz).utcoffset()
    return int(off.total_seconds() * 10**9) if off is not None else 0


# -- filling ----------------------------------------------------------------------------


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the runs of True in ``mask``."""
    d = np.diff(np.r_[0, mask.view(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _fill(
    grid: np.ndarray,
    has_row: np.ndarray,
    names: list[str],
    index: pd.DatetimeIndex,
    step: int,
    fill: str,
) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Fill the NaN of ``grid`` by the policy; (values, observed, notes, gaps)."""
    n = grid.shape[0]
    missing = np.isnan(grid)
    observed = ~missing.any(axis=1)
    out = grid.copy()
    notes: list[str] = []
    long_runs: dict[tuple[int, int, str], list[str]] = {}
    # Grid points without a row are the same for every column: counted once.
    absent_short = 0
    for j, name in enumerate(names):
        miss = missing[:, j]
        if not miss.any():
            continue
        y = out[:, j]
        idx = np.flatnonzero(~miss)
        # Linear interpolation everywhere first; np.interp holds the first and last
        # value beyond the ends, which is the back/forward fill of leading/trailing runs.
        y[miss] = np.interp(np.flatnonzero(miss), idx, y[idx])
        starts, ends = _runs(miss)
        interior = (starts > 0) & (ends < n)
        lead = int(ends[0]) if starts[0] == 0 else 0
        trail = int(n - starts[-1]) if ends[-1] == n else 0
        if lead:
            notes.append(
                f"first {_count(lead, 'value')} of {name} missing; filled with the first observed one"
            )
        if trail:
            notes.append(
                f"last {_count(trail, 'value')} of {name} missing; filled with the last observed one"
            )
        if fill == "ffill":
            last = np.maximum.accumulate(np.where(miss, -1, np.arange(n)))
            inner = miss.copy()
            inner[: lead or 0] = False
            y[inner] = y[last[inner]]
        periods: list[int] | None = None
        short_values = absent = 0
        for a, b in zip(starts[interior], ends[interior], strict=True):
            a, b = int(a), int(b)
            method = "interpolated" if fill != "ffill" else "filled with the previous value"
            if fill == "auto" and b - a > _SHORT_GAP:
                if periods is None:
                    # Only the natural periods of the step are tested (a day, a week):
                    # with a thousand series to fill, the full search would dominate.
                    naturals = candidate_periods(pd.Timedelta(step))
                    periods = detect_periods(
                        y, freq=pd.Timedelta(step), candidates=naturals or None
                    )
                method = _fill_long_gap(y, a, b, periods, step)
            if b - a > _SHORT_GAP:
                long_runs.setdefault((a, b, method), []).append(name)
            else:
                no_row = int(np.count_nonzero(~has_row[a:b]))
                absent += no_row
                short_values += b - a - no_row
        absent_short = max(absent_short, absent)
        if short_values:
            how = "interpolated" if fill != "ffill" else "filled with the previous value"
            notes.append(f"{_count(short_values, 'missing value')} in {name} {how}")
    if absent_short:
        how = "interpolated" if fill != "ffill" else "filled with the previous value"
        notes.insert(0, f"{_count(absent_short, 'missing timestamp')} {how}")
    for k, ((a, b, method), cols) in enumerate(sorted(long_runs.items())):
        if k == _MAX_GAP_NOTES:
            notes.append(f"and {len(long_runs) - k} more gaps filled (see gaps)")
            break
        where = "" if len(cols) == len(names) else f" in {', '.join(cols)}"
        notes.append(
            f"gap of {_duration((b - a + 1) * step)}{where} from {_when(index[a - 1])} to "
            f"{_when(index[b])} {method}"
        )
    starts, ends = _runs(~observed)
    gaps = [(index[a], index[b - 1]) for a, b in zip(starts, ends, strict=True) if b - a > 1]
    return out, observed, notes, gaps


def _fill_long_gap(y: np.ndarray, a: int, b: int, periods: list[int], step: int) -> str:
    """Fill ``y[a:b]`` from one season away when a period allows; say how it was filled."""
    for p in periods:
        if _seasonal_fill(y, a, b, p):
            before = a - p >= 0
            return (
                f"filled with the value one season {'earlier' if before else 'later'}"
                f" ({_step_text(p * step)})"
            )
    return "interpolated linearly"


def _seasonal_fill(y: np.ndarray, a: int, b: int, p: int) -> bool:
    """Fill ``y[a:b]`` with the values one period ``p`` earlier (else later), level-matched.

    The season before the gap is repeated across it; the difference between the
    observed values and that repetition just before and just after the gap is
    bridged linearly, so a level that moved during the gap is met at both ends.
    Returns False when there is not a full period of data on either side.
    """
    n = y.size
    if a - p < 0:
        if b + p > n:
            return False
        # One season later: the same filling on the series read backwards.
        return _seasonal_fill(y[::-1], n - b, n - a, p)
    gap = b - a
    k_after = min(max(1, p // 4), n - b)
    base = y[a - p : a]
    ext = np.tile(base, -(-(gap + k_after) // p))[: gap + k_after]
    k_before = min(max(1, p // 4), a - p)
    before = (
        float(np.mean(y[a - k_before : a] - y[a - p - k_before : a - p])) if k_before > 0 else 0.0
    )
    after = float(np.mean(y[b : b + k_after] - ext[gap:]))
    ramp = before + (after - before) * np.arange(1, gap + 1) / (gap + 1)
    y[a:b] = ext[:gap] + ramp
    return True


# -- text -------------------------------------------------------------------------------


def _list(names: Any) -> str:
    names = list(names)
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def _no_score(k: int) -> str:
    return "it gets no score" if k == 1 else "they get no score"


def _count(k: int, noun: str) -> str:
    """``1 row`` / ``1,234 rows``."""
    return f"{k:,} {noun}{'' if k == 1 else 's'}"


def _step_text(ns: int) -> str:
    """A step in its largest whole unit: ``5 min``, ``1 h``, ``1 day``, ``250 ms``."""
    for unit, size in (("day", _NS["D"]), ("h", _NS["h"]), ("min", _NS["min"]), ("s", _NS["s"])):
        if ns % size == 0:
            k = ns // size
            return f"{k} {unit}{'s' if unit == 'day' and k != 1 else ''}"
    if ns % _NS["ms"] == 0:
        return f"{ns // _NS['ms']} ms"
    return f"{ns / 1e6:g} ms"


def _duration(ns: int) -> str:
    """A span in its two largest units: ``3 days 4 hours``, ``45 minutes``."""
    parts = []
    rest = int(ns)
    for unit, size in (
        ("day", _NS["D"]),
        ("hour", _NS["h"]),
        ("minute", _NS["min"]),
        ("second", _NS["s"]),
        ("millisecond", _NS["ms"]),
    ):
        k, rest = divmod(rest, size)
        if k:
            parts.append(_count(int(k), unit))
        if len(parts) == 2:
            break
    return " ".join(parts) if parts else f"{ns} ns"


def _when(ts: pd.Timestamp) -> str:
    """``2026-03-02 10:00`` (with seconds only when they are not zero)."""
    if ts.second or ts.microsecond or ts.nanosecond:
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    return ts.strftime("%Y-%m-%d %H:%M")
