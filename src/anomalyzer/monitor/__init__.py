"""Drift monitoring and retraining: know when a model has gone stale, and replace it safely.

- :func:`monitor` (also ``Model.monitor``): one batch of new rows against what
  the model saw at fit, with a verdict in words (:mod:`~anomalyzer.monitor.batch`);
- :class:`StreamDrift`: Page-Hinkley and ADWIN on a stream of scores and flags
  (:mod:`~anomalyzer.monitor.stream`);
- :func:`retrain`: a challenger fitted on recent data, compared with the
  champion, and the promotion rule (:mod:`~anomalyzer.monitor.retrain`);
- ``write_drift_report``: the HTML page (:mod:`~anomalyzer.monitor.report`).
"""

from anomalyzer.monitor.batch import DriftReport, DriftRules, monitor
from anomalyzer.monitor.checks import Check
from anomalyzer.monitor.retrain import PromotionRule, RetrainResult, retrain
from anomalyzer.monitor.stream import DriftEvent, StreamDrift

__all__ = [
    "Check",
    "DriftEvent",
    "DriftReport",
    "DriftRules",
    "PromotionRule",
    "RetrainResult",
    "StreamDrift",
    "monitor",
    "retrain",
]
