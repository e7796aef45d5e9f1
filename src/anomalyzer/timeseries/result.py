"""``SeriesResult``: the user's rows and the series' points, scored, and the model behind them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anomalyzer.scored import ScoredRows, scored_frame
from anomalyzer.timeseries.model import SeriesModel


@dataclass(frozen=True)
class SeriesResult(ScoredRows):
    """A detection over time: scored rows, scored grid points, the model and the notes.

    ``frame`` is the user's table with ``anomaly_score``, ``is_anomaly``,
    ``anomaly_rank`` and ``anomaly_reason``: each row gets the score of its
    point on the grid (rows merged into one point share it), and rows whose
    timestamp could not be used get no score (NaN) and are never flagged.
    ``points`` has one row per grid point of each series (see
    :meth:`SeriesModel.points`), ``notes`` the data defects handled.

    >>> import anomalyzer as az
    >>> t = pd.date_range("2026-03-02", periods=200, freq="h").astype(str).tolist()
    >>> cpu = 50 + np.random.default_rng(0).normal(0, 1, 200)
    >>> cpu[120] = 80.0
    >>> df = pd.DataFrame({"timestamp": t[:150] + t[151:] + [t[10]], "cpu": [*cpu[:150], *cpu[151:], 50]})
    >>> result = az.detect(df, "rolling_z", time="timestamp")
    >>> result.notes
    ['timestamps were not sorted; sorted', '1 duplicate timestamp averaged', '1 missing timestamp interpolated']
    >>> result.anomalies[["timestamp", "cpu", "anomaly_reason"]].values.tolist()
    [['2026-03-07 00:00:00', 80.0, 'value 80 above the expected band 47–53.2']]
    """

    frame: pd.DataFrame
    points: pd.DataFrame
    model: SeriesModel
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_model(cls, model: SeriesModel, df: pd.DataFrame) -> SeriesResult:
        """The result of ``model`` over the table ``df`` it was fitted on."""
        scores, flags, reasons = model._row_results(len(df))
        return cls(
            frame=scored_frame(df, scores, flags, reasons),
            points=model.points(),
            model=model,
            notes=model.notes,
        )

    @property
    def n_series(self) -> int:
        """How many series (groups) were scored."""
        return len(self.model.series_)

    def __repr__(self) -> str:
        points = len(self.points)
        flagged = int(np.asarray(self.points["is_anomaly"]).sum()) if points else 0
        return (
            f"SeriesResult({len(self.frame)} rows, {self.n_series} series, {points} points, "
            f"{flagged} flagged points, {self.n_anomalies} anomalous rows, "
            f"detector={self.model.detector_name!r})"
        )
