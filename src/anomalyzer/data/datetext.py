"""Dates written as text, read without guessing in silence.

Two things make text dates ambiguous: one column written in several ways
(ISO ``2024-03-05`` beside ``05/03/2024``), and numeric day/month dates whose
order is not said (``05/03/2024`` is 5 March or May 3). :func:`read_date_text`
settles the order from the values themselves, over every value and not a
sample: a first number above 12 can only be a day, a second number above 12
can only be a day. When both occur the column is refused (it mixes the two
orders); when neither occurs month first is assumed, and every such decision
is written in the notes returned beside the dates.

>>> dates, notes = read_date_text(pd.Series(["2024-03-01", "13/03/2024", "05/03/2024"]))
>>> [d.date().isoformat() for d in dates]
['2024-03-01', '2024-03-13', '2024-03-05']
>>> print("\\n".join(notes))
dates are written in 2 ways (such as '2024-03-01' and '13/03/2024'); each value is read by its own format
dates written dd/mm/yyyy read day first: a first number above 12 (such as '13/03/2024') settles it
"""

from __future__ import annotations

import re

import pandas as pd

from anomalyzer.data.roles import DATE_SHAPE
from anomalyzer.errors import AnomalyzerError

_ISO = re.compile(r"^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_NUMERIC_DMY = re.compile(r"^\s*(\d{1,2})([-/.])(\d{1,2})[-/.]\d{2,4}")


def read_date_text(text: pd.Series, name: str = "the column") -> tuple[pd.Series, list[str]]:
    """Parse text dates value by value kind; return the dates (NaT where unreadable) and notes.

    Raises ``AnomalyzerError`` when numeric dates are written both day first
    and month first in the same column.
    """
    text = text.astype(object).where(text.notna(), None)
    present = text.dropna().astype(str)
    iso = present.str.match(_ISO)
    parts = present.str.extract(_NUMERIC_DMY)
    dmy = parts[0].notna() & ~iso
    # Other ways of writing a date ('5 March 2024'); what looks like no date at all
    # ('n/a') is left unread, for the caller's count of unreadable values.
    other = ~iso & ~dmy & present.str.contains(DATE_SHAPE)
    notes: list[str] = []
    kinds = [(iso, "iso"), (dmy, "dmy"), (other, "other")]
    used = [(mask, kind) for mask, kind in kinds if mask.any()]
    if len(used) > 1:
        examples = " and ".join(repr(present[mask].iloc[0]) for mask, _ in used[:2])
        notes.append(
            f"dates are written in {len(used)} ways (such as {examples}); each value is read by "
            "its own format"
        )
    day_first = False
    if dmy.any():
        first = parts.loc[dmy, 0].astype(int)
        second = parts.loc[dmy, 2].astype(int)
        sep = parts.loc[dmy, 1].iloc[0]
        shape = sep.join(("dd", "mm", "yyyy"))
        day_only = present[dmy][first.to_numpy() > 12]
        month_only = present[dmy][second.to_numpy() > 12]
        if len(day_only) and len(month_only):
            raise AnomalyzerError(
                f"Column {name!r} writes dates both day first (such as {day_only.iloc[0]!r}) "
                f"and month first (such as {month_only.iloc[0]!r}); write them one way "
                "(ISO 8601, '2024-03-25', is never ambiguous)."
            )
        if len(day_only):
            day_first = True
            notes.append(
                f"dates written {shape} read day first: a first number above 12 (such as "
                f"{day_only.iloc[0]!r}) settles it"
            )
        elif len(month_only):
            notes.append(
                f"dates written {sep.join(('mm', 'dd', 'yyyy'))} read month first: a second number above 12 (such as {month_only.iloc[0]!r}) "
                "settles it"
            )
        elif (first != second).any():
            notes.append(
                f"dates such as {present[dmy].iloc[0]!r} could be day or month first (no number "
                "above 12 settles it); read month first, so write ISO 8601 dates if that is wrong"
            )
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    pieces = []
    for mask, kind in used:
        values = present[mask]
        if kind == "iso":
            parsed = _to_datetime(values, format="ISO8601")
        else:
            parsed = _to_datetime(values, format="mixed", dayfirst=day_first and kind == "dmy")
        pieces.append(parsed)
    if not pieces:
        return out, notes
    merged = pd.concat(pieces)
    if isinstance(merged.dtype, pd.DatetimeTZDtype) or merged.dtype == object:
        merged = pd.to_datetime(merged, utc=True, errors="coerce")
        out = out.dt.tz_localize("UTC")
    out.loc[merged.index] = merged
    return out, notes


def _to_datetime(values: pd.Series, **kwargs: object) -> pd.Series:
    try:
        return pd.to_datetime(values, errors="coerce", **kwargs)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        # Several UTC offsets: UTC is the time zone they share.
        return pd.to_datetime(values, errors="coerce", utc=True, **kwargs)  # type: ignore[arg-type]


def needs_care(text: pd.Series) -> bool:
    """Whether ``text`` holds numeric day/month dates or more than one way of writing dates.

    >>> needs_care(pd.Series(["2024-03-01", "2024-03-02"])), needs_care(pd.Series(["01/02/2024"]))
    (False, True)
    """
    present = text.dropna().astype(str)
    iso = present.str.match(_ISO)
    dmy = present.str.match(_NUMERIC_DMY)
    other = ~iso & ~dmy & present.str.contains(DATE_SHAPE)
    return bool(dmy.any() or (iso.any() and other.any()))
