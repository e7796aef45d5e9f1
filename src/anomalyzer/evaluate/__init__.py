"""Evaluation against labels: metrics, figures, and a comparison of detectors.

Tables get point-wise metrics; time series also get range-aware ones (VUS,
range precision and recall, point-adjusted F1) and the NAB score.

>>> from anomalyzer.evaluate import evaluate
>>> evaluate([0, 0, 1], [0.1, 0.3, 0.9]).roc_auc
1.0
"""

from anomalyzer.evaluate.compare import compare
from anomalyzer.evaluate.metrics import (
    EvaluationReport,
    evaluate,
    pr_curve_points,
    roc_curve_points,
    threshold_metrics,
)
from anomalyzer.evaluate.nab import (
    PROFILES,
    NabResult,
    NabSeries,
    label_windows,
    nab_score,
    nab_scores,
    windows_to_positions,
)
from anomalyzer.evaluate.plots import (
    plot_confusion,
    plot_pr,
    plot_roc,
    plot_score_histogram,
    plot_threshold_metrics,
)
from anomalyzer.evaluate.ranges import (
    VUS,
    PointAdjusted,
    RangePR,
    SeriesReport,
    anomaly_ranges,
    best_point_adjusted_f1,
    point_adjusted_f1,
    range_auc_pr,
    range_auc_roc,
    range_precision_recall,
    series_metrics,
    vus,
)

__all__ = [
    "PROFILES",
    "VUS",
    "EvaluationReport",
    "NabResult",
    "NabSeries",
    "PointAdjusted",
    "RangePR",
    "SeriesReport",
    "anomaly_ranges",
    "best_point_adjusted_f1",
    "compare",
    "evaluate",
    "label_windows",
    "nab_score",
    "nab_scores",
    "plot_confusion",
    "plot_pr",
    "plot_roc",
    "plot_score_histogram",
    "plot_threshold_metrics",
    "point_adjusted_f1",
    "pr_curve_points",
    "range_auc_pr",
    "range_auc_roc",
    "range_precision_recall",
    "roc_curve_points",
    "series_metrics",
    "threshold_metrics",
    "vus",
    "windows_to_positions",
]
