"""Sketches of a table's columns: what drift monitoring compares new data with.

A sketch is plain JSON data, small whatever the table's size, kept in the model
(and in its file) so that new data can be compared with the training data
without keeping the training data:

- numeric: the missing share and, for the present values, either the exact
  value counts (at most :data:`MAX_DISCRETE` distinct values, as counts and
  small integers usually are) or :data:`N_QUANTILES` quantiles, which place any
  value in the training distribution to within 0.5% of its mass; plus mean,
  standard deviation, median and a robust scale;
- categorical and boolean: the counts of the :data:`MAX_LEVELS` most common
  levels, the count of the rest, the number of levels seen once (the
  Good-Turing estimate of how often an unseen level turns up), and the
  missing count.

Date columns are left out: new data is later by nature, so their drift says
nothing.

>>> import pandas as pd
>>> s = numeric_sketch(np.arange(1000.0))
>>> s["kind"], len(s["quantiles"]), float(cdf(s, np.array([499.5]))[0])
('numeric', 201, 0.5)
>>> c = level_sketch(pd.Series(["a", "a", "b", None]))
>>> c["counts"], c["missing"], c["singletons"]
({'a': 2, 'b': 1}, 1, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from anomalyzer.data.preprocess import robust_scale
from anomalyzer.data.roles import (
    Role,
    Schema,
    as_text,
    column_lookup,
    numeric_values,
    parse_numbers,
)

#: Quantiles kept per numeric column (every 0.5% of the mass).
N_QUANTILES = 201
#: The most the interpolated distribution function of a quantile sketch can be off.
RESOLUTION = 1.0 / (N_QUANTILES - 1)
#: Numeric columns with at most this many distinct values keep exact counts.
MAX_DISCRETE = 64
#: Levels kept per categorical column; the rest are counted together.
MAX_LEVELS = 200
SKETCH_VERSION = 1

_PROBS = np.linspace(0.0, 1.0, N_QUANTILES)


def numeric_values_of(s: pd.Series) -> np.ndarray:
    """Float values of a numeric column (text parsed as numbers); missing and inf are NaN.

    >>> numeric_values_of(pd.Series(["1,5", "2", None])).tolist()[1:]
    [2.0, nan]
    """
    if ptypes.is_bool_dtype(s.dtype):
        return s.astype("float64").to_numpy()
    if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_complex_dtype(s.dtype):
        x = numeric_values(s)
    else:
        x = parse_numbers(as_text(s))
    return np.where(np.isfinite(x), x, np.nan)


def numeric_sketch(values: np.ndarray) -> dict[str, Any]:
    """The sketch of numeric ``values`` (NaN counts as missing)."""
    x = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(x)
    valid = x[~missing]
    out: dict[str, Any] = {
        "kind": "numeric",
        "n_rows": len(x),
        "n": int(valid.size),
        "missing": int(missing.sum()),
    }
    if valid.size == 0:
        return out
    # One sort serves the distinct values, the quantiles and the median.
    valid = np.sort(valid)
    starts = np.flatnonzero(np.r_[True, valid[1:] != valid[:-1]])
    uniq = valid[starts]
    counts = np.diff(np.r_[starts, valid.size])
    out.update(
        mean=float(valid.mean()),
        std=float(valid.std()),
        median=float(sorted_quantiles(valid, np.array([0.5]))[0]),
        scale=robust_scale(valid),
    )
    if uniq.size <= MAX_DISCRETE:
        out["values"] = uniq.tolist()
        out["counts"] = counts.astype(int).tolist()
    else:
        out["quantiles"] = sorted_quantiles(valid, _PROBS).tolist()
    return out


def sorted_quantiles(v: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Quantiles of sorted ``v`` at ``p``, as ``np.quantile``'s default (linear) gives them.

    >>> v = np.array([1.0, 2.0, 4.0, 8.0])
    >>> bool(np.allclose(sorted_quantiles(v, np.array([0.3, 0.9])), np.quantile(v, [0.3, 0.9])))
    True
    """
    pos = np.asarray(p, dtype=np.float64) * (len(v) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def level_sketch(s: pd.Series) -> dict[str, Any]:
    """The sketch of a categorical column: level counts, the rest, singletons, missing."""
    text = as_text(s)
    counts = text.value_counts(dropna=True)
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    kept = counts.iloc[:MAX_LEVELS]
    return {
        "kind": "categorical",
        "n_rows": len(text),
        "n": int(counts.sum()),
        "missing": int(text.isna().sum()),
        "counts": {str(k): int(v) for k, v in kept.items()},
        "other": int(counts.iloc[MAX_LEVELS:].sum()),
        "n_levels": len(counts),
        "singletons": int((counts == 1).sum()),
    }


def column_sketch(s: pd.Series, role: Role | str) -> dict[str, Any] | None:
    """The sketch of column ``s`` given its role, or None for roles not sketched."""
    role = Role(role)
    if role == Role.NUMERIC:
        return numeric_sketch(numeric_values_of(s))
    if role in (Role.CATEGORICAL, Role.BOOLEAN):
        return level_sketch(s)
    return None


def table_sketch(df: pd.DataFrame, schema: Schema) -> dict[str, dict[str, Any]]:
    """Sketches of the feature columns of ``df`` (dates left out), by column name."""
    lookup = column_lookup(df)
    out = {}
    for info in schema.columns:
        if info.name not in lookup:
            continue
        sketch = column_sketch(df[lookup[info.name]], info.role) if info.role in _SKETCHED else None
        if sketch is not None:
            out[info.name] = sketch
    return out


_SKETCHED = frozenset({Role.NUMERIC, Role.CATEGORICAL, Role.BOOLEAN})


def reference_rows(X: np.ndarray, *, max_values: int = 200_000, max_rows: int = 1000) -> list:
    """A seeded random sample of rows of the encoded matrix ``X``, as JSON lists.

    At most ``max_rows`` rows and ``max_values`` numbers, kept at float32
    precision: enough for a classifier to tell training rows from new ones.

    >>> len(reference_rows(np.zeros((5000, 3))))
    1000
    """
    n = len(X)
    if n == 0 or X.shape[1] == 0:
        return []
    k = max(1, min(n, max_rows, max_values // X.shape[1]))
    rows = np.sort(np.random.default_rng(0).choice(n, size=k, replace=False))
    return rounded(X[rows]).tolist()


def rounded(X: np.ndarray) -> np.ndarray:
    """``X`` at float32 precision (as the sample rows are kept), back in float64.

    Rows compared with the kept sample must be rounded the same way: a
    classifier would otherwise separate them by the last digits alone.
    """
    return np.asarray(X, dtype=np.float32).astype(np.float64)


# -- reading a numeric sketch ------------------------------------------------------------


def is_discrete(sketch: Mapping[str, Any]) -> bool:
    """True when the numeric sketch holds exact value counts."""
    return "values" in sketch


def cdf(sketch: Mapping[str, Any], x: np.ndarray, *, left: bool = False) -> np.ndarray:
    """The training distribution function at ``x``: share of present values <= x (< x with ``left``)."""
    x = np.asarray(x, dtype=np.float64)
    if is_discrete(sketch):
        values = np.asarray(sketch["values"], dtype=np.float64)
        cum = np.cumsum(sketch["counts"]) / max(sketch["n"], 1)
        idx = np.searchsorted(values, x, side="left" if left else "right")
        return np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0)
    q = np.asarray(sketch["quantiles"], dtype=np.float64)
    # Repeated quantiles (a point mass) keep the highest probability: F is right-continuous.
    knots, last = np.unique(q[::-1], return_index=True)
    probs = _PROBS[::-1][last]
    return np.interp(x, knots, probs, left=0.0, right=1.0)


def quantile(sketch: Mapping[str, Any], p: np.ndarray) -> np.ndarray:
    """The training quantiles at probabilities ``p``."""
    p = np.asarray(p, dtype=np.float64)
    if is_discrete(sketch):
        values = np.asarray(sketch["values"], dtype=np.float64)
        cum = np.cumsum(sketch["counts"]) / max(sketch["n"], 1)
        idx = np.minimum(np.searchsorted(cum, p - 1e-12, side="left"), len(values) - 1)
        return values[idx]
    return np.interp(p, _PROBS, np.asarray(sketch["quantiles"], dtype=np.float64))


def spread(sketch: Mapping[str, Any]) -> float:
    """The unit effects are measured in: the robust scale, else the SD, else 1."""
    for key in ("scale", "std"):
        value = sketch.get(key)
        if value is not None and np.isfinite(value) and value > 0:
            return float(value)
    return 1.0


def training_sketch(
    df: pd.DataFrame, schema: Schema, X: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Everything monitoring needs from a fit: column sketches, the scores' sketch and
    flag rate, and a sample of encoded rows (for the multivariate check).

    >>> df = pd.DataFrame({"x": np.arange(50.0) % 7})
    >>> from anomalyzer.data import infer_schema
    >>> s = training_sketch(df, infer_schema(df), df.to_numpy(), np.arange(50.0), 44.5)
    >>> sorted(s), s["flagged"]
    (['columns', 'flagged', 'n_rows', 'rows', 'scores', 'version'], 5)
    """
    scores = np.asarray(scores, dtype=np.float64)
    return {
        "version": SKETCH_VERSION,
        "n_rows": len(df),
        "columns": table_sketch(df, schema),
        "scores": numeric_sketch(scores),
        "flagged": int((scores > threshold).sum()),
        "rows": reference_rows(X),
    }
