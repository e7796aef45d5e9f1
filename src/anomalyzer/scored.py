"""The scored table: the input rows plus the four output columns every scorer adds.

Tables and series, ``detect`` and ``score``, the command line and the service
all build their output here, so the columns mean the same everywhere.

>>> import numpy as np, pandas as pd
>>> out = scored_frame(pd.DataFrame({"x": [1, 9]}), np.array([0.1, 3.0]),
...                    np.array([False, True]), {1: "x = 9 is unusual"})
>>> out[["anomaly_score", "is_anomaly", "anomaly_rank"]].values.tolist()
[[0.1, False, 2], [3.0, True, 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomalyzer.safety.display import formula_safe

OUTPUT_COLUMNS = ("anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason")

# Reasons are written for flagged rows, and at least for this many top rows, so
# that a table with no flags still says why its top rows score highest.
MIN_EXPLAINED = 10


def scored_frame(
    df: pd.DataFrame, scores: np.ndarray, flags: np.ndarray, reasons: dict[int, str]
) -> pd.DataFrame:
    """``df`` (copied) with the four output columns; ``reasons`` maps row positions to text."""
    out = df.copy()
    clash = [c for c in OUTPUT_COLUMNS if c in out.columns]
    if clash:
        # Keep the user's columns: ours get a suffix rather than overwriting theirs.
        out = out.rename(columns={c: f"{c}_input" for c in clash})
    out["anomaly_score"] = np.asarray(scores, dtype=np.float64)
    out["is_anomaly"] = np.asarray(flags).astype(bool)
    # Rank 1 = most anomalous; ties keep the row order.
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(1, len(scores) + 1)
    out["anomaly_rank"] = rank
    text = np.full(len(scores), "", dtype=object)
    for pos, reason in reasons.items():
        # Our own text never starts like a spreadsheet formula (a column named '=x').
        text[pos] = formula_safe(reason)
    out["anomaly_reason"] = pd.Series(text, index=out.index, dtype="object").astype(str)
    return out


def rows_to_explain(scores: np.ndarray, flags: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Positions of the rows that get a reason: every flagged row, and at least the top ten.

    >>> rows_to_explain(np.array([0.1, 5.0, 0.2]), np.array([False, True, False]), 2).tolist()
    [1, 2]
    """
    n = max(int(np.count_nonzero(flags)), min(MIN_EXPLAINED, len(scores)))
    if limit is not None:
        n = min(n, limit)
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:n]


class ScoredRows:
    """What every result offers over its scored ``frame``: scores, flagged rows, the top.

    Table and series results share it; each adds what only it knows.
    """

    frame: pd.DataFrame

    @property
    def scores(self) -> pd.Series:
        """Anomaly score of each row (higher = more anomalous; NaN where a row had none)."""
        return self.frame["anomaly_score"]

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
