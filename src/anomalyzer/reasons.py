"""Reasons in words: the columns that made a row anomalous, said as a person would."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.safety.display import shorten

# Columns named in a reason: at most this many, and only those carrying at
# least this share of the top column's contribution.
MAX_COLUMNS = 3
MIN_SHARE = 0.25


def reason_for(row: pd.Series, contributions: pd.Series, profile: dict[str, dict]) -> str:
    """One short sentence naming the columns most responsible for a row's score.

    Values that stand out on their own are described on their own; a column
    that is typical alone but carries the score is named with its partner,
    the next most responsible column (a broken relation between the two).

    >>> profile = {"amount": {"kind": "numeric", "median": 40.0, "scale": 20.0},
    ...            "country": {"kind": "categorical", "freq": {"US": 0.9, "NR": 0.001}}}
    >>> row = pd.Series({"amount": 1240.0, "country": "US"})
    >>> reason_for(row, pd.Series({"amount": 5.0, "country": 0.1}), profile)
    'amount = 1,240 is 31x its typical value (40)'
    >>> row = pd.Series({"amount": 60.0, "country": "US"})
    >>> reason_for(row, pd.Series({"amount": 0.4, "country": 2.0}), profile)
    "country = 'US' is unusual with amount = 60"
    """
    ranked = contributions[contributions > 0].sort_values(ascending=False)
    if ranked.empty:
        return "no single column stands out"
    top = float(ranked.iloc[0])
    chosen = [c for c, v in ranked.items() if v >= MIN_SHARE * top][:MAX_COLUMNS]
    # Among the columns the model holds responsible, values that stand out on
    # their own come first: they are what a person can check and act on.
    standouts = []
    for col in chosen:
        phrase = describe_value(col, row.get(col), profile.get(col, {}))
        if phrase is not None:
            standouts.append(phrase)
    if standouts:
        return "; ".join(standouts)
    # Nothing stands out alone: the row is odd through a combination of columns.
    col = chosen[0]
    partner = next((c for c in ranked.index if c != col), None)
    value = _fmt(row.get(col))
    if partner is None:
        kind = profile.get(col, {}).get("kind")
        if kind == "datetime":
            return f"{_name(col)} = {value} is far from the other rows' times"
        return f"{_name(col)} = {value} is unusual among its column's values"
    return f"{_name(col)} = {value} is unusual with {_name(partner)} = {_fmt(row.get(partner))}"


def describe_value(col: str, value: Any, stats: dict) -> str | None:
    """Words for one value that stands out on its own, or None if it is typical alone.

    >>> describe_value("temp", -3.0, {"kind": "numeric", "median": 20.0, "scale": 2.0})
    'temp = -3 is 11.5 robust SD below typical (20)'
    >>> describe_value("country", "NR", {"kind": "categorical", "freq": {"NR": 0.001}})
    "country = 'NR' occurs in 0.1% of rows"
    """
    kind = stats.get("kind")
    col = _name(col)
    if _missing(value):
        share = stats.get("missing", 0.0)
        return f"{col} is missing (as in {share:.1%} of rows)" if share < 0.2 else None
    if kind == "numeric":
        number = _number(value)
        if number is None:
            return f"{col} = {_fmt(value)} is not a number (read as missing)"
        return _numeric(col, number, stats)
    if kind == "categorical":
        freq = stats.get("freq", {})
        share = freq.get(str(value))
        if share is None:
            if len(freq) >= stats.get("n_levels", len(freq)):
                return f"{col} = {_quoted(value)} was never seen when the model was fitted"
            return f"{col} = {_quoted(value)} is a rare value"
        if share <= 0.02:
            return f"{col} = {_quoted(value)} occurs in {_pct(share)} of rows"
        return None
    if kind == "datetime":
        lo, hi = stats.get("min"), stats.get("max")
        try:
            ts = pd.Timestamp(value)
            if (
                lo is not None
                and hi is not None
                and not (pd.Timestamp(lo) <= ts <= pd.Timestamp(hi))
            ):
                return f"{col} = {shorten(str(value))} is outside the usual range {lo} to {hi}"
        except (ValueError, TypeError):
            return None
        return None
    return None


def _numeric(col: str, value: float, stats: dict) -> str | None:
    median = float(stats.get("median", 0.0))
    scale = float(stats.get("scale", 1.0)) or 1.0
    z = (value - median) / scale
    if abs(z) < 2.5:
        return None
    # Ratios read well only for positive quantities well away from zero
    # (amounts, counts, durations), not for values centred near zero.
    ratio = value / median if median > scale and value > 0 else None
    if ratio is not None and ratio >= 3:
        return f"{col} = {_fmt(value)} is {ratio:.0f}x its typical value ({_fmt(median)})"
    if ratio is not None and ratio <= 1 / 3:
        return f"{col} = {_fmt(value)} is {1 / ratio:.0f}x below its typical value ({_fmt(median)})"
    side = "above" if z > 0 else "below"
    return f"{col} = {_fmt(value)} is {abs(z):.1f} robust SD {side} typical ({_fmt(median)})"


def _number(value: Any) -> float | None:
    """``value`` as a float, numbers written as text included; None when it is not one."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        from anomalyzer.data.roles import parse_numbers

        x = float(parse_numbers(pd.Series([str(value)], dtype="str"))[0])
    return x if math.isfinite(x) else None


def _name(col: Any) -> str:
    """A column name as shown in a reason: at most about 60 characters on one line."""
    return shorten(str(col))


def _quoted(value: Any) -> str:
    return f"'{shorten(str(value))}'"


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _pct(share: float) -> str:
    return f"{share:.1%}" if share >= 0.001 else f"{share:.2%}"


def _fmt(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isfinite(v) and (v == round(v) or abs(v) >= 1000) and abs(v) < 1e15:
            return f"{round(v):,}"
        return f"{v:,.4g}"
    if isinstance(value, str):
        return _quoted(value)
    return shorten(str(value))
