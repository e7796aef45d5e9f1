"""Range-aware metrics for time series: point-adjusted F1, range precision and recall, VUS.

Anomalies in a time series are ranges of consecutive time steps, and a
detector usually fires somewhere inside, before or after a range rather than
on each of its points. Point-wise metrics ignore this; the metrics here do not:

* :func:`point_adjusted_f1`: the point-adjust protocol of Xu et al. (2018,
  "Unsupervised Anomaly Detection via Variational Auto-Encoder for Seasonal
  KPIs in Web Applications", the Donut paper). Widely reported, and biased.
* :func:`range_precision_recall`: range-based precision and recall of
  Tatbul et al. (NeurIPS 2018, "Precision and Recall for Time Series").
* :func:`vus`, :func:`range_auc_roc`, :func:`range_auc_pr`: Range-AUC and the
  Volume Under the Surface of Paparrizos et al. (VLDB 2022, "Volume Under the
  Surface: a new accuracy evaluation measure for time-series anomaly
  detection"), computed as their reference implementation in TSB-UAD does.
* :func:`series_metrics`: all of the above with point-wise ROC-AUC and AP.

Labels and flags are 0/1 (or booleans) per time step; a range is a maximal run of 1s.

>>> labels = [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]
>>> flags = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
>>> range_precision_recall(labels, flags)
RangePR(precision=0.6, recall=0.5, f1=0.5454545454545454)
>>> point_adjusted_f1(labels, flags).recall
1.0
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate.metrics import evaluate

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "DEFAULT_N_THRESHOLDS",
    "VUS",
    "PointAdjusted",
    "RangePR",
    "SeriesReport",
    "anomaly_ranges",
    "best_point_adjusted_f1",
    "point_adjusted_f1",
    "range_auc_pr",
    "range_auc_roc",
    "range_precision_recall",
    "series_metrics",
    "vus",
]

Cardinality = Literal["one", "reciprocal"]
Bias = Literal["flat", "front", "back", "middle"]

_CARDINALITIES = ("one", "reciprocal")
_BIASES = ("flat", "front", "back", "middle")

#: Default largest buffer for VUS; set it to the detector's window (often one or two periods).
DEFAULT_MAX_BUFFER = 100
#: Number of score thresholds per curve, as in the reference implementation.
DEFAULT_N_THRESHOLDS = 250


@dataclass(frozen=True)
class PointAdjusted:
    """Precision, recall and F1 after point adjustment.

    ``threshold`` is the score at or above which points were flagged, or
    ``None`` when flags were given directly.
    """

    precision: float
    recall: float
    f1: float
    threshold: float | None = None


@dataclass(frozen=True)
class RangePR:
    """Range-based precision, recall and their harmonic mean (Tatbul et al., 2018)."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class VUS:
    """Volume under the range-ROC and range-PR surfaces (Paparrizos et al., 2022).

    ``roc_by_buffer[b]`` and ``pr_by_buffer[b]`` are the range AUCs at buffer
    ``b``; the volumes are their means over ``b = 0 .. max_buffer``.
    """

    vus_roc: float
    vus_pr: float
    max_buffer: int
    n_thresholds: int
    roc_by_buffer: tuple[float, ...]
    pr_by_buffer: tuple[float, ...]


@dataclass(frozen=True)
class SeriesReport:
    """Point-wise and range-aware metrics of one scored time series.

    AUC-type fields are NaN when the series has no anomaly or is all anomaly.
    The fields at the flags (``pa_precision`` to ``range_f1``) are ``None``
    when no flags were given.
    """

    n_points: int
    n_anomalies: int
    n_ranges: int
    roc_auc: float
    average_precision: float
    vus_roc: float
    vus_pr: float
    max_buffer: int
    pa_precision: float | None = None
    pa_recall: float | None = None
    pa_f1: float | None = None
    range_precision: float | None = None
    range_recall: float | None = None
    range_f1: float | None = None

    @property
    def has_flags(self) -> bool:
        """Whether the report holds the metrics at a set of flags."""
        return self.range_f1 is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON or a table row.

        >>> series_metrics([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], max_buffer=0).to_dict()["vus_roc"]
        1.0
        """
        return asdict(self)

    def __str__(self) -> str:
        lines = [
            f"Series of {self.n_points:,} points ({self.n_anomalies:,} anomalous "
            f"in {self.n_ranges:,} range(s))",
            f"  ROC-AUC            {self.roc_auc:.3f}",
            f"  average precision  {self.average_precision:.3f}",
            f"  VUS-ROC            {self.vus_roc:.3f} (buffers 0..{self.max_buffer})",
            f"  VUS-PR             {self.vus_pr:.3f}",
        ]
        if self.has_flags:
            lines += [
                f"  range P / R / F1   {self.range_precision:.3f} / {self.range_recall:.3f} / "
                f"{self.range_f1:.3f}",
                f"  point-adjusted F1  {self.pa_f1:.3f} (flatters; see point_adjusted_f1)",
            ]
        return "\n".join(lines)


def anomaly_ranges(labels: Any) -> np.ndarray:
    """The maximal runs of 1s as rows ``[start, end]`` (both inclusive, 0-based).

    >>> anomaly_ranges([1, 1, 0, 0, 1, 0, 1]).tolist()
    [[0, 1], [4, 4], [6, 6]]
    """
    y = _check_binary(labels, "Labels", "1 = anomalous time step")
    return np.column_stack(_runs(y))


def point_adjusted_f1(
    labels: Any, scores_or_flags: Any, threshold: float | None = None
) -> PointAdjusted:
    """Precision, recall and F1 under the point-adjust protocol (Xu et al., 2018).

    With ``threshold=None`` the second argument holds 0/1 flags; otherwise it
    holds scores and the points scoring at or above ``threshold`` are flagged.
    Then, if any point of a labelled range is flagged, every point of that
    range counts as detected, and precision, recall and F1 are computed point-wise.

    Known bias: point adjustment flatters random scores. On long ranges a few
    random flags land in every range, so random or constant-ish detectors reach
    a point-adjusted F1 near that of good ones (Kim et al., AAAI 2022, "Towards
    a Rigorous Evaluation of Time-Series Anomaly Detection"). Report it only
    next to range precision/recall or VUS, never alone.

    Conventions: precision is 0 when nothing is flagged, recall is 0 when the
    series has no anomaly, and F1 is 0 when both are 0.

    >>> labels = [0] * 5 + [1] * 10 + [0] * 5
    >>> flags = [0] * 7 + [1] + [0] * 12
    >>> point_adjusted_f1(labels, flags)
    PointAdjusted(precision=1.0, recall=1.0, f1=1.0, threshold=None)
    >>> point_adjusted_f1([0, 1, 1, 0], [0.9, 0.1, 0.6, 0.2], threshold=0.5).precision
    0.6666666666666666
    """
    y = _check_binary(labels, "Labels", "1 = anomalous time step")
    if threshold is None:
        flags = _check_flags(scores_or_flags, len(y))
        cut = None
    else:
        s = _check_scores(scores_or_flags, len(y))
        cut = _check_threshold(threshold)
        flags = s >= cut
    starts, ends = _runs(y)
    lengths = ends - starts + 1
    # Range number of each anomalous point, to tell which ranges hold a flag.
    range_of = np.repeat(np.arange(len(starts)), lengths)
    hit = np.bincount(range_of, weights=flags[y == 1].astype(float), minlength=len(starts)) > 0
    tp = int(lengths[hit].sum())
    fp = int(np.count_nonzero(flags & (y == 0)))
    precision, recall, f1 = _prf(tp, fp, int(y.sum()))
    return PointAdjusted(precision, recall, f1, cut)


def best_point_adjusted_f1(labels: Any, scores: Any) -> PointAdjusted:
    """The highest point-adjusted F1 over all thresholds, with its threshold.

    Every distinct score is tried as a threshold in one sort: a range counts
    as detected from the threshold at its highest score on. Ties in F1 go to
    the highest threshold. The bias of :func:`point_adjusted_f1` applies, and
    choosing the threshold on the test labels flatters further.

    >>> best_point_adjusted_f1([0, 0, 1, 1, 1, 0], [0.1, 0.5, 0.2, 0.9, 0.3, 0.4])
    PointAdjusted(precision=1.0, recall=1.0, f1=1.0, threshold=0.9)
    """
    y = _check_binary(labels, "Labels", "1 = anomalous time step")
    s = _check_scores(scores, len(y))
    starts, ends = _runs(y)
    n_pos = int(y.sum())
    candidates = np.unique(s)[::-1]
    if len(starts):
        # A sentinel after the last point lets a range end there.
        bounds = np.column_stack((starts, ends + 1)).ravel()
        top = np.maximum.reduceat(np.r_[s, -np.inf], bounds)[::2]
        order = np.argsort(top)
        top_sorted = top[order]
        # Anomalous points in ranges whose top score is below each threshold.
        missed = np.r_[0, np.cumsum((ends - starts + 1)[order])]
        tp = n_pos - missed[np.searchsorted(top_sorted, candidates, side="left")]
    else:
        tp = np.zeros(len(candidates), dtype=np.int64)
    normal = np.sort(s[y == 0])
    fp = len(normal) - np.searchsorted(normal, candidates, side="left")
    # 2 tp / (2 tp + fp + fn); the top candidate flags at least one point, so never 0 / 0.
    f1 = 2.0 * tp / (tp + fp + n_pos)
    best = int(np.argmax(f1))
    precision, recall, best_f1 = _prf(int(tp[best]), int(fp[best]), n_pos)
    return PointAdjusted(precision, recall, best_f1, float(candidates[best]))


def range_precision_recall(
    labels: Any,
    flags: Any,
    alpha: float = 0.0,
    cardinality: Cardinality = "one",
    bias: Bias = "flat",
) -> RangePR:
    """Range-based precision and recall of Tatbul et al. (NeurIPS 2018, "Precision and Recall for Time Series").

    With real ranges ``R_i`` (runs of 1s in ``labels``) and predicted ranges
    ``P_j`` (runs of 1s in ``flags``)::

        Recall    = mean_i [ alpha * Existence(R_i) + (1 - alpha) * Overlap(R_i) ]
        Overlap(R_i)  = gamma(x_i) * sum_j omega(R_i, R_i ∩ P_j)
        Precision = mean_j gamma(x_j) * sum_i omega(P_j, P_j ∩ R_i)

    ``Existence`` is 1 when ``R_i`` meets any predicted range; precision has no
    existence term. ``x`` is the number of ranges a range meets. ``omega`` is
    the share of a range's positional weight ``delta(i, l)`` (positions
    ``i = 1..l``) that the overlap covers. ``cardinality`` picks ``gamma`` as
    in the paper and its reference evaluator: ``"one"`` is always 1 (no
    penalty for fragmented detections), ``"reciprocal"`` is ``1/x`` when a
    range meets ``x > 1`` ranges. ``bias`` picks ``delta`` (for both
    precision and recall): ``"flat"`` 1, ``"front"`` ``l - i + 1``,
    ``"back"`` ``i``, ``"middle"`` ``i`` if ``i <= l/2`` else ``l - i + 1``.

    Conventions, as in the reference evaluator: with no predicted range
    precision is 0; with no real range recall is 0; F1 is 0 when both are 0.

    >>> labels = [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    >>> flags = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    >>> range_precision_recall(labels, flags, alpha=1.0).recall
    1.0
    >>> r = range_precision_recall(labels, flags, bias="back")
    >>> round(r.recall, 4), round(r.precision, 4)  # 15/21 and 6/15
    (0.7143, 0.4)
    """
    y = _check_binary(labels, "Labels", "1 = anomalous time step")
    f = _check_flags(flags, len(y))
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise AnomalyzerError(f"alpha must be a number between 0 and 1, not {alpha!r}.")
    if cardinality not in _CARDINALITIES:
        raise AnomalyzerError(f"cardinality must be 'one' or 'reciprocal', not {cardinality!r}.")
    if bias not in _BIASES:
        raise AnomalyzerError(
            f"bias must be one of 'flat', 'front', 'back' or 'middle', not {bias!r}."
        )
    real, predicted = _runs(y), _runs(f)
    recall = _range_reward(real, predicted, float(alpha), cardinality, bias)
    precision = _range_reward(predicted, real, 0.0, cardinality, bias)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return RangePR(precision, recall, f1)


def range_auc_roc(
    labels: Any, scores: Any, buffer: int = 0, *, n_thresholds: int = DEFAULT_N_THRESHOLDS
) -> float:
    """Range-AUC-ROC at one buffer length (Paparrizos et al., VLDB 2022).

    As in the reference ``RangeAUC`` of TSB-UAD: the labels are softened
    around every range, ``buffer // 2`` steps on each side getting weight
    ``sqrt(1 - d / buffer)`` at distance ``d`` (overlaps add up, capped at 1).
    Thresholds are the scores at ``n_thresholds`` evenly spaced ranks, highest
    first, flagging the points scoring at or above them. At each, with
    ``TP`` the soft-label mass flagged and ``P' = (P + soft-label mass) / 2``
    (``P`` the anomalous points): TPR is ``min(TP / P', 1)`` times the share
    of softened ranges holding a flag, and FPR is
    ``(flagged - TP) / (n - P')``. The curve runs from (0, 0) through those
    points to (1, 1), integrated by the trapezoid rule.

    NaN when the series has no anomaly or is all anomaly. Because soft labels
    count fully in ``TP`` but only half in ``P'``, a constant score gets a
    little more than 0.5 once ``buffer > 0``, and random scores a few points
    more; compare detectors at equal buffers rather than against 0.5.

    >>> range_auc_roc([0, 0, 1, 1, 0, 0], [0.1, 0.2, 0.9, 0.8, 0.3, 0.1])
    1.0
    >>> labels, early = [0, 0, 0, 1, 1, 0], [0.1, 0.8, 0.9, 0.2, 0.3, 0.1]  # fires just before
    >>> round(range_auc_roc(labels, early), 3), round(range_auc_roc(labels, early, buffer=4), 3)
    (0.5, 0.893)
    """
    y, s = _check_series(labels, scores)
    b = _check_count(buffer, "buffer", 0)
    t = _check_count(n_thresholds, "n_thresholds", 1)
    roc, _ = _range_aucs(y, s, np.array([b]), t, merge_touching=True)
    return float(roc[0])


def range_auc_pr(
    labels: Any, scores: Any, buffer: int = 0, *, n_thresholds: int = DEFAULT_N_THRESHOLDS
) -> float:
    """Range-AUC-PR at one buffer length (Paparrizos et al., VLDB 2022).

    The same thresholds and soft labels as :func:`range_auc_roc`; precision is
    the flagged soft-label mass over the number flagged, and the area is the
    reference's trapezoid rule over (range TPR, precision) starting from (0, 1).
    That start means a score tied at the top (a constant, say) gets about
    ``(1 + anomaly share) / 2``, not the anomaly share: compare detectors on
    the same series rather than against the base rate. NaN when the series has
    no anomaly or is all anomaly.

    >>> range_auc_pr([0, 0, 1, 1, 0, 0], [0.1, 0.2, 0.9, 0.8, 0.3, 0.1])
    1.0
    """
    y, s = _check_series(labels, scores)
    b = _check_count(buffer, "buffer", 0)
    t = _check_count(n_thresholds, "n_thresholds", 1)
    _, pr = _range_aucs(y, s, np.array([b]), t, merge_touching=True)
    return float(pr[0])


def vus(
    labels: Any,
    scores: Any,
    max_buffer: int = DEFAULT_MAX_BUFFER,
    *,
    n_thresholds: int = DEFAULT_N_THRESHOLDS,
) -> VUS:
    """VUS-ROC and VUS-PR: range AUCs averaged over buffers ``0 .. max_buffer`` (Paparrizos et al., VLDB 2022).

    Follows the reference ``RangeAUC_volume_opt`` of TSB-UAD / VUS: each slice
    is :func:`range_auc_roc` / :func:`range_auc_pr` at that buffer, except
    that two softened ranges that merely touch count as two ranges there (the
    single-buffer functions, like the reference ``RangeAUC``, merge them).
    The reference sets ``max_buffer`` to the detector's sliding window, often
    one or two periods of the series; the default here is
    ``DEFAULT_MAX_BUFFER`` (100) time steps. A buffer ``b`` softens
    ``b // 2`` steps on each side of every range.

    NaN volumes when the series has no anomaly or is all anomaly.

    >>> labels = [0] * 10 + [1] * 5 + [0] * 10
    >>> scores = [0.0] * 8 + [1.0] * 2 + [0.0] * 15  # fires just before the range
    >>> v = vus(labels, scores, max_buffer=8)
    >>> round(v.vus_roc, 3), round(v.roc_by_buffer[0], 3), round(v.roc_by_buffer[8], 3)
    (0.589, 0.45, 0.68)
    """
    y, s = _check_series(labels, scores)
    b = _check_count(max_buffer, "max_buffer", 0)
    t = _check_count(n_thresholds, "n_thresholds", 1)
    roc, pr = _range_aucs(y, s, np.arange(b + 1), t, merge_touching=False)
    return VUS(
        vus_roc=float(np.mean(roc)),
        vus_pr=float(np.mean(pr)),
        max_buffer=b,
        n_thresholds=t,
        roc_by_buffer=tuple(roc.tolist()),
        pr_by_buffer=tuple(pr.tolist()),
    )


def series_metrics(
    labels: Any,
    scores: Any,
    flags: Any = None,
    max_buffer: int = DEFAULT_MAX_BUFFER,
    *,
    n_thresholds: int = DEFAULT_N_THRESHOLDS,
) -> SeriesReport:
    """Point-wise ROC-AUC and AP, VUS, and with ``flags`` range and point-adjusted metrics.

    ROC-AUC and AP equal scikit-learn's (see :mod:`anomalyzer.evaluate.metrics`);
    VUS as in :func:`vus`; range precision/recall with the defaults of
    :func:`range_precision_recall` (``alpha=0``, flat bias, cardinality
    ``"one"``). AUC-type fields are NaN for a series with no anomaly or only anomalies.

    >>> labels = [0] * 10 + [1] * 5 + [0] * 10
    >>> scores = [0.1] * 11 + [0.9] * 2 + [0.1] * 12
    >>> print(series_metrics(labels, scores, flags=[s > 0.5 for s in scores], max_buffer=4))
    Series of 25 points (5 anomalous in 1 range(s))
      ROC-AUC            0.700
      average precision  0.520
      VUS-ROC            0.691 (buffers 0..4)
      VUS-PR             0.761
      range P / R / F1   1.000 / 0.400 / 0.571
      point-adjusted F1  1.000 (flatters; see point_adjusted_f1)
    """
    y, s = _check_series(labels, scores)
    b = _check_count(max_buffer, "max_buffer", 0)
    t = _check_count(n_thresholds, "n_thresholds", 1)
    n_pos = int(y.sum())
    if 0 < n_pos < len(y):
        pointwise = evaluate(y, s)
        roc_auc, ap = pointwise.roc_auc, pointwise.average_precision
    else:
        roc_auc = ap = math.nan
    volume = vus(y, s, b, n_thresholds=t)
    fields: dict[str, Any] = {
        "n_points": len(y),
        "n_anomalies": n_pos,
        "n_ranges": len(_runs(y)[0]),
        "roc_auc": roc_auc,
        "average_precision": ap,
        "vus_roc": volume.vus_roc,
        "vus_pr": volume.vus_pr,
        "max_buffer": b,
    }
    if flags is not None:
        f = _check_flags(flags, len(y))
        pa = point_adjusted_f1(y, f)
        rpr = range_precision_recall(y, f)
        fields.update(
            pa_precision=pa.precision,
            pa_recall=pa.recall,
            pa_f1=pa.f1,
            range_precision=rpr.precision,
            range_recall=rpr.recall,
            range_f1=rpr.f1,
        )
    return SeriesReport(**fields)


# --- range-based precision and recall ------------------------------------------------------


def _range_reward(
    own: tuple[np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    alpha: float,
    cardinality: str,
    bias: str,
) -> float:
    """Mean over ``own`` ranges of alpha * existence + (1 - alpha) * gamma * sum of omega."""
    starts, ends = own
    o_starts, o_ends = other
    if len(starts) == 0:
        return 0.0
    # Ranges on both sides are sorted and disjoint, so those of ``other`` that
    # meet range i are the consecutive ones from lo[i] to hi[i] - 1.
    lo = np.searchsorted(o_ends, starts, side="left")
    hi = np.searchsorted(o_starts, ends, side="right")
    count = hi - lo
    pair = np.repeat(np.arange(len(starts)), count)
    first = np.cumsum(count) - count
    partner = np.arange(len(pair)) - np.repeat(first, count) + np.repeat(lo, count)
    length = (ends - starts + 1)[pair]
    # Overlap as 1-based positions u..v inside the own range.
    u = np.maximum(starts[pair], o_starts[partner]) - starts[pair] + 1
    v = np.minimum(ends[pair], o_ends[partner]) - starts[pair] + 1
    omega = (_cum_delta(v, length, bias) - _cum_delta(u - 1, length, bias)) / _cum_delta(
        length, length, bias
    )
    overlap = np.bincount(pair, weights=omega, minlength=len(starts))
    if cardinality == "reciprocal":
        overlap = overlap / np.maximum(count, 1)
    reward = alpha * (count > 0) + (1.0 - alpha) * overlap
    return float(reward.mean())


def _cum_delta(m: np.ndarray, length: np.ndarray, bias: str) -> np.ndarray:
    """Sum of the positional weights delta(i, length) for i = 1..m, in closed form."""
    m = m.astype(np.float64)
    l1 = length.astype(np.float64) + 1.0
    tri = m * (m + 1.0) / 2.0
    if bias == "flat":
        return m
    if bias == "back":
        return tri
    if bias == "front":
        return m * l1 - tri
    # middle: rising i up to half the length, then falling l - i + 1.
    h = (length // 2).astype(np.float64)
    tri_h = h * (h + 1.0) / 2.0
    return np.where(m <= h, tri, tri_h + (m - h) * l1 - (tri - tri_h))


# --- Range-AUC and VUS ---------------------------------------------------------------------


def _range_aucs(
    y: np.ndarray,
    s: np.ndarray,
    buffers: np.ndarray,
    n_thresholds: int,
    *,
    merge_touching: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Range-AUC-ROC and -PR at each buffer, computed as the TSB-UAD reference does.

    Rather than re-flagging the series at each threshold, each point gets the
    index of the first threshold that flags it; every count along the curve is
    then a cumulative sum of a ``bincount`` over those indices.
    """
    n = len(y)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == n:
        nans = np.full(len(buffers), np.nan)
        return nans, nans.copy()
    t = n_thresholds
    # Thresholds at evenly spaced ranks of the scores sorted high to low.
    thresholds = np.sort(s)[::-1][np.linspace(0, n - 1, t).astype(int)]
    # Thresholds fall, so a point is flagged (score >= threshold) from its first index on;
    # index t means never (when the lowest threshold is above the lowest score).
    first = np.searchsorted(-thresholds, -s, side="left")
    n_flagged = np.cumsum(np.bincount(first, minlength=t + 1)[:t])

    starts, ends = _runs(y)
    # Only points within the largest half-buffer of a range can carry label weight.
    reach = int(buffers.max()) // 2
    cover = np.zeros(n + 1, dtype=np.int64)
    np.add.at(cover, np.maximum(starts - reach, 0), 1)
    np.add.at(cover, np.minimum(ends + reach, n - 1) + 1, -1)
    support = np.flatnonzero(np.cumsum(cover[:n]) > 0)
    slot = np.full(n, -1, dtype=np.int64)
    slot[support] = np.arange(len(support))
    first_s = first[support]
    # A "never flagged" sentinel lets reduceat take a group ending at the last point.
    first_s_end = np.r_[first_s, t]
    inside = y[support] == 1

    # Distances to the nearest and second-nearest range on each side. A point
    # reached by two buffers has weight >= 2 * sqrt(1/2) before the cap, so 1.
    pos = support
    prev = np.searchsorted(ends, pos, side="left") - 1  # last range ending before pos
    nxt = np.searchsorted(starts, pos, side="right")  # first range starting after pos
    big = np.iinfo(np.int64).max // 4
    ends_pad = np.r_[ends, -big]  # index -1 wraps to the pad: "no such range"
    starts_pad = np.r_[starts, big, big]
    after1 = np.where(prev >= 0, pos - ends_pad[prev], big)
    after2 = np.where(prev >= 1, pos - ends_pad[prev - 1], big)
    before1 = starts_pad[nxt] - pos
    before2 = starts_pad[nxt + 1] - pos

    roc = np.empty(len(buffers))
    pr = np.empty(len(buffers))
    for i, b in enumerate(buffers.tolist()):
        h = b // 2
        weight = inside.astype(np.float64)
        if h > 0:
            a_in, b_in = after1 <= h, before1 <= h
            both = (after2 <= h) | (before2 <= h) | (a_in & b_in)
            with np.errstate(invalid="ignore"):
                soft = np.where(
                    a_in,
                    np.sqrt(1.0 - after1 / b),
                    np.where(b_in, np.sqrt(1.0 - before1 / b), 0.0),
                )
            weight = np.where(inside | both, 1.0, soft)
        tp = np.cumsum(np.bincount(first_s, weights=weight, minlength=t + 1)[:t])

        # Softened ranges: merged when they overlap (the volume code) or also
        # when they just touch (the single-buffer code, maximal runs of weight > 0).
        gap = 1 if merge_touching else 0
        split = np.flatnonzero(ends[:-1] + h + gap < starts[1:] - h)
        g_lo = np.maximum(starts[np.r_[0, split + 1]] - h, 0)
        g_hi = np.minimum(ends[np.r_[split, len(ends) - 1]] + h, n - 1)
        bounds = np.column_stack((slot[g_lo], slot[g_hi] + 1)).ravel()
        touched_from = np.minimum.reduceat(first_s_end, bounds)[::2]
        existence = np.cumsum(np.bincount(touched_from, minlength=t + 1)[:t]) / len(g_lo)

        p_new = (n_pos + weight.sum()) / 2.0
        tpr = np.minimum(tp / p_new, 1.0) * existence
        fpr = (n_flagged - tp) / (n - p_new)
        precision = tp / n_flagged
        tpr_c = np.r_[0.0, tpr, 1.0]
        fpr_c = np.r_[0.0, fpr, 1.0]
        prec_c = np.r_[1.0, precision]
        roc[i] = np.dot(np.diff(fpr_c), (tpr_c[1:] + tpr_c[:-1]) / 2.0)
        # The reference stops the PR curve at the last threshold, before the (1, 1) point.
        pr[i] = np.dot(np.diff(tpr_c[:-1]), (prec_c[1:] + prec_c[:-1]) / 2.0)
    return roc, pr


# --- shared helpers ------------------------------------------------------------------------


def _runs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and inclusive ends of the maximal runs of nonzero values."""
    edges = np.diff(np.r_[0, (x != 0).astype(np.int8), 0])
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def _prf(tp: int, fp: int, n_pos: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / n_pos if n_pos else 0.0
    f1 = 2 * tp / (2 * tp + fp + (n_pos - tp)) if tp else 0.0
    return precision, recall, f1


def _check_binary(values: Any, what: str, meaning: str) -> np.ndarray:
    """0/1 or boolean values, one per time step, as an int8 array."""
    v = np.asarray(values)
    if v.ndim != 1:
        raise AnomalyzerError(
            f"{what} must be one value per time step, not an array of shape {v.shape}."
        )
    if len(v) == 0:
        raise AnomalyzerError(f"{what} are empty; give one 0/1 value per time step.")
    if v.dtype == bool:
        return v.astype(np.int8)
    if v.dtype.kind in "iuf" and np.isin(v, (0, 1)).all():
        return v.astype(np.int8)
    shown = ", ".join(map(str, list(dict.fromkeys(v.tolist()))[:5]))
    raise AnomalyzerError(f"{what} must be 0/1 or booleans ({meaning}), but hold: {shown}.")


def _check_flags(flags: Any, n: int) -> np.ndarray:
    f = _check_binary(flags, "Flags", "1 = flagged as anomalous").astype(bool)
    if len(f) != n:
        raise AnomalyzerError(
            f"There are {len(f)} flag(s) but {n} label(s); give one flag per time step."
        )
    return f


def _check_scores(scores: Any, n: int) -> np.ndarray:
    try:
        s = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnomalyzerError("Scores must be numbers (higher = more anomalous).") from None
    if s.ndim != 1:
        raise AnomalyzerError(
            f"Scores must be one number per time step, not an array of shape {s.shape}."
        )
    bad = int(np.count_nonzero(~np.isfinite(s)))
    if bad:
        raise AnomalyzerError(
            f"Scores contain {bad} NaN or infinite value(s); give a finite score at every time step."
        )
    if len(s) != n:
        raise AnomalyzerError(
            f"There are {len(s)} score(s) but {n} label(s); give one score per time step."
        )
    return s


def _check_series(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _check_binary(labels, "Labels", "1 = anomalous time step")
    return y, _check_scores(scores, len(y))


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise AnomalyzerError(f"{name} must be a whole number >= {minimum}, not {value!r}.")
    return int(value)


def _check_threshold(threshold: Any) -> float:
    try:
        cut = float(threshold)
    except (TypeError, ValueError):
        cut = math.nan
    if math.isnan(cut):
        raise AnomalyzerError(f"threshold must be a number, not {threshold!r}.")
    return cut
