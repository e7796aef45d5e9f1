"""Figures of an evaluation: ROC and precision-recall curves, score histograms, confusion.

Every function returns a ``plotly.graph_objects.Figure`` for the HTML report
or a notebook. Metrics in legends are computed on all rows; only what is
drawn is reduced (curves thinned to about 2,000 points, histograms binned),
so a figure of a million rows stays small and quick to render.

>>> fig = plot_roc({"mad": ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])})
>>> [trace.name for trace in fig.data]
['mad (AUC 0.750)', 'chance']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate.metrics import (
    EvaluationReport,
    _check_inputs,
    _check_scores,
    pr_curve_points,
    roc_curve_points,
    threshold_metrics,
)

__all__ = [
    "plot_confusion",
    "plot_pr",
    "plot_roc",
    "plot_score_histogram",
    "plot_threshold_metrics",
]

#: Most points drawn per curve; finer than a plot's pixels, small in a report.
MAX_CURVE_POINTS = 2000

_TEMPLATE = "plotly_white"
_NORMAL_COLOUR = "#4C78A8"
_ANOMALY_COLOUR = "#E45756"


def plot_roc(
    curves: Mapping[str, tuple[Any, Any]], *, positive: Any = None, title: str = "ROC curve"
) -> go.Figure:
    """ROC curves of several detectors, ``{name: (y_true, scores)}``, with ROC-AUC in the legend.

    >>> fig = plot_roc({"a": ([0, 1, 0, 1], [1, 4, 2, 3]), "b": ([0, 1, 0, 1], [4, 1, 3, 2])})
    >>> [trace.name for trace in fig.data]
    ['a (AUC 1.000)', 'b (AUC 0.000)', 'chance']
    """
    fig = go.Figure()
    for name, (y_true, scores) in _curves(curves).items():
        fpr, tpr, _ = roc_curve_points(y_true, scores, positive=positive)
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
        x, y = _thin(fpr, tpr)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{name} (AUC {auc:.3f})"))
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "grey"}
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="false positive rate",
        yaxis_title="true positive rate (recall)",
        template=_TEMPLATE,
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def plot_pr(
    curves: Mapping[str, tuple[Any, Any]],
    *,
    positive: Any = None,
    title: str = "Precision-recall curve",
) -> go.Figure:
    """Precision-recall curves of several detectors with average precision in the legend.

    When all curves share one anomaly rate, a dashed line marks it: the
    precision of flagging rows at random.

    >>> fig = plot_pr({"a": ([0, 1, 0, 1], [1, 4, 2, 3])})
    >>> [trace.name for trace in fig.data]
    ['a (AP 1.000)', 'chance (anomaly rate 50.0%)']
    """
    fig = go.Figure()
    rates: set[float] = set()
    for name, (y_true, scores) in _curves(curves).items():
        precision, recall, _ = pr_curve_points(y_true, scores, positive=positive)
        # sklearn's step-wise sum; recall falls along the returned points.
        ap = float(-np.sum(np.diff(recall) * precision[:-1]))
        # The first point flags every row: its precision is the anomaly rate.
        rates.add(float(precision[0]))
        x, y = _thin(recall, precision)
        fig.add_trace(
            go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name=f"{name} (AP {ap:.3f})")
        )
    if len(rates) == 1:
        rate = rates.pop()
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[rate, rate],
                mode="lines",
                name=f"chance (anomaly rate {rate:.1%})",
                line={"dash": "dash", "color": "grey"},
            )
        )
    fig.update_layout(
        title=title, xaxis_title="recall", yaxis_title="precision", template=_TEMPLATE
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def plot_score_histogram(
    scores: Any,
    y: Any = None,
    threshold: float | None = None,
    *,
    positive: Any = None,
    bins: int = 60,
    title: str = "Anomaly scores",
) -> go.Figure:
    """Histogram of the scores, one colour per label when ``y`` is given.

    Each class is shown as its share of that class's rows, because anomalies
    are usually too few to see next to raw counts of normal rows. Infinite
    scores fall into the outermost bins. ``threshold`` draws a vertical line.

    >>> fig = plot_score_histogram([0.1, 0.2, 0.2, 3.0], y=[0, 0, 0, 1], threshold=1.0)
    >>> [trace.name for trace in fig.data], len(fig.layout.shapes)
    (['normal (3 rows)', 'anomaly (1 rows)'], 1)
    """
    if not isinstance(bins, int | np.integer) or bins < 1:
        raise AnomalyzerError(f"bins must be a positive whole number, not {bins!r}.")
    if y is None:
        s = _check_scores(scores)
        groups = [("all rows", s, _NORMAL_COLOUR)]
    else:
        labels, s = _check_inputs(y, scores, positive=positive)
        groups = [
            ("normal", s[labels == 0], _NORMAL_COLOUR),
            ("anomaly", s[labels == 1], _ANOMALY_COLOUR),
        ]
    if len(s) == 0:
        raise AnomalyzerError("There are no scores to plot; give at least one.")
    finite = s[np.isfinite(s)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    edges = np.histogram_bin_edges(finite, bins=bins, range=(lo, hi) if hi > lo else None)
    centres, widths = (edges[1:] + edges[:-1]) / 2.0, np.diff(edges)
    fig = go.Figure()
    for name, values, colour in groups:
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts / max(len(values), 1),
                width=widths,
                name=f"{name} ({len(values):,} rows)",
                marker_color=colour,
                opacity=0.6,
                customdata=counts,
                hovertemplate="score %{x:.4g}<br>%{customdata:,} rows (%{y:.1%})",
            )
        )
    if threshold is not None:
        fig.add_vline(
            x=float(threshold), line_dash="dash", annotation_text=f"threshold {threshold:.4g}"
        )
    fig.update_layout(
        title=title,
        barmode="overlay",
        bargap=0,
        xaxis_title="anomaly score",
        yaxis_title="share of rows",
        yaxis_tickformat=".0%",
        template=_TEMPLATE,
    )
    return fig


def plot_threshold_metrics(
    y: Any,
    scores: Any,
    threshold: float | None = None,
    *,
    positive: Any = None,
    title: str = "Precision, recall and F1 by threshold",
) -> go.Figure:
    """Precision, recall and F1 when flagging the rows scoring at or above each threshold.

    ``threshold`` (the model's) draws a vertical line.

    >>> fig = plot_threshold_metrics([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.6], threshold=0.5)
    >>> [trace.name for trace in fig.data]
    ['precision', 'recall', 'F1']
    """
    table = threshold_metrics(y, scores, positive=positive)
    # Infinite thresholds have no place on a numeric axis.
    table = table[np.isfinite(table["threshold"].to_numpy())]
    columns = ("precision", "recall", "f1")
    x, *ys = _thin(table["threshold"].to_numpy(), *(table[c].to_numpy() for c in columns))
    fig = go.Figure()
    for name, values in zip(("precision", "recall", "F1"), ys, strict=True):
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines", name=name))
    if threshold is not None:
        fig.add_vline(
            x=float(threshold), line_dash="dash", annotation_text=f"threshold {threshold:.4g}"
        )
    fig.update_layout(
        title=title, xaxis_title="score threshold", yaxis_title="value", template=_TEMPLATE
    )
    fig.update_yaxes(range=[0, 1.02])
    return fig


def plot_confusion(report: EvaluationReport, *, title: str = "Confusion matrix") -> go.Figure:
    """Heat map of the counts at the flags (``customdata``), coloured by share of each true class.

    >>> from anomalyzer.evaluate.metrics import evaluate
    >>> fig = plot_confusion(evaluate([0, 0, 1, 1], [1, 2, 3, 4], flags=[0, 1, 1, 1]))
    >>> fig.data[0].customdata.tolist(), fig.data[0].z.tolist()
    ([[1, 1], [0, 2]], [[0.5, 0.5], [0.0, 1.0]])
    """
    if not report.has_flags:
        raise AnomalyzerError(
            "This report has no confusion matrix; evaluate with flags= (the model's predictions)."
        )
    counts = np.array([[report.tn, report.fp], [report.fn, report.tp]])
    # Shares within each true class, so the rare anomaly row is as readable as the normal one.
    shares = counts / counts.sum(axis=1, keepdims=True)
    text = [
        [f"{name} {c:,}<br>{sh:.1%}" for name, c, sh in zip(names, row, srow, strict=True)]
        for names, row, srow in zip((("tn", "fp"), ("fn", "tp")), counts, shares, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=["flagged normal", "flagged anomaly"],
            y=["normal", "anomaly"],
            text=text,
            texttemplate="%{text}",
            customdata=counts,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}, %{x}: %{customdata:,} rows (%{z:.1%})<extra></extra>",
        )
    )
    fig.update_layout(
        title=title, xaxis_title="prediction", yaxis_title="truth", template=_TEMPLATE
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def _curves(curves: Mapping[str, tuple[Any, Any]]) -> Mapping[str, tuple[Any, Any]]:
    if not isinstance(curves, Mapping) or not curves:
        raise AnomalyzerError(
            "Give the curves as a non-empty mapping {name: (labels, scores)}, "
            "one entry per detector."
        )
    return curves


def _thin(x: np.ndarray, *ys: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> list[np.ndarray]:
    """At most ``max_points`` points of a curve, evenly spaced along its length.

    Spacing by distance travelled (axes scaled to [0, 1]) keeps the shape
    where the curve bends and drops the points where it barely moves. Both
    ends of every segment a sample lands on are kept, so a long straight
    jump (a step in a curve) keeps its corners; so are the first and last points.

    >>> x = np.linspace(0, 1, 10_001)
    >>> [len(a) for a in _thin(x, x**2, max_points=100)]
    [100, 100]
    """
    if len(x) <= max_points:
        return [x, *ys]
    steps = np.zeros(len(x) - 1)
    for v in (x, *ys):
        span = float(np.ptp(v))
        if span > 0:
            steps += (np.diff(v) / span) ** 2
    path = np.r_[0.0, np.cumsum(np.sqrt(steps))]
    # Two points per sample (both ends of its segment) plus the two ends of the curve.
    targets = np.linspace(0.0, path[-1], (max_points - 2) // 2)
    hit = np.searchsorted(path, targets).clip(1, len(x) - 1)
    idx = np.unique(np.r_[0, hit - 1, hit, len(x) - 1])
    if len(idx) < max_points:
        # Flat stretches collapse onto the same index; fill in with evenly spaced indices.
        taken = np.zeros(len(x), dtype=bool)
        taken[idx] = True
        spare = np.flatnonzero(~taken)
        pick = np.linspace(0, len(spare) - 1, max_points - len(idx)).astype(np.int64)
        idx = np.union1d(idx, spare[pick])
    return [x[idx], *(v[idx] for v in ys)]
