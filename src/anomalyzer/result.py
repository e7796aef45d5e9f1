"""``DetectionResult``: a scored table and what it took to score it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from anomalyzer.model import Model
from anomalyzer.scored import OUTPUT_COLUMNS, ScoredRows, scored_frame

__all__ = ["OUTPUT_COLUMNS", "DetectionResult", "scored_frame"]


@dataclass(frozen=True)
class DetectionResult(ScoredRows):
    """The input rows with ``anomaly_score``, ``is_anomaly``, ``anomaly_rank`` and ``anomaly_reason``."""

    frame: pd.DataFrame
    model: Model

    @property
    def threshold(self) -> float:
        """Scores above this are anomalies."""
        return self.model.threshold_

    @property
    def notes(self) -> list[str]:
        """Warnings about the scored data (cells that were not numbers, columns far more
        missing than at fit time, mostly unseen levels); empty when there is nothing to say."""
        return list(self.frame.attrs.get("notes", []))

    def __repr__(self) -> str:
        return (
            f"DetectionResult({len(self.frame)} rows, {self.n_anomalies} anomalies, "
            f"detector={self.model.detector_name!r}, threshold={self.threshold:.4g})"
        )
