"""What the rows labelled anomalous have in common, as a short rule in words.

For each column the labelled anomalies span a range (numbers) or a few values
(categories); a range that holds few of all rows says something about them,
one that holds most rows says nothing. The description keeps the narrowest
such conditions (at most three, each holding under a quarter of all rows) and
says how many rows match them together: a rule an analyst can check and turn
into a filter.

>>> df = pd.DataFrame({"amount": list(range(100)) + [900, 950, 990],
...                    "country": ["US"] * 100 + ["NR", "NR", "XK"]})
>>> print(describe_anomalies(df, [100, 101, 102]))
The 3 rows labelled anomalous share: amount from 900 to 990 (2.9% of all rows); country in 'NR', 'XK' (2.9%). Together the rule matches 3 rows (2.9%), all 3 labelled anomalies among them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.reasons import _fmt, _pct

MAX_CONDITIONS = 3
MAX_COVERAGE = 0.25
# A category condition lists at most this many values.
MAX_VALUES = 3


def describe_anomalies(
    frame: pd.DataFrame, positions: Sequence[int], columns: Sequence[str] | None = None
) -> str:
    """A rule-like sentence for the rows at ``positions`` of ``frame`` (over ``columns``)."""
    positions = [int(p) for p in positions]
    if not positions:
        return "No row is labelled anomalous yet."
    cols = [c for c in (columns if columns is not None else frame.columns) if c in frame.columns]
    found = []
    for col in cols:
        cond = _condition(frame[col], positions)
        if cond is not None and cond[1].mean() < MAX_COVERAGE:
            found.append((float(cond[1].mean()), col, cond[0], cond[1]))
    n = len(positions)
    who = "The row labelled anomalous" if n == 1 else f"The {n} rows labelled anomalous"
    if not found:
        return (
            f"{who} share no narrow range of any column: they differ from each other, "
            "or from the rest in how columns combine."
        )
    found.sort(key=lambda item: item[0])
    chosen = found[:MAX_CONDITIONS]
    parts = [f"{text} ({_pct(share)}{' of all rows' if i == 0 else ''})"
             for i, (share, _, text, _) in enumerate(chosen)]  # fmt: skip
    match = np.logical_and.reduce([mask for *_, mask in chosen])
    inside = int(match[positions].sum())
    verb = "has" if n == 1 else "share"
    matched = int(match.sum())
    return (
        f"{who} {verb}: {'; '.join(parts)}. Together the rule matches {matched:,} "
        f"row{'s' if matched != 1 else ''} ({_pct(float(match.mean()))}), "
        f"{_among(inside, n)} among them."
    )


def _among(inside: int, n: int) -> str:
    if inside == n:
        return f"all {n} labelled anomalies" if n > 1 else "the labelled anomaly"
    return f"{inside} of the {n} labelled anomalies"


def _condition(column: pd.Series, positions: list[int]) -> tuple[str, np.ndarray] | None:
    """The text of the condition the anomalies meet in ``column``, and which rows meet it."""
    values = column.iloc[positions]
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:
        x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        v = x[positions]
        v = v[np.isfinite(v)]
        if v.size == 0:
            return None
        lo, hi = float(v.min()), float(v.max())
        mask = (x >= lo) & (x <= hi)
        text = f"{column.name} = {_fmt(lo)}" if lo == hi else (
            f"{column.name} from {_fmt(lo)} to {_fmt(hi)}")  # fmt: skip
        return text, mask
    levels = pd.unique(values.dropna())
    if len(levels) == 0 or len(levels) > MAX_VALUES:
        return None
    mask = column.isin(levels).to_numpy()
    shown = ", ".join(_fmt(_plain(v)) for v in sorted(levels, key=str))
    verb = "=" if len(levels) == 1 else "in"
    return f"{column.name} {verb} {shown}", mask


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
