"""How well scores separate labelled anomalies from normal rows.

All ranking metrics come from one sort of the scores. Rows with tied scores
are one threshold: they are flagged together or not at all, which is how
scikit-learn treats ties, so ROC-AUC and average precision here equal
``roc_auc_score`` and ``average_precision_score`` while running in
``O(n log n)`` numpy on millions of rows.

>>> report = evaluate([0, 0, 1, 0, 1], [0.1, 0.4, 0.35, 0.2, 0.9], flags=[0, 1, 0, 0, 1])
>>> round(report.roc_auc, 3), round(report.average_precision, 3)
(0.833, 0.833)
>>> report.tn, report.fp, report.fn, report.tp
(2, 1, 1, 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError
from anomalyzer.labels import to_binary

__all__ = [
    "EvaluationReport",
    "evaluate",
    "pr_curve_points",
    "roc_curve_points",
    "threshold_metrics",
]


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics of one set of scores (and optionally flags) against labels.

    The fields at the flags (``precision`` to ``tp``) are ``None`` when no
    flags were given. ``best_f1_threshold`` is a score: flagging the rows
    scoring at or above it gives ``best_f1``.
    """

    n_rows: int
    n_anomalies: int
    roc_auc: float
    average_precision: float
    best_f1: float
    best_f1_threshold: float
    precision_at_k: float
    k: int
    n_flagged: int | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    tn: int | None = None
    fp: int | None = None
    fn: int | None = None
    tp: int | None = None

    @property
    def has_flags(self) -> bool:
        """Whether the report holds the metrics at a set of flags."""
        return self.tp is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON or a table row.

        >>> evaluate([0, 1, 0], [0.2, 0.9, 0.1]).to_dict()["roc_auc"]
        1.0
        """
        return asdict(self)

    def __str__(self) -> str:
        share = self.n_anomalies / self.n_rows
        lines = [
            f"Evaluation on {self.n_rows:,} rows ({self.n_anomalies:,} anomalous, {share:.1%})",
            f"  ROC-AUC            {self.roc_auc:.3f}",
            f"  average precision  {self.average_precision:.3f}",
            f"  best F1            {self.best_f1:.3f} (score >= {self.best_f1_threshold:.4g})",
            f"  precision@{self.k:<8,} {self.precision_at_k:.3f}",
        ]
        if self.has_flags:
            lines += [
                f"  at the flags       {self.n_flagged:,} flagged: precision {self.precision:.3f}, "
                f"recall {self.recall:.3f}, F1 {self.f1:.3f}",
                f"  confusion          tn {self.tn:,}  fp {self.fp:,}  "
                f"fn {self.fn:,}  tp {self.tp:,}",
            ]
        return "\n".join(lines)


def evaluate(
    y_true: Any, scores: Any, flags: Any = None, *, positive: Any = None
) -> EvaluationReport:
    """Score ``scores`` (higher = more anomalous) against the labels ``y_true``.

    ``y_true`` holds 0/1, booleans, or two strings with the anomalous one named
    by ``positive`` (or recognisable, such as "fraud" or "anomaly"). ``flags``
    (booleans or 0/1, usually the model's ``predict``) adds precision, recall,
    F1 and the confusion matrix at those flags.

    >>> r = evaluate(["ok", "fraud", "ok", "ok"], [1.0, 5.0, 2.0, 5.0], positive="fraud")
    >>> r.roc_auc, r.average_precision, r.precision_at_k
    (0.8333333333333334, 0.5, 0.5)
    >>> print(evaluate([0, 1], [0.3, 0.7], flags=[False, True]))  # doctest: +NORMALIZE_WHITESPACE
    Evaluation on 2 rows (1 anomalous, 50.0%)
      ROC-AUC            1.000
      average precision  1.000
      best F1            1.000 (score >= 0.7)
      precision@1        1.000
      at the flags       1 flagged: precision 1.000, recall 1.000, F1 1.000
      confusion          tn 1  fp 0  fn 0  tp 1
    """
    y, s = _check_inputs(y_true, scores, positive=positive)
    curve = _Ranking(y, s)
    n_pos = curve.n_pos
    f1 = curve.f1()
    best = int(np.argmax(f1))
    fields: dict[str, Any] = {
        "n_rows": len(y),
        "n_anomalies": n_pos,
        "roc_auc": curve.roc_auc(),
        "average_precision": curve.average_precision(),
        "best_f1": float(f1[best]),
        "best_f1_threshold": float(curve.thresholds[best]),
        "precision_at_k": curve.precision_at(n_pos),
        "k": n_pos,
    }
    if flags is not None:
        fields.update(_at_flags(y, _check_flags(flags, len(y))))
    return EvaluationReport(**fields)


def roc_curve_points(
    y_true: Any, scores: Any, *, positive: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates per distinct threshold: ``(fpr, tpr, thresholds)``.

    The same points as ``sklearn.metrics.roc_curve`` (collinear points dropped,
    ``(0, 0)`` at threshold ``inf`` first).

    >>> fpr, tpr, thr = roc_curve_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist(), thr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [inf, 0.8, 0.4, 0.35, 0.1])
    """
    y, s = _check_inputs(y_true, scores, positive=positive)
    curve = _Ranking(y, s)
    tps, fps, thresholds = curve.tps, curve.fps, curve.thresholds
    if len(tps) > 2:
        # A point on the straight line between its neighbours adds nothing to the curve.
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    fpr = np.r_[0.0, fps / curve.n_neg]
    tpr = np.r_[0.0, tps / curve.n_pos]
    return fpr, tpr, np.r_[np.inf, thresholds]


def pr_curve_points(
    y_true: Any, scores: Any, *, positive: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall per distinct threshold: ``(precision, recall, thresholds)``.

    The same points as ``sklearn.metrics.precision_recall_curve``: thresholds
    rising, then a last point at precision 1, recall 0 with no threshold.

    >>> p, r, thr = pr_curve_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> p.round(3).tolist(), r.tolist(), thr.tolist()
    ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.1, 0.35, 0.4, 0.8])
    """
    y, s = _check_inputs(y_true, scores, positive=positive)
    curve = _Ranking(y, s)
    precision = curve.precision()[::-1]
    recall = (curve.tps / curve.n_pos)[::-1]
    return np.r_[precision, 1.0], np.r_[recall, 0.0], curve.thresholds[::-1].copy()


def threshold_metrics(y_true: Any, scores: Any, *, positive: Any = None) -> pd.DataFrame:
    """Precision, recall and F1 when flagging rows scoring at or above each distinct score.

    One row per distinct score, highest threshold (fewest flags) first.

    >>> threshold_metrics([0, 1, 1], [0.2, 0.9, 0.5]).round(3)
       threshold  n_flagged  precision  recall     f1
    0        0.9          1      1.000     0.5  0.667
    1        0.5          2      1.000     1.0  1.000
    2        0.2          3      0.667     1.0  0.800
    """
    y, s = _check_inputs(y_true, scores, positive=positive)
    curve = _Ranking(y, s)
    return pd.DataFrame(
        {
            "threshold": curve.thresholds,
            "n_flagged": curve.tps + curve.fps,
            "precision": curve.precision(),
            "recall": curve.tps / curve.n_pos,
            "f1": curve.f1(),
        }
    )


class _Ranking:
    """Cumulative true and false positives at each distinct score, from the top down.

    Entry ``i`` counts the rows scoring at or above ``thresholds[i]``.
    """

    def __init__(self, y: np.ndarray, scores: np.ndarray) -> None:
        # Any sort will do (the fast unstable one): the order inside a tie never
        # shows, because only the counts at the end of each tie are kept.
        order = np.argsort(scores)[::-1]
        s = scores[order]
        # Comparing neighbours (rather than np.diff) keeps equal infinities tied.
        last_of_tie = np.flatnonzero(s[1:] != s[:-1])
        ends = np.r_[last_of_tie, len(s) - 1]
        self.tps = np.cumsum(y[order], dtype=np.int64)[ends]
        self.fps = ends + 1 - self.tps
        self.thresholds = s[ends]
        self.n_pos = int(self.tps[-1])
        self.n_neg = int(self.fps[-1])

    def precision(self) -> np.ndarray:
        return self.tps / (self.tps + self.fps)

    def f1(self) -> np.ndarray:
        # 2 tp / (2 tp + fp + fn) with fn = n_pos - tp; never 0 / 0 since n_pos > 0.
        return 2.0 * self.tps / (self.tps + self.fps + self.n_pos)

    def roc_auc(self) -> float:
        fpr = np.r_[0.0, self.fps / self.n_neg]
        tpr = np.r_[0.0, self.tps / self.n_pos]
        # The trapezoid rule over distinct thresholds: a tie is a diagonal segment.
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)

    def average_precision(self) -> float:
        # sklearn's step-wise sum: each rise in recall weighted by the precision reached there.
        recall = self.tps / self.n_pos
        return float(np.sum(np.diff(recall, prepend=0.0) * self.precision()))

    def precision_at(self, k: int) -> float:
        """Precision among the ``k`` top-scored rows.

        When a tie straddles rank ``k``, the tied rows share the remaining
        places in proportion: the expected precision over every order of the tie.
        """
        counts = self.tps + self.fps
        i = int(np.searchsorted(counts, k))
        before_n = int(counts[i - 1]) if i else 0
        before_tp = int(self.tps[i - 1]) if i else 0
        tie_n = int(counts[i]) - before_n
        tie_tp = int(self.tps[i]) - before_tp
        return (before_tp + (k - before_n) * tie_tp / tie_n) / k


def _check_inputs(y_true: Any, scores: Any, *, positive: Any) -> tuple[np.ndarray, np.ndarray]:
    """Labels as 0/1 and scores as floats, or an error naming what to fix."""
    y = _check_labels(y_true, positive=positive)
    s = _check_scores(scores)
    if len(s) != len(y):
        raise AnomalyzerError(
            f"There are {len(s)} score(s) but {len(y)} label(s); give one score per labelled row."
        )
    return y, s


def _check_labels(y_true: Any, *, positive: Any = None) -> np.ndarray:
    """Labels as 0/1 with both classes present, or an error naming what to fix."""
    name = str(getattr(y_true, "name", None) or "label")
    if not isinstance(y_true, pd.Series):
        values = np.asarray(y_true)
        if values.ndim != 1:
            raise AnomalyzerError(
                f"Label '{name}' must be one value per row, not an array of shape {values.shape}."
            )
        y_true = pd.Series(values)
    if len(y_true) == 0:
        raise AnomalyzerError(f"Label '{name}' is empty; give one label per scored row.")
    # A single value cannot say which class it is; report the real problem, not ambiguity.
    if positive is None and not y_true.isna().any() and y_true.nunique() < 2:
        _one_class(name, y_true.iloc[0])
    y = to_binary(y_true, name=name, positive=positive)
    if y.min() == y.max():
        _one_class(name, y_true.iloc[0])
    return y


def _check_scores(scores: Any) -> np.ndarray:
    """Scores as a 1-D float array without NaN (infinities rank fine and are kept)."""
    try:
        s = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnomalyzerError("Scores must be numbers (higher = more anomalous).") from None
    if s.ndim != 1:
        raise AnomalyzerError(
            f"Scores must be one number per row, not an array of shape {s.shape}."
        )
    n_nan = int(np.isnan(s).sum())
    if n_nan:
        raise AnomalyzerError(
            f"Scores contain {n_nan} NaN value(s); score every row or drop the unscored ones."
        )
    return s


def _one_class(name: str, value: Any) -> NoReturn:
    raise AnomalyzerError(
        f"Evaluation needs both normal and anomalous rows, but every value of label "
        f"'{name}' is {value!r}; use data with both classes."
    )


def _check_flags(flags: Any, n: int) -> np.ndarray:
    """Flags as a bool array of length ``n``; 0/1 and booleans only."""
    f = np.asarray(flags)
    if f.ndim != 1 or len(f) != n:
        raise AnomalyzerError(
            f"There are {f.size} flag(s) but {n} label(s); give one flag per labelled row."
        )
    if f.dtype == bool:
        return f
    if f.dtype.kind in "iuf" and np.isin(f, (0, 1)).all():
        return f.astype(bool)
    raise AnomalyzerError("Flags must be booleans or 0/1 (1 = flagged as an anomaly).")


def _at_flags(y: np.ndarray, flags: np.ndarray) -> dict[str, Any]:
    """Confusion counts, precision, recall and F1 at the given flags."""
    tn, fp, fn, tp = (int(c) for c in np.bincount(2 * y + flags, minlength=4))
    n_flagged = tp + fp
    # No flags means no precision to speak of; 0 matches sklearn's zero_division default.
    precision = tp / n_flagged if n_flagged else 0.0
    recall = tp / (tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn)
    return {
        "n_flagged": n_flagged,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }
