"""The Numenta Anomaly Benchmark (NAB) score of anomaly scores over labelled time series.

NAB (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms - the
Numenta Anomaly Benchmark", ICMLA 2015; github.com/numenta/NAB) labels each
anomaly with a window of rows and rewards a detector for flagging it early,
following ``nab/sweeper.py`` (``Sweeper.calcSweepScore``,
``calcScoreByThreshold``), ``nab/optimizer.py`` and ``nab/runner.py``:

* A row is a detection when its score is at or above the threshold.
* The first ``min(floor(0.15 n), 0.15 * 5000)`` rows of a series of ``n`` rows
  are a probationary period and are not scored (``util.getProbationPeriod``).
* A window's earliest detection earns ``tp * S(-(end - i + 1) / width) / S(-1)``
  with ``S(x) = 2 / (1 + exp(5x)) - 1`` (``-1`` for ``x > 3``): ``tp`` at the
  window's first row, less later on. Further detections in the window add
  nothing; a window with none costs ``fn``.
* A detection outside every window costs ``fp * S((i - end) / (width - 1))``,
  measured from the end of the window before it, or ``fp`` when no window
  precedes it.
* One threshold serves the whole corpus: NAB's sweep tries every distinct
  score (and flagging nothing) and keeps the best, the highest threshold on
  a tie.
* ``score = 100 * (raw - null) / (perfect - null)``, where ``perfect`` is
  ``tp`` per labelled window and ``null`` is NAB's null detector (a constant
  score, swept like any other: the better of flagging nothing and flagging
  every row).

The sweep sorts the rows once and adds up each row's change to the score, so
a corpus of hundreds of thousands of rows is scored in a fraction of a second.

>>> scores = np.zeros(40)
>>> scores[[22, 33]] = [0.9, 0.6]  # a late detection in the window, a false positive after it
>>> result = nab_score(NabSeries(scores, [(20, 24)], name="cpu"))
>>> result.threshold, round(result.raw, 4), round(result.score, 2)  # the false positive left out
(0.9, 0.9174, 95.87)
>>> print(nab_score(NabSeries(scores, [(20, 24)]), threshold=0.5))
NAB standard: 90.37 (raw 0.807, null -1.000, perfect 1.000; score >= 0.5: 1 windows detected, 0 missed, 1 false positives)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError

__all__ = [
    "PROFILES",
    "NabProfile",
    "NabResult",
    "NabSeries",
    "label_windows",
    "nab_score",
    "nab_scores",
    "windows_to_positions",
]

# NAB's Runner: the first 15% of each series (at most 750 rows) is not scored.
PROBATION_PERCENT = 0.15


@dataclass(frozen=True)
class NabProfile:
    """The weights of one NAB application profile (NAB's ``config/profiles.json``).

    ``tp`` is the reward for a window detected at its first row, ``fp`` the
    cost of a detection far from any window and ``fn`` the cost of a missed
    window. ``tn`` is listed as NAB lists it; true negatives score nothing.
    """

    tp: float
    fp: float
    fn: float
    tn: float


PROFILES: dict[str, NabProfile] = {
    "standard": NabProfile(tp=1.0, fp=0.11, fn=1.0, tn=1.0),
    "reward_low_fp_rate": NabProfile(tp=1.0, fp=0.22, fn=1.0, tn=1.0),
    "reward_low_fn_rate": NabProfile(tp=1.0, fp=0.11, fn=2.0, tn=1.0),
}


def _scaled_sigmoid(x: np.ndarray | float) -> np.ndarray:
    """NAB's ``scaledSigmoid``: ``2 * sigmoid(-5x) - 1``, and ``-1`` past ``x > 3``."""
    x = np.asarray(x, dtype=float)
    # Clipping first keeps exp from overflowing on the rows replaced by -1 anyway.
    inner = 2.0 / (1.0 + np.exp(5.0 * np.minimum(x, 3.0))) - 1.0
    return np.where(x > 3.0, -1.0, inner)


# A detection at a window's first row earns exactly ``tp``: NAB divides by this.
_MAX_TP = float(_scaled_sigmoid(-1.0))


@dataclass(frozen=True)
class NabSeries:
    """One labelled series: its anomaly scores and its windows as inclusive row ranges.

    ``windows`` are ``(first_row, last_row)`` pairs in time order and must not
    overlap; build them with :func:`windows_to_positions` or :func:`label_windows`.

    >>> NabSeries([0.1, 0.7, 0.2], [(1, 2)], name="a").windows
    [(1, 2)]
    """

    scores: np.ndarray
    windows: list[tuple[int, int]]
    name: str = ""

    def __post_init__(self) -> None:
        what = f"Series {self.name!r}" if self.name else "The series"
        try:
            scores = np.asarray(self.scores, dtype=float)
        except (TypeError, ValueError):
            raise AnomalyzerError(f"{what} has scores that are not numbers.") from None
        if scores.ndim != 1 or len(scores) == 0:
            raise AnomalyzerError(f"{what} needs a non-empty one-dimensional array of scores.")
        if not np.isfinite(scores).all():
            bad = int((~np.isfinite(scores)).sum())
            raise AnomalyzerError(f"{what} has {bad} score(s) that are NaN or infinite.")
        windows: list[tuple[int, int]] = []
        for window in self.windows:
            try:
                start, end = (int(v) for v in window)
            except (TypeError, ValueError):
                raise AnomalyzerError(
                    f"{what} has window {window!r}; give each window as a (first_row, last_row) "
                    "pair of integers."
                ) from None
            if not 0 <= start <= end < len(scores):
                raise AnomalyzerError(
                    f"{what} has window {(start, end)} outside its rows 0 to {len(scores) - 1} "
                    "(or ending before it starts)."
                )
            if windows and start <= windows[-1][1]:
                raise AnomalyzerError(
                    f"{what} has window {(start, end)} overlapping or preceding window "
                    f"{windows[-1]}; give windows in time order without overlap."
                )
            windows.append((start, end))
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "windows", windows)


@dataclass(frozen=True)
class NabResult:
    """The NAB score of a corpus for one profile.

    ``score`` is normalised: 100 for the perfect detector, 0 for NAB's null
    detector, negative for worse than the null. ``raw`` is the summed score of
    all series at ``threshold`` (``inf`` when flagging nothing is best), with
    ``per_series`` its parts. ``tp`` and ``fn`` count the windows detected and
    missed, ``fp`` the detections outside every window (NAB's result files
    count rows instead).
    """

    profile: str
    score: float
    raw: float
    null: float
    perfect: float
    threshold: float
    tp: int
    fp: int
    fn: int
    per_series: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON or a table row.

        >>> nab_score(NabSeries([0.0] * 20 + [1.0], [(20, 20)])).to_dict()["score"]
        100.0
        """
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"NAB {self.profile}: {self.score:.2f} (raw {self.raw:.3f}, null {self.null:.3f}, "
            f"perfect {self.perfect:.3f}; score >= {self.threshold:.4g}: {self.tp} windows "
            f"detected, {self.fn} missed, {self.fp} false positives)"
        )


def windows_to_positions(timestamps: Any, windows: Any) -> list[tuple[int, int]]:
    """Timestamp windows ``[[start, end], ...]`` as inclusive row ranges of ``timestamps``.

    As in NAB's labeler, both ends of each window must be timestamps of the
    series (their first occurrence is used); windows come back in time order.

    >>> ts = pd.date_range("2024-01-01", periods=6, freq="h")
    >>> windows_to_positions(ts, [["2024-01-01 03:00", "2024-01-01 04:00:00.000000"]])
    [(3, 4)]
    """
    try:
        index = pd.DatetimeIndex(pd.to_datetime(pd.Index(timestamps)))
    except (TypeError, ValueError):
        raise AnomalyzerError("The timestamps could not be read as dates and times.") from None
    first = index[~index.duplicated()]
    rows = np.flatnonzero(~index.duplicated())
    positions: list[tuple[int, int]] = []
    for window in windows:
        try:
            start, end = (pd.Timestamp(t) for t in window)
        except (TypeError, ValueError):
            raise AnomalyzerError(
                f"Window {window!r} is not a [start, end] pair of timestamps."
            ) from None
        try:
            found = first.get_indexer([start, end])
        except (TypeError, ValueError):  # such as a time zone on one side only
            found = np.array([-1, -1])
        if (found < 0).any():
            raise AnomalyzerError(
                f"Window {window!r} has an end that is not a timestamp of the series; NAB "
                "windows start and end exactly on timestamps of the data."
            )
        a, b = int(rows[found[0]]), int(rows[found[1]])
        if b < a:
            raise AnomalyzerError(f"Window {window!r} ends before it starts.")
        positions.append((a, b))
    return sorted(positions)


def label_windows(labels: Any) -> list[tuple[int, int]]:
    """The maximal runs of 1 in a 0/1 (or boolean) label vector, as inclusive row ranges.

    >>> label_windows([0, 1, 1, 0, 0, 1])
    [(1, 2), (5, 5)]
    """
    y = np.asarray(labels)
    if y.ndim != 1 or not np.isin(y, [0, 1]).all():
        raise AnomalyzerError("Labels must be a one-dimensional vector of 0/1 or booleans.")
    edges = np.diff(np.r_[0, y.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


class _Corpus:
    """Every scored row of a corpus with its unweighted NAB value, shared by all profiles."""

    def __init__(self, series: NabSeries | Sequence[NabSeries], probation_percent: float) -> None:
        items = [series] if isinstance(series, NabSeries) else list(series)
        if not items:
            raise AnomalyzerError("The corpus is empty; give at least one NabSeries.")
        if not all(isinstance(s, NabSeries) for s in items):
            raise AnomalyzerError("Give the corpus as NabSeries objects (scores and windows).")
        if not 0.0 <= probation_percent < 1.0:
            raise AnomalyzerError(
                f"probation_percent is {probation_percent}; use a fraction in [0, 1)."
            )
        self.names = [s.name or f"series {k}" for k, s in enumerate(items)]
        if len(set(self.names)) < len(self.names):
            raise AnomalyzerError("Two series have the same name; give each a unique name.")
        scores, values, windows, owners = [], [], [], []
        window_owner: list[int] = []
        window_scored: list[Any] = []
        for k, s in enumerate(items):
            n = len(s.scores)
            # NAB's getProbationPeriod: rows i < min(floor(p n), p 5000) are not scored.
            first = min(
                n, math.ceil(min(math.floor(probation_percent * n), probation_percent * 5000))
            )
            value, window = _row_values(n, s.windows, first)
            window[window >= 0] += len(window_owner)
            scores.append(s.scores[first:])
            values.append(value)
            windows.append(window)
            owners.append(np.full(n - first, k))
            window_owner += [k] * len(s.windows)
            # A window entirely in the probationary period is neither hit nor missed.
            window_scored += [end >= first for _, end in s.windows]
        self.scores = np.concatenate(scores)
        self.values = np.concatenate(values)
        self.windows = np.concatenate(windows)
        self.owner = np.concatenate(owners)
        self.window_owner = np.asarray(window_owner, dtype=np.int64)
        self.window_scored = np.asarray(window_scored, dtype=bool)
        self._ranking: tuple[np.ndarray, ...] | None = None

    def at_threshold(self, profile: NabProfile, threshold: float) -> tuple[np.ndarray, int, int]:
        """Raw score per series, windows detected and false positives at one threshold."""
        flagged = self.scores >= threshold
        outside = self.windows < 0
        false_pos = flagged & outside
        per_series = np.bincount(
            self.owner[false_pos],
            weights=profile.fp * self.values[false_pos],
            minlength=len(self.names),
        ).astype(float)  # bincount of nothing is an integer array
        hits = np.flatnonzero(flagged & ~outside)
        # Rows run in time order, so a window's first occurrence is its earliest detection,
        # which is also its best one: NAB keeps the maximum over the window.
        hit_windows, earliest = np.unique(self.windows[hits], return_index=True)
        parts = np.where(self.window_scored, -profile.fn, 0.0)
        parts[hit_windows] = profile.tp * self.values[hits[earliest]]
        per_series += np.bincount(self.window_owner, weights=parts, minlength=len(self.names))
        return per_series, len(hit_windows), int(false_pos.sum())

    def best_threshold(self, profile: NabProfile) -> float:
        """NAB's sweep: the threshold with the best corpus score, the highest on a tie."""
        order, last, outside, in_rows, new_window, gain = self._rank()
        change = np.where(outside, profile.fp * self.values[order], 0.0)
        # The first detection of a window adds its reward and removes the miss;
        # an earlier one replaces the reward; later ones add nothing (gain 0).
        change[in_rows] = profile.tp * gain + profile.fn * new_window
        nothing = -profile.fn * float(self.window_scored.sum())
        totals = np.r_[nothing, nothing + np.cumsum(change)[last]]
        thresholds = np.r_[np.inf, self.scores[order][last]]
        return float(thresholds[int(np.argmax(totals))])

    def _rank(self) -> tuple[np.ndarray, ...]:
        if self._ranking is None:
            order = np.argsort(-self.scores, kind="stable")
            ranked = self.scores[order]
            # The total after the last row of each run of tied scores: ties are flagged together.
            last = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
            window = self.windows[order]
            outside = window < 0
            in_rows = np.flatnonzero(~outside)
            by_window = np.argsort(window[in_rows], kind="stable")
            in_rows = in_rows[by_window]
            ids = window[in_rows]
            # Earliest row flagged so far in each window, as the threshold drops: one running
            # minimum over all windows, each window shifted below the one before it so that
            # the minimum restarts at every window.
            shift = (len(self.window_owner) - ids) * len(order)
            earliest = np.minimum.accumulate(shift + order[in_rows]) - shift
            value = self.values[earliest]
            new_window = np.r_[True, ids[1:] != ids[:-1]]
            gain = np.where(new_window, value, value - np.r_[0.0, value[:-1]])
            self._ranking = (order, last, outside, in_rows, new_window, gain)
        return self._ranking


def _row_values(
    n: int, windows: list[tuple[int, int]], first: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unweighted NAB value and window index (-1 outside) of rows ``first`` to ``n - 1``."""
    i = np.arange(first, n)
    values = np.full(len(i), -1.0)  # a detection before any window: -1 (NAB Sweeper)
    window = np.full(len(i), -1, dtype=np.int64)
    if not windows or len(i) == 0:
        return values, window
    starts = np.array([a for a, _ in windows])
    ends = np.array([b for _, b in windows])
    width = (ends - starts + 1).astype(float)
    latest = np.searchsorted(starts, i, side="right") - 1  # last window started at or before i
    k = np.maximum(latest, 0)
    inside = (latest >= 0) & (i <= ends[k])
    after = (latest >= 0) & ~inside
    kin = k[inside]
    values[inside] = _scaled_sigmoid(-(ends[kin] - i[inside] + 1) / width[kin]) / _MAX_TP
    window[inside] = kin
    kout = k[after]
    # NAB divides by width - 1, which is 0 for a one-row window: the limit, -1, is used there.
    with np.errstate(divide="ignore"):
        position = (i[after] - ends[kout]) / (width[kout] - 1.0)
    values[after] = _scaled_sigmoid(position)
    return values, window


def _profile(name: str) -> tuple[str, NabProfile]:
    key = str(name).lower()
    if key not in PROFILES:
        raise AnomalyzerError(f"Unknown NAB profile {name!r}; use one of: {', '.join(PROFILES)}.")
    return key, PROFILES[key]


def _result(corpus: _Corpus, name: str, threshold: float | None) -> NabResult:
    key, profile = _profile(name)
    if threshold is None:
        threshold = corpus.best_threshold(profile)
    elif not isinstance(threshold, numbers.Real) or math.isnan(threshold):
        raise AnomalyzerError(f"threshold is {threshold!r}; give a number, or None to optimise it.")
    per_series, tp, fp = corpus.at_threshold(profile, float(threshold))
    raw = float(per_series.sum())
    # NAB's null detector gives every row one score; its swept threshold flags nothing
    # or everything, whichever scores better.
    nothing = -profile.fn * float(corpus.window_scored.sum())
    null = max(nothing, float(corpus.at_threshold(profile, -np.inf)[0].sum()))
    perfect = profile.tp * len(corpus.window_owner)
    if perfect == null:
        raise AnomalyzerError(
            "The corpus has no anomaly windows, so its NAB score is undefined; label at least one."
        )
    return NabResult(
        profile=key,
        score=100.0 * (raw - null) / (perfect - null),
        raw=raw,
        null=null,
        perfect=perfect,
        threshold=float(threshold),
        tp=tp,
        fp=fp,
        fn=int(corpus.window_scored.sum()) - tp,
        per_series=dict(zip(corpus.names, per_series.tolist(), strict=True)),
    )


def nab_score(
    series: NabSeries | Sequence[NabSeries],
    profile: str = "standard",
    threshold: float | None = None,
    *,
    probation_percent: float = PROBATION_PERCENT,
) -> NabResult:
    """The NAB score of a corpus (one series or many) for one profile.

    ``threshold=None`` optimises one threshold for the whole corpus, as NAB
    does; a number scores the rows at or above it as detections.

    >>> s = NabSeries([0.0] * 25 + [0.5] + [0.0] * 4 + [0.4, 0.9, 0.1, 0.0], [(30, 32)])
    >>> r = nab_score(s)
    >>> r.threshold, round(r.raw, 4), round(r.score, 2), (r.tp, r.fp, r.fn)
    (0.9, 0.9437, 97.19, (1, 0, 0))
    >>> round(nab_score(s, threshold=0.4).raw, 4)  # earlier in the window, but a false positive
    0.89
    """
    return _result(_Corpus(series, probation_percent), profile, threshold)


def nab_scores(
    series: NabSeries | Sequence[NabSeries],
    profiles: Sequence[str] = tuple(PROFILES),
    *,
    probation_percent: float = PROBATION_PERCENT,
) -> dict[str, NabResult]:
    """The NAB score for each profile, each with its own optimised threshold.

    >>> s = NabSeries([0.0] * 25 + [0.5] + [0.0] * 4 + [0.4, 0.9, 0.1, 0.0], [(30, 32)])
    >>> {k: round(r.score, 2) for k, r in nab_scores(s).items()}
    {'standard': 97.19, 'reward_low_fp_rate': 97.19, 'reward_low_fn_rate': 98.02}
    """
    corpus = _Corpus(series, probation_percent)
    return {_profile(p)[0]: _result(corpus, p, None) for p in profiles}
