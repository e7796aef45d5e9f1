"""Drift monitoring and retraining: know when a model has gone stale, and replace it safely.

- :func:`monitor` (also ``Model.monitor``): one batch of new rows against what
  the model saw at fit, with a verdict in words (:mod:`~anomalyzer.monitor.batch`);
- :class:`StreamDrift`: ADWIN and Page-Hinkley on a stream of scores and flags
  (:mod:`~anomalyzer.monitor.stream`);
- :func:`retrain`: a challenger fitted on recent data, compared with the
  champion, and the promotion rule (:mod:`~anomalyzer.monitor.retrain`);
- :func:`write_drift_report`: the HTML page (:mod:`~anomalyzer.monitor.report`).
"""

from anomalyzer.monitor.batch import Check, DriftReport, DriftRules, monitor

__all__ = ["Check", "DriftReport", "DriftRules", "monitor"]
