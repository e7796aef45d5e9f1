"""One profile per column: its role, missing share, distinct values, statistics, outliers.

Numeric columns (and numbers written as text) get summary statistics and three
counts of values far from the rest, each by a classic rule:

- **z-score**: ``|x - mean| / SD > 3`` (the three-sigma rule);
- **IQR**: below ``Q1 - 1.5 IQR`` or above ``Q3 + 1.5 IQR`` (Tukey's fences, the
  whiskers of a box plot);
- **MAD**: ``|x - median| / (1.4826 MAD) > 3`` (the robust z-score). When more
  than half the values are equal the MAD is zero; the mean absolute deviation
  from the median (times 1.2533, which matches the SD on normal data) stands
  in, so that a column of mostly zeros still counts its far values (a lone 50
  among zeros and a few 1s).

The mean and SD of the z-score rule are pulled by the outliers they look for,
which is why a heavy tail often shows fewer values beyond z 3 than beyond 3 MAD.

>>> x = pd.Series([1.0, 2, 2, 3, 3, 3, 4, 4, 5, 100])
>>> counts = outlier_counts(x.to_numpy())
>>> counts.z, counts.iqr, counts.mad  # the far value inflates the SD of its own z-score
(0, 1, 1)
>>> p = profile_column("x", x, Role.NUMERIC)
>>> p.distinct, p.median, p.missing
(6, 3.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.data.roles import Role, as_text
from anomalyzer.report.content import numbers

# Levels listed for a categorical column; the rest are counted as one.
TOP_LEVELS = 10
Z_LIMIT = 3.0
IQR_FENCE = 1.5
MAD_LIMIT = 3.0
# 1.4826 × MAD and 1.2533 × mean absolute deviation both estimate the SD of normal data.
_MAD_TO_SD = 1.4826
_MEAN_AD_TO_SD = 1.2533


@dataclass(frozen=True)
class OutlierCounts:
    """How many values lie beyond z 3, beyond 1.5 IQR and beyond 3 MAD."""

    z: int
    iqr: int
    mad: int


@dataclass
class ColumnProfile:
    """What one column holds. Statistics are None where they do not apply to its role."""

    name: str
    role: str
    dtype: str
    reason: str
    missing: float
    distinct: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    max: float | None = None
    skew: float | None = None
    outliers: OutlierCounts | None = None
    top_levels: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A flat, JSON-safe dict (outlier counts as ``beyond_z3``, ``beyond_iqr``, ``beyond_mad``)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("outliers", "top_levels")}
        out["beyond_z3"] = self.outliers.z if self.outliers else None
        out["beyond_iqr"] = self.outliers.iqr if self.outliers else None
        out["beyond_mad"] = self.outliers.mad if self.outliers else None
        out["top_levels"] = [[k, int(n)] for k, n in self.top_levels]
        return out


def outlier_counts(x: np.ndarray) -> OutlierCounts:
    """Counts of the finite values of ``x`` beyond z 3, beyond 1.5 IQR and beyond 3 MAD.

    >>> outlier_counts(np.r_[np.zeros(95), 1.0, 1, 1, 1, 50])
    OutlierCounts(z=1, iqr=5, mad=1)
    """
    x = x[np.isfinite(x)]
    if x.size < 3:
        return OutlierCounts(0, 0, 0)
    sd = float(x.std())
    z = int((np.abs(x - x.mean()) > Z_LIMIT * sd).sum()) if sd > 0 else 0
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    fences = (x < q1 - IQR_FENCE * iqr) | (x > q3 + IQR_FENCE * iqr)
    dev = np.abs(x - med)
    scale = _MAD_TO_SD * float(np.median(dev))
    if scale <= 0:
        scale = _MEAN_AD_TO_SD * float(dev.mean())
    mad = int((dev > MAD_LIMIT * scale).sum()) if scale > 0 else 0
    return OutlierCounts(z, int(fences.sum()), mad)


def profile_column(
    name: str, s: pd.Series, role: Role, *, dtype: str = "", reason: str = ""
) -> ColumnProfile:
    """The profile of column ``s`` with role ``role`` (numbers already parsed for NUMERIC)."""
    n = len(s)
    text = as_text(s)
    missing = float(text.isna().mean()) if n else 0.0
    distinct = int(text.nunique(dropna=True))
    p = ColumnProfile(name, role.value, dtype or str(s.dtype), reason, missing, distinct)
    if role is Role.NUMERIC:
        x = numeric(s)
        finite = x[np.isfinite(x)]
        if finite.size:
            q = np.quantile(finite, [0.0, 0.25, 0.5, 0.75, 1.0])
            p.min, p.q1, p.median, p.q3, p.max = (float(v) for v in q)
            p.mean, p.std = (
                float(finite.mean()),
                float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
            )
            p.skew = float(pd.Series(finite).skew()) if finite.size > 2 else None
            p.outliers = outlier_counts(finite)
    elif role in (Role.CATEGORICAL, Role.BOOLEAN, Role.ID, Role.TEXT, Role.CONSTANT, Role.LABEL):
        counts = text.value_counts(dropna=True)
        p.top_levels = [(str(k), int(v)) for k, v in counts.head(TOP_LEVELS).items()]
    return p


def numeric(s: pd.Series) -> np.ndarray:
    """Float values of a column as read, numbers written as text parsed; NaN elsewhere."""
    return numbers(s)
