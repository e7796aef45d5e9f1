"""``FittedSeries``: one series of a fitted series model, its detector and what it said."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anomalyzer.timeseries.base import SeriesDetector


@dataclass
class FittedSeries:
    """One series of a fitted :class:`SeriesModel`: its detector and what it said.

    The per-point arrays (``values`` ... ``reasons``) describe the series the
    model was fitted on; ``last``, ``seen`` and the tail describe where a
    stream continues. A series whose detector could not be fitted has
    ``detector=None`` and says why in ``notes``.
    """

    key: Hashable | None
    detector: SeriesDetector | None
    index: pd.DatetimeIndex
    freq: pd.Timedelta
    channels: list[str]
    notes: list[str]
    periods: list[int] = field(default_factory=list)
    values: np.ndarray | None = None
    observed: np.ndarray | None = None
    scores: np.ndarray | None = None
    flags: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    reasons: dict[int, str] = field(default_factory=dict)
    label: np.ndarray | None = None
    rows: np.ndarray | None = None
    row_points: np.ndarray | None = None
    last: pd.Timestamp | None = None
    seen: int = 0
    tail_values: np.ndarray | None = None
    tail_index: pd.DatetimeIndex | None = None

    @property
    def threshold(self) -> float:
        """The detector's threshold (NaN when the series was not fitted)."""
        return float(self.detector.threshold_) if self.detector is not None else math.nan
