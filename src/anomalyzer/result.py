"""``DetectionResult``: a scored table and what it took to score it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomalyzer.model import Model

OUTPUT_COLUMNS = ("anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason")


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


def scored_frame(
    df: pd.DataFrame, scores: np.ndarray, flags: np.ndarray, reasons: dict[int, str]
) -> pd.DataFrame:
    """``df`` (copied) with the four output columns; ``reasons`` maps row positions to text."""
    out = df.copy()
    clash = [c for c in OUTPUT_COLUMNS if c in out.columns]
    if clash:
        # Keep the user's columns: ours get a suffix rather than overwriting theirs.
        out = out.rename(columns={c: f"{c}_input" for c in clash})
    out["anomaly_score"] = scores
    out["is_anomaly"] = flags.astype(bool)
    # Rank 1 = most anomalous; ties keep the row order.
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(1, len(scores) + 1)
    out["anomaly_rank"] = rank
    text = np.full(len(scores), "", dtype=object)
    for pos, reason in reasons.items():
        text[pos] = reason
    out["anomaly_reason"] = pd.Series(text, index=out.index, dtype="object").astype(str)
    return out
