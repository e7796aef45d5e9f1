"""Evaluation against labels: metrics, figures, and a comparison of detectors.

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
from anomalyzer.evaluate.plots import (
    plot_confusion,
    plot_pr,
    plot_roc,
    plot_score_histogram,
    plot_threshold_metrics,
)

__all__ = [
    "EvaluationReport",
    "compare",
    "evaluate",
    "plot_confusion",
    "plot_pr",
    "plot_roc",
    "plot_score_histogram",
    "plot_threshold_metrics",
    "pr_curve_points",
    "roc_curve_points",
    "threshold_metrics",
]
