"""``SeriesModel``: a series detector per series, fitted on a table with a time column.

The time-series front door onto the detectors of :mod:`anomalyzer.timeseries`:
the rows of a table are put on a regular grid per series (per group, e.g. per
host) by :func:`~anomalyzer.timeseries.frame.prepare_series`, which sorts,
merges duplicates, fills gaps and notes each defect it handled; then one
detector is fitted per series, many series in parallel. The model scores the
series it was fitted on (:meth:`SeriesModel.points`), new rows of the same
series (:meth:`SeriesModel.score`) and, fitted with ``causal=True``, rows as
they arrive (:meth:`SeriesModel.update`), and is saved to a file that cannot
run code when it is loaded.

Policies:

- A filled point (a gap, or a missing value) is scored like any other, so
  the series stays regular, but it is never flagged: nothing was observed.
- A series too short for the detector is left unscored (its rows get no
  score), with a note; only when no series can be scored is that an error.
- In :meth:`SeriesModel.update`, a row whose timestamp is not after the last
  point of its series, or whose series was not seen at fit, is not scored:
  it comes back with no score and says why in ``anomaly_reason``; one late
  row does not stop a stream.

>>> t = pd.date_range("2026-03-02", periods=24 * 14, freq="h")
>>> rng = np.random.default_rng(0)
>>> cpu = 50 + 10 * np.sin(2 * np.pi * np.arange(t.size) / 24) + rng.normal(0, 1, t.size)
>>> cpu[200] = 95.0
>>> df = pd.DataFrame({"timestamp": t, "cpu": cpu})
>>> model = SeriesModel("rolling_z").fit(df, "timestamp")
>>> pts = model.points()
>>> top = pts.loc[pts["anomaly_score"].idxmax()]
>>> top["timestamp"], bool(top["is_anomaly"])
(Timestamp('2026-03-10 08:00:00'), True)
>>> pts.loc[200, "anomaly_reason"]
'value 95 above the expected band 54–62.5 for 08:00'
>>> model.periods
{None: [24]}
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer import detectors, timeseries
from anomalyzer.errors import AnomalyzerError
from anomalyzer.persist import model_kind, save_model
from anomalyzer.timeseries.base import SeriesDetector
from anomalyzer.timeseries.fitted import FittedSeries
from anomalyzer.timeseries.reasons import (
    SeriesContext,
    drivers,
    fmt_time,
    point_reason,
)
from anomalyzer.validation import check_contamination

DEFAULT_SERIES_DETECTOR = "auto"
#: Fitting runs in worker processes only when the work left after the first two
#: series is estimated at this many seconds or more (from the time the second
#: one took): a worker costs seconds to start (imports, compiled kernels).
PARALLEL_SECONDS = 10.0
#: Batches per worker: enough to even out series of unequal cost, few enough
#: that every task carries many series (a task per series drowns in overhead).
BATCHES_PER_WORKER = 4
#: Each series' highest-scoring points get a reason even when not flagged, so
#: the top of every series says why.
MIN_EXPLAINED = 10
#: Points of each series kept for the reasons of streamed points: room for
#: the windows before a change and for a shape.
TAIL_POINTS = 1024


@model_kind("series")
class SeriesModel:
    """Fit a series detector per series of a table with a time column, and score with it.

    Parameters
    ----------
    detector:
        A name from ``anomalyzer.timeseries.available()``.
    contamination:
        Share of points to flag, or ``"auto"`` to read it off the scores.
    causal:
        Score each point from the points before it only; needed by
        :meth:`update` (streaming).
    fill:
        How gaps are filled (see :func:`~anomalyzer.timeseries.frame.prepare_series`).
    freq:
        The step of the grid, e.g. ``"5min"``; None infers it per series.
    n_jobs:
        Worker processes for many series; None uses every core, 1 none.
    **params:
        Parameters of the detector, e.g. ``window=50``. Detectors that take a
        ``period`` get the periods found with the grid's step in mind (a day
        of 5-minute points is 288, never 289) unless ``period`` is given.
    """

    def __init__(
        self,
        detector: str = DEFAULT_SERIES_DETECTOR,
        contamination: float | str = "auto",
        causal: bool = False,
        fill: str = "auto",
        freq: str | pd.Timedelta | None = None,
        n_jobs: int | None = None,
        **params: Any,
    ) -> None:
        if not isinstance(detector, str):
            raise AnomalyzerError(
                f"detector must be the name of a time-series detector, not a "
                f"{type(detector).__name__}; choose one of: {', '.join(timeseries.available())}."
            )
        self.detector = detector
        self.contamination = check_contamination(contamination)
        self.causal = bool(causal)
        self.fill = fill
        self.freq = freq
        self.n_jobs = n_jobs
        self.params = params
        # Unknown names and bad parameters are reported now, before any data is read.
        self._build(None)

    # -- fitting --------------------------------------------------------------

    def fit(
        self,
        data: Any,
        time: str,
        value: str | Sequence[str] | None = None,
        group: str | None = None,
        label: str | None = None,
    ) -> SeriesModel:
        """Put ``data`` on a regular grid per series and fit a detector to each series.

        ``data`` is a DataFrame (never modified), a path or a database URL;
        ``time`` names the time column, ``value`` the value column(s) (every
        numeric column by default), ``group`` the column whose values name the
        series, ``label`` a 0/1 column kept out of the values and carried to
        :meth:`points`.
        """
        from anomalyzer.data import read_table
        from anomalyzer.labels import to_binary

        df = data if isinstance(data, pd.DataFrame) else read_table(data)
        if label is not None and label not in df.columns:
            raise AnomalyzerError(
                f"Label column '{label}' not found; the columns are: "
                f"{', '.join(map(str, df.columns))}."
            )
        exclude = [label] if label is not None else []
        frames = _prepare(df, time, value, group, self.freq, self.fill, exclude)
        y = to_binary(df[label], name=label) if label is not None else None
        settings = self._settings()
        tasks = [
            _Task(f.group, f.values, f.observed, f.index, f.freq, list(f.channels)) for f in frames
        ]
        results = _run_all(tasks, settings, self.n_jobs)
        self.series_: dict[Hashable | None, FittedSeries] = {}
        self.__dict__.pop("_by_text", None)
        notes = list(frames.all_notes()) if hasattr(frames, "all_notes") else []
        for frame, fit in zip(frames, results, strict=True):
            notes += [f"{_prefix(group, frame.group)}{n}" for n in fit.notes]
            fit.notes = [*map(str, frame.notes), *fit.notes]
            fit.rows = np.asarray(frame.rows, dtype=np.int64)
            fit.row_points = np.asarray(frame.row_points, dtype=np.int64)
            if y is not None:
                lab = np.zeros(len(frame.index), dtype=np.int64)
                ok = fit.row_points >= 0
                np.maximum.at(lab, fit.row_points[ok], y[fit.rows[ok]])
                fit.label = lab
            self.series_[_key(frame.group)] = fit
        if all(s.detector is None for s in self.series_.values()):
            first = next(iter(self.series_.values()))
            why = first.notes[-1] if first.notes else "no series has enough points"
            raise AnomalyzerError(f"No series could be scored: {why}.")
        self.time_ = str(time)
        self.group_ = None if group is None else str(group)
        self.label_ = label
        # A series whose column had no value at all lacks that channel: the
        # model's channels are all of them, in the table's order.
        self.channels_ = list(dict.fromkeys(c for f in frames for c in f.channels))
        self.n_rows_ = len(df)
        self.notes_ = notes
        self.unscored_ = _unscored(df, frames, self.time_, self.group_, None)
        return self

    def _settings(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "params": dict(self.params),
            "causal": self.causal,
            "contamination": self.contamination,
        }

    def _build(self, periods: list[int] | None) -> SeriesDetector:
        return _build(self._settings(), periods)

    # -- what the model found -------------------------------------------------

    @property
    def time(self) -> str | None:
        """The time column the series were detected along."""
        return getattr(self, "time_", None)

    @property
    def group(self) -> str | None:
        """The column naming the series (None for one series)."""
        return getattr(self, "group_", None)

    @property
    def channels(self) -> list[str]:
        """The value columns, in order."""
        return list(getattr(self, "channels_", []))

    @property
    def periods(self) -> dict[Hashable | None, list[int]]:
        """Seasonal periods in points used for each series, by group key (None for one series)."""
        self._check_fitted()
        return {k: list(s.periods) for k, s in self.series_.items()}

    @property
    def threshold(self) -> dict[Hashable | None, float]:
        """Each series' threshold, by group key."""
        self._check_fitted()
        return {k: s.threshold for k, s in self.series_.items()}

    @property
    def notes(self) -> list[str]:
        """The data defects handled and series left out, in plain words."""
        return list(getattr(self, "notes_", []))

    @property
    def has_band(self) -> bool:
        """Whether :meth:`update` returns ``expected``, ``lower`` and ``upper`` (one channel)."""
        return len(self.channels) == 1

    @property
    def detector_name(self) -> str:
        """The registry name of the detector."""
        return self.detector

    def points(self) -> pd.DataFrame:
        """One row per grid point of every series the model was fitted on.

        Columns: ``group`` (with a group column), ``timestamp``, each
        channel's value, ``expected_<ch>``, ``lower_<ch>`` and ``upper_<ch>``
        (the expected band; NaN where the detector has no expected value),
        ``anomaly_score``, ``is_anomaly``, ``observed`` (False where the point
        was filled; filled points are never flagged), ``label`` (with a label
        column: the largest label of the rows at that point, 0 where none)
        and ``anomaly_reason``.
        """
        self._check_fitted()
        fitted = [s for s in self.series_.values() if s.values is not None]
        if not fitted:
            raise AnomalyzerError(
                "This model was loaded from a file, which keeps what scoring needs but not the "
                "points it was fitted on; use the SeriesResult of detect() for those."
            )
        cols: dict[str, Any] = {}
        if self.group_ is not None:
            keys = np.empty(len(fitted), dtype=object)
            keys[:] = [s.key for s in fitted]
            cols["group"] = np.repeat(keys, [len(s.index) for s in fitted])
        cols["timestamp"] = _concat_index([s.index for s in fitted])
        for ch in self.channels_:
            cols[ch] = np.concatenate([_column(s, s.values, ch) for s in fitted])
        for ch in self.channels_:
            lo = np.concatenate([_column(s, s.lower, ch) for s in fitted])
            hi = np.concatenate([_column(s, s.upper, ch) for s in fitted])
            cols[f"expected_{ch}"] = (lo + hi) / 2.0
            cols[f"lower_{ch}"] = lo
            cols[f"upper_{ch}"] = hi
        cols["anomaly_score"] = np.concatenate([s.scores for s in fitted])
        cols["is_anomaly"] = np.concatenate([s.flags for s in fitted])
        cols["observed"] = np.concatenate([s.observed for s in fitted])
        if self.label_ is not None:
            cols["label"] = np.concatenate([s.label for s in fitted])
        reasons = []
        for s in fitted:
            text = np.full(len(s.index), "", dtype=object)
            for pos, reason in s.reasons.items():
                text[pos] = reason
            reasons.append(text)
        cols["anomaly_reason"] = np.concatenate(reasons)
        return pd.DataFrame(cols)

    # -- scoring new rows -----------------------------------------------------

    def score_frame(self, data: Any) -> pd.DataFrame:
        """New rows of the fitted series, scored: the rows plus the four output columns.

        The one scoring path of series models, as :meth:`Model.score_frame`
        is for tables; :meth:`score` is the same. An empty frame gives an
        empty scored frame.
        """
        return self.score(data)

    def score(self, data: Any) -> pd.DataFrame:
        """New rows of the fitted series, scored: the rows plus the four output columns.

        Each series (by group) is put on its grid and scored by its detector.
        A causal model continues the series from where it stands when the new
        rows start after its last point (without changing the model); new
        rows that do not, and any rows of a model that is not causal, are
        scored as a series of their own. Rows of a series not seen at fit,
        and rows whose timestamp cannot be used, get no score.
        """
        from anomalyzer.data import read_table
        from anomalyzer.scored import scored_frame

        self._check_fitted()
        df = data if isinstance(data, pd.DataFrame) else read_table(data)
        self._check_columns(df, self.channels_)
        if len(df) == 0:
            empty = np.empty(0, dtype=np.float64)
            return scored_frame(df, empty, empty.astype(bool), {})
        freqs = {s.freq for s in self.series_.values()}
        freq = self.freq if self.freq is not None else (freqs.pop() if len(freqs) == 1 else None)
        frames = _prepare(df, self.time_, self.channels_, self.group_, freq, self.fill)
        n = len(df)
        scores = np.full(n, np.nan)
        flags = np.zeros(n, dtype=bool)
        reasons: dict[int, str] = {}
        for frame in frames:
            fs = self._series(frame.group)
            rows = np.asarray(frame.rows, dtype=np.int64)
            why = None
            if fs is None or fs.detector is None:
                why = "its series was not seen at fit" if fs is None else "its series has no model"
            elif list(frame.channels) != list(fs.channels):
                missing = ", ".join(c for c in fs.channels if c not in frame.channels)
                why = f"its series has no values in {missing}"
            if why is not None:
                reasons.update(dict.fromkeys(rows.tolist(), f"not scored: {why}"))
                continue
            assert fs is not None  # why is None only for a series with a detector
            out = self._score_frame(fs, frame)
            pts = np.asarray(frame.row_points, dtype=np.int64)
            ok = pts >= 0
            scores[rows[ok]] = out.scores[pts[ok]]
            flags[rows[ok]] = out.flags[pts[ok]]
            reasons.update(_row_reasons(rows[ok], pts[ok], out.reasons, len(out.scores)))
        reasons.update(_unscored(df, frames, self.time_, self.group_, set(self.series_)))
        return scored_frame(df, scores, flags, reasons)

    def _score_frame(self, fs: FittedSeries, frame: Any) -> _Scored:
        det = fs.detector
        assert det is not None  # callers skip series without a detector
        values = np.asarray(frame.values, dtype=np.float64)
        observed = np.asarray(frame.observed, dtype=bool)
        index = frame.index
        if frame.freq != fs.freq:
            raise AnomalyzerError(
                f"{_prefix(self.group_, fs.key)}the new rows have a step of {frame.freq} but "
                f"the model was fitted on {fs.freq}; give rows on the same grid."
            )
        if self.causal and fs.last is not None and index[0] > fs.last:
            assert fs.tail_values is not None  # kept with fs.last
            # Continue the stream on a copy: scoring never moves the model on.
            fill, _ = _steps_between(fs.last, index[0], fs.freq)
            lead = np.repeat(fs.tail_values[-1:], fill, axis=0)
            X = np.vstack([lead, values])
            full_index = _grid(fs.last + fs.freq, len(X), fs.freq, index)
            shadow = copy.deepcopy(fs)
            out = _stream(shadow, X, full_index, np.r_[np.zeros(fill, bool), observed])
            return _Scored(
                out.scores[fill:],
                out.flags[fill:],
                {p - fill: r for p, r in out.reasons.items() if p >= fill},
            )
        scores = det.decision_function(values)
        flags = (scores > det.threshold_) & observed
        lower, upper = det.expected_band(values)
        ctx = SeriesContext(values, index, lower, upper, fs.channels, fs.freq, fs.periods,
                            start=0, causal=self.causal)  # fmt: skip
        positions = _to_explain(scores, flags, observed)
        member = _member_scores(det, values, fitted_on=False)
        contrib = det.explain(values) if values.shape[1] > 1 else None
        texts = _write_reasons(det, self.detector, ctx, positions, member, contrib, scores)
        return _Scored(scores, flags, texts)

    # -- streaming ------------------------------------------------------------

    def update(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Score rows as they arrive: each row is the next point of its series.

        ``rows`` holds the time column (and the group column) and the value
        columns, in arrival order. A timestamp more than one step after the
        last point of its series means points are missing: they are filled
        with the last value and run through the detector (not returned), and
        a note says so. A row that is not after the last point of its series,
        or whose series was not seen at fit, is not scored and its
        ``anomaly_reason`` says why; a missing value is filled with the last
        one and never flagged.

        Returns the rows with ``anomaly_score``, ``is_anomaly``, ``expected``,
        ``lower`` and ``upper`` (for several channels ``expected_<ch>`` and so
        on) and ``anomaly_reason``; the notes of this call are in the result's
        ``attrs["notes"]`` (a long stream does not pile them up in the model).
        The scores are the detectors' ``update``, so they equal the causal
        scores of the whole series.
        """
        self._check_fitted()
        if not self.causal:
            raise AnomalyzerError(
                "This SeriesModel was fitted with causal=False, which scores each point from "
                "both sides; fit it with SeriesModel(causal=True) to score rows as they arrive."
            )
        if not isinstance(rows, pd.DataFrame):
            raise AnomalyzerError(f"update needs a DataFrame of rows, not a {type(rows).__name__}.")
        self._check_columns(rows, self.channels_)
        n, chans = len(rows), self.channels_
        out_scores = np.full(n, np.nan)
        out_flags = np.zeros(n, dtype=bool)
        out_band = np.full((2, n, len(chans)), np.nan)
        out_reason = np.full(n, "", dtype=object)
        notes: list[str] = []
        stamps = _timestamps(rows[self.time_], self.time_, self._tz())
        vals = rows[chans].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        keys = rows[self.group_].tolist() if self.group_ is not None else [None] * n
        by_key: dict[Hashable | None, list[int]] = {}
        for i, k in enumerate(keys):
            by_key.setdefault(_key(k), []).append(i)
        for key, members in by_key.items():
            fs = self._series(key)
            if fs is None or fs.detector is None:
                why = "its series was not seen at fit" if fs is None else "its series has no model"
                out_reason[members] = f"not scored: {why}"
                continue
            cols = [chans.index(c) for c in fs.channels]
            points, emitted, observed, grid = self._arrivals(
                fs, key, members, stamps, vals[:, cols], out_reason, notes
            )
            if not points:
                continue
            X = np.vstack(points)
            res = _stream(fs, X, pd.DatetimeIndex(grid), np.asarray(observed))
            for p, i in enumerate(emitted):
                if i < 0:
                    continue
                out_scores[i] = res.scores[p]
                out_flags[i] = res.flags[p]
                out_band[0, i, cols], out_band[1, i, cols] = res.lower[p], res.upper[p]
                if p in res.reasons and not out_reason[i]:
                    out_reason[i] = res.reasons[p]
        out = rows.copy()
        out["anomaly_score"] = out_scores
        out["is_anomaly"] = out_flags
        lower, upper = out_band[0], out_band[1]
        if len(chans) == 1:
            out["expected"], out["lower"], out["upper"] = (
                (lower[:, 0] + upper[:, 0]) / 2,
                lower[:, 0],
                upper[:, 0],
            )
        else:
            for j, ch in enumerate(chans):
                out[f"expected_{ch}"] = (lower[:, j] + upper[:, j]) / 2
                out[f"lower_{ch}"], out[f"upper_{ch}"] = lower[:, j], upper[:, j]
        out["anomaly_reason"] = pd.Series(out_reason, index=out.index, dtype=object).astype(str)
        out.attrs["notes"] = notes
        return out

    def _arrivals(
        self,
        fs: FittedSeries,
        key: Hashable | None,
        members: list[int],
        stamps: list[Any],
        vals: np.ndarray,
        out_reason: np.ndarray,
        notes: list[str],
    ) -> tuple[list[np.ndarray], list[int], list[bool], list[pd.Timestamp]]:
        """The grid points that the rows ``members`` of one series make, gaps filled.

        Returns the points, the row each came from (-1 for a filled gap), whether
        it was observed, and its time; rows that cannot be scored get their
        reason in ``out_reason`` instead.
        """
        assert fs.last is not None and fs.tail_values is not None
        points, emitted, observed, grid = [], [], [], []
        last, prev = fs.last, fs.tail_values[-1].copy()
        for i in members:
            t = stamps[i]
            if pd.isna(t):
                out_reason[i] = "not scored: its timestamp is missing or cannot be read"
                continue
            k, off_grid = _steps_between(last, t, fs.freq)
            if k < 0:
                out_reason[i] = (
                    f"not scored: {fmt_time(t, fs.freq)} is not after the last point of its "
                    f"series ({fmt_time(last, fs.freq)}); rows must arrive in time order"
                )
                continue
            if off_grid:
                notes.append(
                    f"{_prefix(self.group_, key)}{t} is off the {fs.freq} grid; it was "
                    "scored as the nearest point"
                )
            if k > 0:
                notes.append(
                    f"{_prefix(self.group_, key)}{k} missing point(s) before "
                    f"{fmt_time(t, fs.freq)} filled with the last value"
                )
            for _ in range(k):
                points.append(prev.copy())
                observed.append(False)
                emitted.append(-1)
                last = last + fs.freq
                grid.append(last)
            v = vals[i].copy()
            seen = np.isfinite(v)
            if not seen.all():
                v[~seen] = prev[~seen]
                out_reason[i] = "value missing: filled with the last value, never flagged"
            points.append(v)
            observed.append(bool(seen.all()))
            emitted.append(i)
            last = last + fs.freq
            grid.append(last)
            prev = v
        return points, emitted, observed, grid

    # -- files ----------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to a file that :func:`anomalyzer.load` reads back.

        The file keeps what scoring and streaming need (the detectors, each
        series' grid and where its stream stands), not the fitted points.
        """

        return save_model(self, path)

    # -- helpers --------------------------------------------------------------

    def _series(self, key: Any) -> FittedSeries | None:
        """The fitted series of group ``key``; keys read from text (a CSV line) match by text."""
        key = _key(key)
        found = self.series_.get(key)
        if found is None and key is not None:
            if not hasattr(self, "_by_text"):
                self._by_text = {str(k): s for k, s in self.series_.items()}
            found = self._by_text.get(str(key))
        return found

    def _tz(self) -> Any:
        first = next(iter(self.series_.values()))
        return first.index.tz

    def _check_columns(self, df: pd.DataFrame, channels: Sequence[str]) -> None:
        need = [self.time_, *([self.group_] if self.group_ is not None else []), *channels]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise AnomalyzerError(
                f"Column(s) {', '.join(map(repr, missing))} not found; rows for this model need "
                f"{', '.join(map(repr, need))}."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "series_"):
            raise AnomalyzerError("This SeriesModel is not fitted yet; call fit(data, time) first.")

    def _row_results(self, n_rows: int) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """Score, flag and reason of each of the ``n_rows`` rows the model was fitted on."""
        scores = np.full(n_rows, np.nan)
        flags = np.zeros(n_rows, dtype=bool)
        reasons: dict[int, str] = dict(getattr(self, "unscored_", {}))
        for s in self.series_.values():
            if s.rows is None or s.scores is None or s.row_points is None or s.flags is None:
                continue
            ok = s.row_points >= 0
            rows, pts = s.rows[ok], s.row_points[ok]
            scores[rows] = s.scores[pts]
            flags[rows] = s.flags[pts]
            reasons.update(_row_reasons(rows, pts, s.reasons, len(s.scores)))
        return scores, flags, reasons

    def __repr__(self) -> str:
        if not hasattr(self, "series_"):
            return f"SeriesModel(detector={self.detector!r}, causal={self.causal}, not fitted)"
        return (
            f"SeriesModel(detector={self.detector!r}, causal={self.causal}, "
            f"{len(self.series_)} series, channels={self.channels_})"
        )


# -- fitting, in this process or in workers ----------------------------------------------


@dataclass
class _Task:
    """What a worker needs to fit one series."""

    key: Hashable | None
    values: np.ndarray
    observed: np.ndarray
    index: pd.DatetimeIndex
    freq: pd.Timedelta
    channels: list[str]


@dataclass
class _Scored:
    scores: np.ndarray
    flags: np.ndarray
    reasons: dict[int, str]


@dataclass
class _Streamed:
    scores: np.ndarray
    flags: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    reasons: dict[int, str]


def _run_all(
    tasks: list[_Task], settings: dict[str, Any], n_jobs: int | None
) -> list[FittedSeries]:
    """Fit every series: here, or in worker processes when that pays off."""
    workers = _workers(n_jobs, len(tasks))
    if workers <= 1 or len(tasks) <= 2:
        return _fit_batch(tasks, settings)
    # The first series pays for loading the compiled kernels; the second one
    # times the work per point.
    done = _fit_batch(tasks[:1], settings)
    start = time.perf_counter()
    done += _fit_batch(tasks[1:2], settings)
    per_point = (time.perf_counter() - start) / max(len(tasks[1].values), 1)
    rest = tasks[2:]
    if per_point * sum(len(t.values) for t in rest) < PARALLEL_SECONDS:
        return done + _fit_batch(rest, settings)
    from joblib import Parallel, delayed

    n_batches = min(len(rest), workers * BATCHES_PER_WORKER)
    # Interleaved batches: series of similar size sit next to each other in
    # most tables, so striding spreads the big ones over the batches.
    order = [list(range(b, len(rest), n_batches)) for b in range(n_batches)]
    parts = Parallel(n_jobs=workers, backend="loky")(
        delayed(_fit_batch)([rest[i] for i in idx], settings) for idx in order
    )
    out: list[FittedSeries | None] = [None] * len(rest)
    for idx, fitted in zip(order, parts, strict=True):
        for i, f in zip(idx, fitted, strict=True):
            out[i] = f
    return done + out  # type: ignore[operator]


def _workers(n_jobs: int | None, n_tasks: int) -> int:
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        n = cores
    elif n_jobs < 0:
        n = max(1, cores + 1 + n_jobs)
    else:
        n = int(n_jobs)
    return max(1, min(n, n_tasks))


def _fit_batch(tasks: list[_Task], settings: dict[str, Any]) -> list[FittedSeries]:
    """Fit, score and explain a batch of series (run in a worker, or here)."""
    return [_fit_one(t, settings) for t in tasks]


def _fit_one(task: _Task, settings: dict[str, Any]) -> FittedSeries:
    values = np.asarray(task.values, dtype=np.float64)
    observed = np.asarray(task.observed, dtype=bool)
    fs = FittedSeries(task.key, None, task.index, task.freq, task.channels, [])
    hint = _period_hint(settings, values, task.freq)
    det = _build(settings, hint)
    need = int(getattr(det, "_min_points", 1))
    if len(values) < need:
        fs.notes.append(
            f"{len(values)} points, fewer than the {need} the {settings['detector']} detector "
            "needs; its rows get no score"
        )
        return fs
    try:
        det.fit(values)
    except AnomalyzerError as exc:
        fs.notes.append(f"not scored ({str(exc).rstrip('.')}); its rows get no score")
        return fs
    scores = np.asarray(det.decision_scores_, dtype=np.float64)
    flags = (scores > det.threshold_) & observed
    lower, upper = det.expected_band(values)
    periods = _periods_of(det, hint, values, task.freq)
    ctx = SeriesContext(values, task.index, lower, upper, task.channels, task.freq, periods,
                        start=0, causal=bool(settings["causal"]))  # fmt: skip
    positions = _to_explain(scores, flags, observed)
    member = _member_scores(det, values, fitted_on=True)
    contrib = det.explain(values) if values.shape[1] > 1 and positions.size else None
    fs.detector = det
    fs.periods = periods
    fs.values, fs.observed = values, observed
    fs.scores, fs.flags = scores, flags
    fs.lower, fs.upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    fs.reasons = _write_reasons(det, settings["detector"], ctx, positions, member, contrib, scores)
    fs.last = task.index[-1]
    fs.seen = len(values)
    fs.tail_values = values[-TAIL_POINTS:].copy()
    fs.tail_index = task.index[-TAIL_POINTS:]
    return fs


def _build(settings: dict[str, Any], periods: list[int] | None) -> SeriesDetector:
    params = dict(settings["params"])
    if periods is not None:
        name = settings["detector"]
        params["period"] = (
            (periods[0] if periods else 0)
            if detectors.spec(name, "series").single_period
            else list(periods)
        )
    return timeseries.make(
        settings["detector"],
        causal=settings["causal"],
        contamination=settings["contamination"],
        **params,
    )


def _period_hint(
    settings: dict[str, Any], values: np.ndarray, freq: pd.Timedelta
) -> list[int] | None:
    """Periods found knowing the step, for a detector that takes ``period`` and was given none."""
    if "period" in settings["params"]:
        return None
    cls = timeseries.detector_class(settings["detector"])
    if "period" not in cls._get_param_names():
        return None
    return _detect_periods(values, freq)


def _detect_periods(values: np.ndarray, freq: pd.Timedelta) -> list[int]:
    from anomalyzer.timeseries.seasonality import detect_periods

    if len(values) < 8:
        return []
    return [int(p) for p in detect_periods(values, freq=freq)]


def _periods_of(
    det: SeriesDetector, hint: list[int] | None, values: np.ndarray, freq: pd.Timedelta
) -> list[int]:
    """The periods the fitted detector uses, else those found in the data."""
    found = getattr(det, "periods_", None)
    if found is not None:
        return [int(p) for p in found]
    one = getattr(det, "period_", None)
    if one is not None:
        return [int(one)] if one else []
    return hint if hint is not None else _detect_periods(values, freq)


def _to_explain(scores: np.ndarray, flags: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Flagged points and the highest-scoring observed ones: the points that get a reason."""
    ranked = np.where(observed & np.isfinite(scores), scores, -np.inf)
    k = min(MIN_EXPLAINED, int(np.isfinite(ranked).sum()))
    top = np.argpartition(-ranked, k - 1)[:k] if k else np.empty(0, dtype=np.int64)
    return np.union1d(np.flatnonzero(flags), top).astype(np.int64)


def _member_scores(
    det: SeriesDetector, X: np.ndarray, *, fitted_on: bool
) -> dict[str, np.ndarray] | None:
    """Each committee member's score of ``X`` on the common scale (None for a single detector).

    On the series the committee was fitted on these are its members' training
    scores, rescaled: the same numbers as ``member_scores(X)`` (each member was
    fitted on ``X`` and scored it the same way), without scoring it again.
    """
    members = getattr(det, "fitted_members_", None)
    if not members:
        return None
    if fitted_on and hasattr(det, "_scaled"):
        return {name: det._scaled(name, m.decision_scores_) for name, m in members.items()}
    return det.member_scores(X)


def _write_reasons(
    det: SeriesDetector,
    name: str,
    ctx: SeriesContext,
    positions: np.ndarray,
    member_scores: dict[str, np.ndarray] | None,
    contributions: np.ndarray | None,
    scores: np.ndarray,
) -> dict[int, str]:
    """A reason for each point in ``positions`` of ``ctx``."""
    if positions.size == 0:
        return {}
    members = getattr(det, "fitted_members_", None) or {name: det}
    out = {}
    for pos, driver in zip(
        positions.tolist(), drivers(member_scores, name, positions), strict=True
    ):
        member = members.get(driver, det)
        own = member_scores.get(driver) if member_scores else scores
        shares = contributions[pos] if contributions is not None else None
        out[pos] = point_reason(ctx, pos, driver, shares=shares, member=member, scores=own)
    return out


# -- streaming ---------------------------------------------------------------------------


def _stream(
    fs: FittedSeries, X: np.ndarray, index: pd.DatetimeIndex, observed: np.ndarray
) -> _Streamed:
    """Run ``X`` (the next points of ``fs``) through its detector's ``update``; move ``fs`` on.

    The scores and flags are the detector's ``update``. The band and the
    reasons come from a second run of the same recursion from a copy of the
    state before it, so what is shown matches what was scored.
    """
    det = fs.detector
    # Streams reach only series with a detector and a tail (see update).
    assert det is not None and fs.tail_values is not None and fs.tail_index is not None
    before = copy.deepcopy(det.stream_state_)
    streamed = det.update(X)
    scores = np.asarray(streamed.scores, dtype=np.float64)
    flags = np.asarray(streamed.flags, dtype=bool) & observed
    lower, upper, member_scores, contrib = _stream_parts(det, before, X)
    # The reasons see the points before these too: a change is measured against them.
    ctx_values = np.vstack([fs.tail_values, X])
    ctx_index = fs.tail_index.append(index)
    k = len(fs.tail_values)
    nan = np.full((k, X.shape[1]), np.nan)
    ctx = SeriesContext(
        ctx_values,
        ctx_index,
        np.vstack([nan, lower]),
        np.vstack([nan, upper]),
        fs.channels,
        fs.freq,
        fs.periods,
        start=fs.seen - k,
        causal=True,
    )
    positions = np.flatnonzero(flags)
    padded = None
    if member_scores is not None:
        padded = {n: np.r_[np.zeros(k), s] for n, s in member_scores.items()}
    shares = np.vstack([np.zeros((k, X.shape[1])), contrib]) if contrib is not None else None
    texts = _write_reasons(
        det, _registry_name(det), ctx, positions + k, padded, shares, np.r_[np.zeros(k), scores]
    )
    fs.seen += len(X)
    fs.last = index[-1]
    fs.tail_values = ctx_values[-TAIL_POINTS:].copy()
    fs.tail_index = ctx_index[-TAIL_POINTS:]
    return _Streamed(scores, flags, lower, upper, {p - k: t for p, t in texts.items()})


def _stream_parts(
    det: SeriesDetector, state: dict[str, Any], X: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray] | None, np.ndarray | None]:
    """Band, member scores and channel contributions of streamed points, from ``state``."""
    members = getattr(det, "fitted_members_", None)
    if not members:
        parts = det._step(state, X)
        half = det.threshold_ * parts.scale
        contrib = det._contributions(parts.z) if X.shape[1] > 1 else None
        return parts.expected - half, parts.expected + half, None, contrib
    scores, contribs = {}, {}
    band = None
    for name, member in members.items():
        parts = member._step(state[name], X)
        scores[name] = det._scaled(name, member._score_of(parts))
        contribs[name] = member._contributions(parts.z)
        if name == det.band_member_:
            half = member.threshold_ * parts.scale
            band = (parts.expected - half, parts.expected + half)
    contrib = None
    if X.shape[1] > 1:
        names = list(scores)
        best = np.argmax(np.vstack([scores[n] for n in names]), axis=0)
        contrib = np.stack([contribs[n] for n in names])[best, np.arange(X.shape[0])]
    nan = np.full(X.shape, np.nan)
    lower, upper = band if band is not None else (nan, nan.copy())
    return lower, upper, scores, contrib


def _registry_name(det: SeriesDetector) -> str:
    for name in timeseries.available():
        if type(det) is timeseries.detector_class(name):
            return name
    return type(det).__name__


def _steps_between(last: pd.Timestamp, t: pd.Timestamp, freq: pd.Timedelta) -> tuple[int, bool]:
    """Missing points between ``last`` and ``t`` (-1: ``t`` is not after ``last``), and whether ``t`` is off the grid."""
    delta = pd.Timestamp(t) - pd.Timestamp(last)
    ratio = delta / freq
    k = round(ratio)
    off = not math.isclose(ratio, k, abs_tol=1e-9)
    if k < 1:
        return -1, off
    return k - 1, off


def _grid(
    start: pd.Timestamp, n: int, freq: pd.Timedelta, like: pd.DatetimeIndex
) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([start + i * freq for i in range(n)]).as_unit(like.unit)


def _timestamps(column: pd.Series, name: str, tz: Any) -> list[Any]:
    """The column's timestamps read as the data layer reads them, in the fitted time zone.

    Naive times are taken as the fitted zone's wall-clock times; a value that
    cannot be read is NaT (its row is then not scored), whatever the others.
    """
    from anomalyzer.timeseries.frame import parse_timestamps

    try:
        ts = parse_timestamps(column, name)
    except AnomalyzerError:
        parsed = []
        for value in column.tolist():
            try:
                parsed.append(parse_timestamps(pd.Series([value]), name)[0])
            except (AnomalyzerError, ValueError, TypeError):
                parsed.append(pd.NaT)
        return [_in_zone(t, tz) for t in parsed]
    return [_in_zone(t, tz) for t in ts]


def _in_zone(t: Any, tz: Any) -> Any:
    if t is pd.NaT or pd.isna(t):
        return pd.NaT
    t = pd.Timestamp(t)
    if t.tz is not None:
        return t.tz_convert(tz) if tz is not None else t.tz_convert("UTC").tz_localize(None)
    if tz is not None:
        try:
            return t.tz_localize(tz)
        except (ValueError, TypeError):  # a wall-clock time the zone skips or repeats
            return pd.NaT
    return t


# -- small helpers ---------------------------------------------------------------------


def _prepare(
    df: pd.DataFrame,
    time: str,
    value: str | Sequence[str] | None,
    group: str | None,
    freq: Any,
    fill: str,
    exclude: Sequence[str] = (),
) -> Any:
    from anomalyzer.timeseries.frame import prepare_series

    return prepare_series(
        df, time, value=value, group=group, freq=freq, fill=fill, exclude=list(exclude)
    )


def _concat_index(indexes: list[pd.DatetimeIndex]) -> pd.DatetimeIndex:
    if len(indexes) == 1:
        return indexes[0]
    tz = indexes[0].tz
    ns = np.concatenate([ix.as_unit("ns").asi8 for ix in indexes])
    out = pd.DatetimeIndex(ns.view("M8[ns]"))
    return out.tz_localize("UTC").tz_convert(tz) if tz is not None else out


def _unscored(
    df: pd.DataFrame, frames: Any, time: str, group: str | None, known: set[Any] | None
) -> dict[int, str]:
    """Why each row in no series (``frames.unscored``) gets no score."""
    rows = np.asarray(getattr(frames, "unscored", []), dtype=np.int64)
    for f in frames:
        if f.group is not None and known is not None and _key(f.group) not in known:
            rows = np.union1d(rows, np.asarray(f.rows, dtype=np.int64))
    if rows.size == 0:
        return {}
    stamps = _timestamps(df[time].iloc[rows], time, None)
    groups = df[group].iloc[rows].tolist() if group is not None else [None] * rows.size
    known_text = {str(k) for k in known} if known is not None else None
    out = {}
    for r, t, g in zip(rows.tolist(), stamps, groups, strict=True):
        if pd.isna(t):
            why = "its timestamp is missing or cannot be read"
        elif group is not None and pd.isna(g):
            why = f"it has no value in '{group}'"
        elif (
            known is not None
            and known_text is not None
            and _key(g) not in known
            and str(g) not in known_text
        ):
            why = "its series was not seen at fit"
        else:
            why = "its series has too few points with a value (see the notes)"
        out[r] = f"not scored: {why}"
    return out


def _column(s: FittedSeries, array: np.ndarray | None, channel: str) -> np.ndarray:
    """Channel ``channel`` of a per-point array of ``s``; NaN where the series lacks it."""
    if array is None:
        return np.full(len(s.index), np.nan)
    if channel in s.channels:
        return array[:, s.channels.index(channel)]
    return np.full(array.shape[0], np.nan)


def _row_reasons(
    rows: np.ndarray, points: np.ndarray, reasons: dict[int, str], n_points: int
) -> dict[int, str]:
    """The reason of each row whose point has one (rows and their points given in pairs)."""
    if not reasons:
        return {}
    has = np.zeros(n_points, dtype=bool)
    has[list(reasons)] = True
    sel = has[points]
    return {int(r): reasons[int(p)] for r, p in zip(rows[sel], points[sel], strict=True)}


def _key(value: Any) -> Any:
    """A group value as a plain dict key (numpy scalars to Python)."""
    return value.item() if isinstance(value, np.generic) else value


def _prefix(group: str | None, key: Any) -> str:
    """What a note about the series ``key`` of column ``group`` starts with (as the data layer's)."""
    return "" if group is None else f"{group}={_key(key)}: "
