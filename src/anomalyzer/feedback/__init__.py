"""Human feedback: analysts label rows, and the ranking learns from each label.

- :mod:`~anomalyzer.feedback.store`: labels (anomaly / normal / unsure) with who
  and when, behind a small store interface (in memory, with the model file, a CSV file,
  a database table: :mod:`~anomalyzer.feedback.sql_store`, the model registry:
  :mod:`~anomalyzer.feedback.registry_store`);
- :mod:`~anomalyzer.feedback.aad`: Active Anomaly Discovery, weights over an
  isolation forest's leaves learned from the labels;
- :mod:`~anomalyzer.feedback.query`: which rows to ask about next;
- :mod:`~anomalyzer.feedback.session`: a model, the rows under review, the
  store and the learner together (what the review screens drive);
- :mod:`~anomalyzer.feedback.describe`: what the labelled anomalies share, in words;
- :mod:`~anomalyzer.feedback.semi`: refit with the labels once there are many.

``Model.feedback(rows_or_ids, labels)`` records labels with a model.
"""

from anomalyzer.feedback.aad import ForestFeedback
from anomalyzer.feedback.describe import describe_anomalies
from anomalyzer.feedback.query import diverse_batch, top
from anomalyzer.feedback.registry_store import RegistryStore
from anomalyzer.feedback.session import FeedbackSession
from anomalyzer.feedback.sql_store import SqlStore
from anomalyzer.feedback.store import (
    LABELS,
    CsvStore,
    Label,
    LabelStore,
    MemoryStore,
    ModelStore,
    latest,
    read_labels,
    record_feedback,
    row_ids,
    to_label,
)

__all__ = [
    "LABELS",
    "CsvStore",
    "FeedbackSession",
    "ForestFeedback",
    "Label",
    "LabelStore",
    "MemoryStore",
    "ModelStore",
    "RegistryStore",
    "SqlStore",
    "describe_anomalies",
    "diverse_batch",
    "latest",
    "read_labels",
    "record_feedback",
    "row_ids",
    "to_label",
    "top",
]
