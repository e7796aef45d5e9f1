"""The time view of a series detection: each series over time with its band, flags and gaps.

A series result (``anomalyzer.detect(df, time=...)``) carries ``points``: one
row per regular timestamp of each series, with ``timestamp``, the value
channels, ``expected_<ch>``, ``lower_<ch>`` and ``upper_<ch>`` per channel,
``anomaly_score``, ``is_anomaly``, ``observed`` (False where a gap was
filled), and ``group`` and ``label`` when there are several series or a label
column. :func:`collect_series` turns it into report content: one figure per
series (a panel per channel above the anomaly score), the top flagged points
and the data defects handled; :func:`anomalyzer.report.render.render_series`
lays it out as a page.

Long series are drawn reduced (:func:`keep_points`: the lowest and highest
value of each stretch, every flagged point, every gap edge), so a page of a
dozen long series stays a few megabytes.

>>> t = pd.date_range("2024-01-01", periods=48, freq="h")
>>> v = np.sin(np.arange(48) / 24 * 2 * np.pi); v[30] = 5.0
>>> points = pd.DataFrame({"timestamp": t, "cpu": v, "expected_cpu": v * 0,
...     "lower_cpu": v * 0 - 1.5, "upper_cpu": v * 0 + 1.5, "anomaly_score": np.abs(v),
...     "is_anomaly": v > 2, "observed": np.arange(48) != 10})
>>> fig = series_figure(points, ["cpu"], title="cpu", threshold=2.0)
>>> [trace.name for trace in fig.data]  # doctest: +NORMALIZE_WHITESPACE
['gaps filled (1)', 'flagged periods (1)', 'lower', 'expected band', 'expected', 'cpu',
 'flagged (1)', 'gaps filled (1)', 'flagged periods (1)', 'anomaly score', 'threshold 2',
 'flagged (1)']
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from anomalyzer.errors import AnomalyzerError
from anomalyzer.report.content import MAX_TABLE_ROWS, Section, _cell, _short_source, dates
from anomalyzer.report.figures import ANOMALY, NORMAL, _layout

#: Series drawn at most; the ones with the most flagged points come first.
MAX_SERIES = 12
#: Points drawn per series line at most, and at least when a page holds many series.
MAX_LINE_POINTS = 5_000
MIN_LINE_POINTS = 1_000
#: Points per curve shared by all the series of a page (see :func:`line_limit`).
PAGE_POINTS = 30_000
#: Flagged points at most this many points apart make one flagged period.
FLAG_JOIN = 2

BAND = "rgba(114, 183, 178, 0.30)"
EXPECTED = "#3B8C86"
SCORE = "#61707F"
PERIOD_FILL = "rgba(228, 87, 86, 0.13)"
LABEL_FILL = "rgba(245, 133, 24, 0.28)"
GAP_FILL = "rgba(97, 112, 127, 0.22)"


class SeriesLike(Protocol):
    """What the report reads of a series result."""

    @property
    def points(self) -> pd.DataFrame: ...

    @property
    def frame(self) -> pd.DataFrame: ...

    @property
    def model(self) -> Any: ...


@dataclass
class SeriesContent:
    """Everything the series page's template needs, as plain values and figures."""

    title: str
    summary: list[tuple[str, str]]
    sections: list[Section]
    table_head: list[str]
    table_rows: list[list[tuple[str, str]]]
    table_note: str
    notes: list[str]
    generated: str
    sampling_note: str


@dataclass
class _Series:
    """One series of the points table, in time order, with what the page says about it."""

    key: Hashable | None
    points: pd.DataFrame
    x: np.ndarray
    step: float
    n_flagged: int
    top_score: float
    n_periods: int
    n_labelled: int
    gaps: int
    gap_points: int


def is_series_result(obj: object) -> TypeGuard[SeriesLike]:
    """Whether ``obj`` is a series detection (it has ``points`` and ``frame``).

    >>> from types import SimpleNamespace
    >>> is_series_result(SimpleNamespace(points=None, frame=None)), is_series_result("x")
    (True, False)
    """
    return hasattr(obj, "points") and hasattr(obj, "frame")


def to_ms(timestamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Milliseconds since the epoch of the wall-clock times (NaN for NaT), as plotly dates.

    Time-zone-aware times keep their local wall-clock time, the time a reader
    of that zone expects to see on the axis.

    >>> to_ms(pd.Series(pd.to_datetime(["1970-01-01 00:00:01", None]))).tolist()
    [1000.0, nan]
    >>> to_ms(pd.Series(pd.to_datetime(["1970-01-01 01:00"]).tz_localize("Europe/Paris")))
    array([3600000.])
    """
    ts = pd.Series(pd.to_datetime(timestamps))
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    ns = ts.to_numpy(dtype="datetime64[ns]")
    return np.where(np.isnat(ns), np.nan, ns.astype(np.int64) / 1e6)


def runs(mask: Any, *, join: int = 0) -> list[tuple[int, int]]:
    """First and last positions of the runs of True in ``mask``.

    Runs at most ``join`` False values apart are merged into one.

    >>> runs([0, 1, 1, 0, 0, 1, 0, 1])
    [(1, 2), (5, 5), (7, 7)]
    >>> runs([0, 1, 1, 0, 0, 1, 0, 1], join=1)
    [(1, 2), (5, 7)]
    """
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > join + 1)
    starts = idx[np.r_[0, breaks + 1]]
    ends = idx[np.r_[breaks, idx.size - 1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def keep_points(curves: Sequence[np.ndarray], keep: np.ndarray, limit: int) -> np.ndarray:
    """Sorted positions to draw of curves of equal length: at most about ``limit`` of them.

    All positions when the curves are short enough. Otherwise the positions
    in ``keep`` (the flagged points: all of them, even past ``limit``), the
    edges of every run of missing values (so lines still break at gaps), and
    the lowest and highest point of each curve in each stretch of equal
    length: min/max decimation, which keeps every spike and the outline of
    a band, where a sample of every k-th point would miss them.

    >>> x = np.sin(np.arange(100_000) / 500)
    >>> x[54_321] = 9.0
    >>> drawn = keep_points([x], np.array([54_321]), 2_000)
    >>> drawn.size <= 2_000, 54_321 in drawn, bool(x[drawn].min() == x.min())
    (True, True, True)
    """
    n = len(curves[0]) if len(curves) else 0
    if n <= limit:
        return np.arange(n)
    edges = [np.array([0, n - 1]), np.asarray(keep, dtype=np.int64)]
    for curve in curves:
        finite = np.isfinite(curve)
        change = np.flatnonzero(finite[1:] != finite[:-1])
        edges += [change, change + 1]
    must = np.unique(np.concatenate(edges))
    room = limit - must.size
    if room <= 0:
        return must
    # Extremes of different curves often fall on the same points: start with
    # as many stretches as if they all did, and shorten them until it fits.
    buckets = max(room // 2, 1)
    for _ in range(12):
        out = np.unique(np.concatenate([must, *(_extremes(c, buckets) for c in curves)]))
        if out.size <= limit or buckets == 1:
            break
        buckets = max(1, min(buckets - 1, int(buckets * room / (out.size - must.size))))
    return out


def _extremes(curve: np.ndarray, buckets: int) -> np.ndarray:
    """Positions of the lowest and highest finite value in each of ``buckets`` equal stretches."""
    n = len(curve)
    width = math.ceil(n / buckets)
    padded = np.full(math.ceil(n / width) * width, np.nan)
    padded[:n] = curve
    block = padded.reshape(-1, width)
    finite = np.isfinite(block)
    base = np.arange(block.shape[0]) * width
    lo = base + np.where(finite, block, np.inf).argmin(axis=1)
    hi = base + np.where(finite, block, -np.inf).argmax(axis=1)
    found = finite.any(axis=1)
    return np.concatenate([lo[found], hi[found]])


def line_limit(n_series: int, n_channels: int) -> int:
    """Points drawn per series line on a page of ``n_series`` series of ``n_channels`` channels.

    A page shares :data:`PAGE_POINTS` points per curve between its series, so
    that a page of a dozen series weighs about what a page of one does.

    >>> line_limit(1, 1), line_limit(12, 1), line_limit(12, 6)
    (5000, 2500, 1000)
    """
    share = PAGE_POINTS * 2 // (max(n_series, 1) * (max(n_channels, 1) + 1))
    return int(min(max(share, MIN_LINE_POINTS), MAX_LINE_POINTS))


def duration(ms: float) -> str:
    """A length of time in words.

    >>> duration(86_400_000), duration(7 * 86_400_000), duration(3_600_000), duration(90_000)
    ('1 day', '7 days', '1 h', '1.5 min')
    """
    if not math.isfinite(ms) or ms <= 0:
        return "n/a"
    for size, unit in ((86_400_000, "day"), (3_600_000, "h"), (60_000, "min"), (1_000, "s")):
        if ms >= size:
            count = ms / size
            plural = "s" if unit == "day" and count != 1 else ""
            return f"{count:.3g} {unit}{plural}"
    return f"{ms:.3g} ms"


def _floats(points: pd.DataFrame, column: str) -> np.ndarray:
    if column not in points.columns:
        return np.full(len(points), np.nan)
    return pd.to_numeric(points[column], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def _bools(points: pd.DataFrame, column: str, default: bool) -> np.ndarray:
    if column not in points.columns:
        return np.full(len(points), default)
    return points[column].fillna(default).to_numpy(dtype=bool)


def _labelled(points: pd.DataFrame, label: str | None) -> np.ndarray | None:
    if label is None or label not in points.columns:
        return None
    return (pd.to_numeric(points[label], errors="coerce") == 1).to_numpy(dtype=bool)


def _spans(
    x: np.ndarray, mask: np.ndarray, step: float, join: int = 0
) -> list[tuple[float, float]]:
    """The runs of ``mask`` as time spans, widened by half a step so one point has a width."""
    half = step / 2.0
    return [(x[a] - half, x[b] + half) for a, b in runs(mask, join=join)]


def _shade(
    spans: list[tuple[float, float]],
    y: tuple[float, float],
    *,
    name: str,
    colour: str,
    group: str,
    legend: bool,
) -> go.Scatter:
    """One trace shading every span over the whole height ``y`` of a panel."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    lo, hi = y
    for a, b in spans:
        xs += [a, a, b, b, a, None]
        ys += [lo, hi, hi, lo, lo, None]
    # A filled trace rather than layout shapes: it sits under the lines, has a
    # legend entry that hides it, and stays one path however many spans.
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        fill="toself",
        fillcolor=colour,
        line={"width": 0},
        name=f"{name} ({len(spans):,})",
        legendgroup=group,
        showlegend=legend,
        hoverinfo="skip",
    )


def _extent(*arrays: np.ndarray) -> tuple[float, float]:
    """A panel's y range: the finite values, with a margin."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    pad = (hi - lo) * 0.06 if hi > lo else max(abs(hi) * 0.1, 1.0)
    return lo - pad, hi + pad


def series_figure(
    points: pd.DataFrame,
    channels: Sequence[str],
    *,
    title: str,
    time_name: str = "timestamp",
    threshold: float | None = None,
    label: str | None = "label",
    limit: int = MAX_LINE_POINTS,
) -> go.Figure:
    """One series over time: a panel per channel above a panel of the anomaly score.

    Each channel's panel holds the values (broken where a gap was filled),
    the expected band (filled between ``lower_<ch>`` and ``upper_<ch>``) and
    the expected value, the flagged points as red markers, and shaded spans:
    flagged periods in red, labelled anomaly windows in orange, filled gaps
    in grey. Series longer than ``limit`` points are drawn reduced (see
    :func:`keep_points`); the spans and markers always use every point.
    """
    pts = points.sort_values("timestamp", kind="stable")
    x = to_ms(pts["timestamp"])
    tz = getattr(pts["timestamp"].dt, "tz", None)
    step = float(np.nanmedian(np.diff(x))) if len(x) > 1 else 0.0
    step = step if math.isfinite(step) else 0.0
    flags = _bools(pts, "is_anomaly", False)
    observed = _bools(pts, "observed", True)
    labelled = _labelled(pts, label)
    scores = _floats(pts, "anomaly_score")
    values = {ch: np.where(observed, _floats(pts, ch), np.nan) for ch in channels}
    bands = {
        ch: [_floats(pts, f"{k}_{ch}") for k in ("lower", "upper", "expected")] for ch in channels
    }
    curves = [*values.values(), *(c for band in bands.values() for c in band), scores]
    flagged = np.flatnonzero(flags)
    drawn = keep_points(curves, flagged, limit)
    xd = x[drawn]

    spans = [
        ("gaps filled", _spans(x, ~observed, step), GAP_FILL, "gaps"),
        ("labelled windows", _spans(x, labelled, step) if labelled is not None else [],
         LABEL_FILL, "labels"),
        ("flagged periods", _spans(x, flags, step, FLAG_JOIN), PERIOD_FILL, "periods"),
    ]  # fmt: skip
    n = len(channels)
    fig = make_subplots(
        rows=n + 1,
        cols=1,
        shared_xaxes=True,
        row_heights=[3.0] * n + [1.4],
        vertical_spacing=min(0.06, 0.25 / (n + 1)),
    )
    in_legend: set[str] = set()

    def legend(group: str) -> bool:
        # One legend entry per kind of trace, however many panels draw it.
        first = group not in in_legend
        in_legend.add(group)
        return first

    for row, ch in enumerate(channels, start=1):
        lower, upper, expected = bands[ch]
        y_range = _extent(values[ch], lower, upper, expected)
        for name, where, colour, group in spans:
            if where:
                fig.add_trace(
                    _shade(
                        where, y_range, name=name, colour=colour, group=group, legend=legend(group)
                    ),
                    row=row,
                    col=1,
                )
        if np.isfinite(lower).any() and np.isfinite(upper).any():
            # The band's lower edge, then its upper edge filled down to it.
            # The band's hover says both edges at once.
            fig.add_trace(
                go.Scatter(x=xd, y=lower[drawn], mode="lines", line={"width": 0},
                           name="lower", legendgroup="band", showlegend=False,
                           hoverinfo="skip"),
                row=row, col=1,
            )  # fmt: skip
            fig.add_trace(
                go.Scatter(x=xd, y=upper[drawn], mode="lines", line={"width": 0}, fill="tonexty",
                           fillcolor=BAND, name="expected band", legendgroup="band",
                           showlegend=legend("band"), customdata=lower[drawn],
                           hovertemplate="%{customdata:,.4~g} to %{y:,.4~g}"),
                row=row, col=1,
            )  # fmt: skip
        if np.isfinite(expected).any():
            fig.add_trace(
                go.Scatter(x=xd, y=expected[drawn], mode="lines", name="expected",
                           line={"color": EXPECTED, "width": 1, "dash": "dot"},
                           legendgroup="expected", showlegend=legend("expected"), hovertemplate="%{y:,.4~g}"),
                row=row, col=1,
            )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=xd, y=values[ch][drawn], mode="lines", name=ch,
                       line={"color": NORMAL, "width": 1.3}, legendgroup=f"series-{ch}",
                       hovertemplate="%{y:,.4~g}"),
            row=row, col=1,
        )  # fmt: skip
        marked = flagged[np.isfinite(values[ch][flagged])]
        if marked.size:
            fig.add_trace(
                go.Scatter(x=x[marked], y=values[ch][marked], mode="markers",
                           name=f"flagged ({flagged.size:,})", legendgroup="flagged",
                           showlegend=legend("flagged"), customdata=scores[marked],
                           marker={"color": ANOMALY, "size": 8,
                                   "line": {"width": 1, "color": "#fff"}},
                           hovertemplate="%{y:,.4~g} (score %{customdata:.3~g})"),
                row=row, col=1,
            )  # fmt: skip
        fig.update_yaxes(title_text=ch, range=list(y_range), row=row, col=1)

    score_range = _extent(scores, np.array([threshold if threshold is not None else np.nan]))
    for name, where, colour, group in spans:
        if where:
            fig.add_trace(
                _shade(
                    where, score_range, name=name, colour=colour, group=group, legend=legend(group)
                ),
                row=n + 1,
                col=1,
            )
    fig.add_trace(
        go.Scatter(x=xd, y=scores[drawn], mode="lines", name="anomaly score",
                   line={"color": SCORE, "width": 1}, legendgroup="score",
                   hovertemplate="%{y:.3~g}"),
        row=n + 1, col=1,
    )  # fmt: skip
    if threshold is not None and len(x):
        half = step / 2.0
        fig.add_trace(
            go.Scatter(x=[x[0] - half, x[-1] + half], y=[threshold, threshold], mode="lines",
                       name=f"threshold {threshold:.4g}", legendgroup="threshold",
                       line={"color": "#333", "width": 1, "dash": "dash"}, hoverinfo="skip"),
            row=n + 1, col=1,
        )  # fmt: skip
    if flagged.size:
        fig.add_trace(
            go.Scatter(x=x[flagged], y=scores[flagged], mode="markers",
                       name=f"flagged ({flagged.size:,})", legendgroup="flagged",
                       showlegend=legend("flagged"), marker={"color": ANOMALY, "size": 6},
                       hovertemplate="score %{y:.3~g}"),
            row=n + 1, col=1,
        )  # fmt: skip
    fig.update_yaxes(title_text="score", range=list(score_range), row=n + 1, col=1)
    # The x values are epoch milliseconds (compact in the page): say they are dates.
    fig.update_xaxes(type="date")
    fig.update_xaxes(title_text=f"{time_name} ({tz})" if tz else time_name, row=n + 1, col=1)
    _layout(fig, title, height=int(90 + 230 * n + 150))
    fig.update_layout(hovermode="x unified", margin={"t": 80})
    return fig


def _threshold(result: SeriesLike, key: Hashable | None) -> float | None:
    """The model's threshold for series ``key`` (one number, or one per series), if it has one."""
    model = result.model
    for owner, attr in ((model, "threshold"), (model, "threshold_"), (result, "threshold")):
        value = getattr(owner, attr, None)
        if isinstance(value, Mapping):
            value = value.get(key)
        if isinstance(value, int | float | np.number) and math.isfinite(float(value)):
            return float(value)
    return None


def _periods(result: SeriesLike, key: Hashable | None, step: float, single: bool) -> str:
    """The seasonal periods found in series ``key``, in points and as a length of time."""
    periods = getattr(result.model, "periods", None)
    if not isinstance(periods, Mapping) or not periods:
        return ""
    found = periods.get(key)
    if found is None and single and len(periods) == 1:
        found = next(iter(periods.values()))
    if not found:
        return ""
    found = [int(p) for p in found]
    text = ", ".join(f"{p} ({duration(p * step)})" if step > 0 else str(p) for p in found)
    return f"period{'s' if len(found) > 1 else ''}: {text}"


def _split(points: pd.DataFrame, label: str | None) -> list[_Series]:
    """Each series of ``points`` in time order, the ones with the most flagged points first.

    Ties go to the highest score, then to the order the series come in.
    """
    if "group" in points.columns:
        parts = list(points.groupby("group", sort=False, dropna=False, observed=True))
    else:
        parts = [(None, points)]
    out = []
    for key, part in parts:
        part = part.sort_values("timestamp", kind="stable")
        x = to_ms(part["timestamp"])
        step = float(np.nanmedian(np.diff(x))) if len(x) > 1 else 0.0
        flags = _bools(part, "is_anomaly", False)
        labelled = _labelled(part, label)
        gaps = ~_bools(part, "observed", True)
        top = pd.Series(_floats(part, "anomaly_score")).max()
        out.append(
            _Series(
                key=key,
                points=part,
                x=x,
                step=step if math.isfinite(step) else 0.0,
                n_flagged=int(flags.sum()),
                top_score=float(top) if pd.notna(top) else -math.inf,
                n_periods=len(runs(flags, join=FLAG_JOIN)),
                n_labelled=len(runs(labelled)) if labelled is not None else 0,
                gaps=len(runs(gaps)),
                gap_points=int(gaps.sum()),
            )
        )
    order = sorted(range(len(out)), key=lambda i: (-out[i].n_flagged, -out[i].top_score, i))
    return [out[i] for i in order]


def _channels(result: SeriesLike) -> list[str]:
    channels = getattr(result.model, "channels", None)
    if channels:
        return [str(c) for c in channels]
    # Without the model's list, the channels are the columns with an expected value.
    return [c[len("expected_") :] for c in result.points.columns if str(c).startswith("expected_")]


def _check(result: SeriesLike, channels: list[str], label: str | None, time: str | None) -> None:
    points = result.points
    if not isinstance(points, pd.DataFrame):
        raise AnomalyzerError(
            f"A series result's points must be a DataFrame, not a {type(points).__name__}."
        )
    need = ["timestamp", "anomaly_score", "is_anomaly", *channels]
    missing = [c for c in need if c not in points.columns]
    if missing:
        raise AnomalyzerError(
            f"The series result's points lack the column(s) {', '.join(map(repr, missing))}."
        )
    if label is not None and label not in points.columns:
        raise AnomalyzerError(
            f"The label column {label!r} is not in the series result's points; use one of: "
            f"{', '.join(map(str, points.columns))}."
        )
    own = getattr(result.model, "time", None)
    if time is not None and time != own:
        raise AnomalyzerError(
            f"The time column {time!r} cannot be changed: the series were detected along {own!r}."
        )


def collect_series(
    result: SeriesLike,
    *,
    label: str | None = None,
    time: str | None = None,
    source: str | None = None,
) -> SeriesContent:
    """Gather the report of a series detection: summary, time view, top points and notes.

    ``label`` names the 0/1 column of ``result.points`` whose runs of 1 are
    shaded as labelled anomaly windows (``label`` when there is one). ``time``
    may only repeat the time column the series were detected along.
    """
    channels = _channels(result)
    points = result.points
    if label is None and "label" in getattr(points, "columns", ()):
        label = "label"
    _check(result, channels, label, time)
    model = result.model
    time_name = str(getattr(model, "time", None) or "timestamp")
    group_name = getattr(model, "group", None) or "group"
    series = _split(points, label)
    shown = series[:MAX_SERIES]
    limit = line_limit(len(shown), len(channels))
    figs = []
    for s in shown:
        name = f"{group_name} = {s.key}" if s.key is not None else ", ".join(channels)
        period = _periods(result, s.key, s.step, len(series) == 1)
        figs.append(
            series_figure(
                s.points,
                channels,
                title=f"{name}  ·  {period}" if period else name,
                time_name=time_name,
                threshold=_threshold(result, s.key),
                label=label,
                limit=limit,
            )
        )
    n_points = len(points)
    n_flagged = sum(s.n_flagged for s in series)
    intro = _summary_line(series, channels, label, n_points, n_flagged)
    intro += (
        " Each series' values with the band the detector expected (shaded) and its expected "
        "value (dotted); flagged points in red, flagged periods shaded red"
        + (", labelled anomaly windows orange" if label else "")
        + (", filled gaps grey" if any(s.gaps for s in shown) else "")
        + "; below, the anomaly score"
        + (" and the threshold." if any(_threshold(result, s.key) is not None for s in shown)
           else ".")
    )  # fmt: skip
    if len(series) > len(shown):
        hidden = series[len(shown) :]
        intro += (
            f" Shown: the {len(shown)} series with the most flagged points; "
            f"{len(hidden):,} more series ({sum(s.n_flagged for s in hidden):,} flagged points "
            "in all) are not shown; the table below covers every series."
        )
    reduced = [s for s in shown if len(s.points) > limit]
    note = ""
    if reduced:
        longest = max(len(s.points) for s in reduced)
        note = (
            f"{_count(len(reduced), 'series', 'series')} longer than {limit:,} points "
            f"(up to {longest:,}) {'is' if len(reduced) == 1 else 'are'} drawn with about "
            f"{limit:,}: the lowest and highest value of each stretch, every flagged point and "
            "every gap edge, so spikes and the band's outline stay; zooming in shows no more "
            "detail than that. Scores, flags and the table use every point."
        )
    section = Section("timeview", "Time view", intro, figs, wide=True, note=note)
    if not len(points):
        section.note = "The series result holds no points to draw."
    head, rows, table_note = top_points(result, series, channels, label, time_name, group_name)
    return SeriesContent(
        title=f"Anomaly report: {source}" if source else "Anomaly report",
        summary=_summary(result, series, channels, label, source, n_points, n_flagged),
        sections=[section],
        table_head=head,
        table_rows=rows,
        table_note=table_note,
        notes=[str(n) for n in (getattr(result, "notes", None) or [])],
        generated=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        sampling_note=(
            f"Series longer than {limit:,} points are drawn reduced; scores, flags and the "
            "table use every point."
            if reduced
            else "Every figure draws every point."
        ),
    )


def _count(n: int, one: str, many: str) -> str:
    """``n`` things in words: ``1 gap``, ``3 gaps``.

    >>> _count(1, "gap", "gaps"), _count(1200, "point", "points")
    ('1 gap', '1,200 points')
    """
    return f"{n:,} {one if n == 1 else many}"


def _summary_line(
    series: list[_Series], channels: list[str], label: str | None, n_points: int, n_flagged: int
) -> str:
    steps = [s.step for s in series if s.step > 0]
    starts = [s.x[0] for s in series if len(s.x)]
    ends = [s.x[-1] for s in series if len(s.x)]
    what = _count(len(series), "series", "series") + f" of {', '.join(channels)}"
    text = f"{what}: {_count(n_points, 'point', 'points')}"
    if steps:
        step = float(np.median(steps))
        text += f", one every {duration(step)}"
        text += f", from {_when(min(starts), step)} to {_when(max(ends), step)}"
    periods = sum(s.n_periods for s in series)
    text += f"; {_count(n_flagged, 'point', 'points')} flagged" + (
        f" in {_count(periods, 'period', 'periods')}" if n_flagged else ""
    )
    if label is not None:
        text += (
            f", {_count(sum(s.n_labelled for s in series), 'labelled window', 'labelled windows')}"
        )
    gaps = sum(s.gaps for s in series)
    if gaps:
        text += (
            f", {_count(gaps, 'gap', 'gaps')} filled "
            f"({_count(sum(s.gap_points for s in series), 'point', 'points')})"
        )
    return text + "."


def _when(ms: float, step: float) -> str:
    """A time on the axis, to the minute (to the second for steps under a minute).

    >>> _when(0.0, 3_600_000), _when(1500.0, 1000)
    ('1970-01-01 00:00', '1970-01-01 00:00:01')
    """
    stamp = pd.Timestamp(int(ms), unit="ms")
    return stamp.strftime("%Y-%m-%d %H:%M" if step >= 60_000 else "%Y-%m-%d %H:%M:%S")


def _summary(
    result: SeriesLike,
    series: list[_Series],
    channels: list[str],
    label: str | None,
    source: str | None,
    n_points: int,
    n_flagged: int,
) -> list[tuple[str, str]]:
    model = result.model
    detector = getattr(model, "detector", None) or getattr(model, "detector_name", None) or "?"
    rows = [
        ("series", f"{len(series):,}"),
        ("points", f"{n_points:,}"),
        ("channels", ", ".join(channels)),
        ("detector", str(detector)),
    ]
    thresholds = {_threshold(result, s.key) for s in series} - {None}
    if len(thresholds) == 1:
        rows.append(("threshold", f"{thresholds.pop():.4g}"))
    rows += [
        ("flagged", f"{n_flagged:,} ({n_flagged / max(n_points, 1):.2%})"),
        ("flagged periods", f"{sum(s.n_periods for s in series):,}"),
        ("gaps filled", _count(sum(s.gaps for s in series), "gap", "gaps")),
    ]
    if source:
        rows.insert(0, ("data", _short_source(source)))
    if label is not None:
        rows.append(("labelled windows", f"{sum(s.n_labelled for s in series):,}"))
    return rows


def top_points(
    result: SeriesLike,
    series: list[_Series],
    channels: list[str],
    label: str | None,
    time_name: str,
    group_name: str,
) -> tuple[list[str], list[list[tuple[str, str]]], str]:
    """Header, rows of ``(text, sort value)`` cells and a note for the table of top flagged points.

    The flagged points of every series, highest score first (the highest
    scores when none is flagged), with each point's reason: the
    ``anomaly_reason`` of the points table, else that of the user's row at
    that time (within half a step) in ``result.frame``.
    """
    grouped = any(s.key is not None for s in series)
    n_flagged = sum(s.n_flagged for s in series)
    # Only the candidates are gathered: the flagged points, or each series' top
    # scores when none is flagged, not a copy of every point.
    parts = []
    for s in series:
        pick = _bools(s.points, "is_anomaly", False) if n_flagged else np.ones(len(s.x), bool)
        part = s.points[pick].assign(_x=s.x[pick], _step=s.step)
        parts.append(part if n_flagged else part.nlargest(10, "anomaly_score", keep="first"))
    every = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if every.empty:
        return [time_name, "reason"], [], "There are no points."
    every = every.sort_values("anomaly_score", ascending=False, kind="stable", na_position="last")
    n_rows = min(MAX_TABLE_ROWS, max(n_flagged, min(10, len(every))))
    top = every.head(n_rows)
    reasons = _reasons(result, top, grouped)
    head = ["rank", time_name, *([group_name] if grouped else []), *channels, "score",
            *([label] if label else []), "reason"]  # fmt: skip
    rows = []
    for i in range(len(top)):
        row = top.iloc[i]
        cells = [
            (str(i + 1), str(i + 1)),
            (str(row["timestamp"]), repr(float(row["_x"]))),
            *([_cell(row["group"])] if grouped else []),
            *[_cell(row[ch]) for ch in channels],
            (f"{row['anomaly_score']:.4g}", repr(float(row["anomaly_score"]))),
            *([_cell(row[label])] if label else []),
            (reasons[i], ""),
        ]
        rows.append(cells)
    if n_flagged > n_rows:
        note = f"The {n_rows} highest-scoring of {n_flagged:,} flagged points."
    elif n_flagged:
        note = f"All {_count(n_flagged, 'flagged point', 'flagged points')}, highest score first."
    else:
        note = f"No point was flagged; the {n_rows} highest-scoring points."
    return head, rows, note + " Click a column header to sort."


def _reasons(result: SeriesLike, top: pd.DataFrame, grouped: bool) -> list[str]:
    """The reason of each of the ``top`` points (empty where none is known)."""
    if "anomaly_reason" in top.columns:
        return top["anomaly_reason"].fillna("").astype(str).tolist()
    blank = [""] * len(top)
    frame = getattr(result, "frame", None)
    model = result.model
    time_col = getattr(model, "time", None)
    group_col = getattr(model, "group", None)
    if (
        not isinstance(frame, pd.DataFrame)
        or time_col not in frame.columns
        or "anomaly_reason" not in frame.columns
        or (grouped and group_col not in frame.columns)
    ):
        return blank
    times = dates(frame[time_col])
    tz = getattr(top["timestamp"].dt, "tz", None)
    if tz is not None and getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert(tz)
    right = pd.DataFrame(
        {
            "_x": to_ms(times),
            "_g": frame[group_col].astype(object).to_numpy() if grouped else 0,
            "_score": pd.to_numeric(frame["anomaly_score"], errors="coerce").to_numpy()
            if "anomaly_score" in frame.columns
            else 0.0,
            "_reason": frame["anomaly_reason"].fillna("").astype(str).to_numpy(),
        }
    )
    # Several rows at one time (duplicates the detection merged): the highest-scoring one speaks.
    right = right[np.isfinite(right["_x"])].sort_values("_score", ascending=False, kind="stable")
    right = right.drop_duplicates(["_g", "_x"]).sort_values("_x", kind="stable")
    left = pd.DataFrame(
        {
            "_x": top["_x"].to_numpy(dtype=np.float64),
            "_g": top["group"].astype(object).to_numpy() if grouped else 0,
            "_pos": np.arange(len(top)),
        }
    )
    left = left[np.isfinite(left["_x"])].sort_values("_x", kind="stable")
    step = float(top["_step"].max()) if len(top) else 0.0
    # Rows may sit between grid points: the nearest within half a step is the point's own.
    joined = pd.merge_asof(
        left, right, on="_x", by="_g", direction="nearest", tolerance=max(step / 2.0, 0.5)
    )
    for pos, reason in zip(joined["_pos"], joined["_reason"].fillna(""), strict=True):
        blank[int(pos)] = str(reason)
    return blank
