"""``DetectionResult``: a scored table and what it took to score it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from anomalyzer.model import Model
from anomalyzer.scored import OUTPUT_COLUMNS, scored_frame

__all__ = ["OUTPUT_COLUMNS", "DetectionResult", "scored_frame"]


@dataclass(frozen=True)
class DetectionResult:
    """The input rows with ``anomaly_score``, ``is_anomaly``, ``anomaly_rank`` and ``anomaly_reason``."""

    frame: pd.DataFrame
    model: Model

    @property
    def scores(self) -> pd.Series:
        """Anomaly score of each row (higher = more anomalous)."""
        return self.frame["anomaly_score"]

    @property
    def threshold(self) -> float:
        """Scores above this are anomalies."""
        return self.model.threshold_

    @property
    def anomalies(self) -> pd.DataFrame:
        """The flagged rows, most anomalous first."""
        flagged = self.frame[self.frame["is_anomaly"]]
        return flagged.sort_values("anomaly_rank")

    @property
    def n_anomalies(self) -> int:
        """How many rows were flagged."""
        return int(self.frame["is_anomaly"].sum())

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` highest-scoring rows, flagged or not."""
        return self.frame.sort_values("anomaly_rank").head(n)

    def __repr__(self) -> str:
        return (
            f"DetectionResult({len(self.frame)} rows, {self.n_anomalies} anomalies, "
            f"detector={self.model.detector_name!r}, threshold={self.threshold:.4g})"
        )
