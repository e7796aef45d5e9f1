"""One drift check (:class:`Check`) and the names of the checks that are not columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCORES = "anomaly score"
FLAG_RATE = "flag rate"
ALL_COLUMNS = "all columns"


@dataclass
class Check:
    """One test: what it compares, its statistic and p-value, its effect size and the verdict."""

    subject: str  # a column name, SCORES, FLAG_RATE or ALL_COLUMNS
    aspect: str  # "distribution", "missing share", "rate" or "rows"
    test: str
    statistic: float
    p_value: float
    effect_name: str
    effect: float
    floor: float
    details: dict[str, Any] = field(default_factory=dict)
    p_adjusted: float = 1.0
    drifted: bool = False

    @property
    def severity(self) -> float:
        """The effect as a multiple of its floor: how drifted columns are ranked."""
        return self.effect / self.floor if self.floor > 0 else 0.0
