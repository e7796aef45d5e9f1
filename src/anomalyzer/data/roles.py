"""Column roles: what each column of a table holds, and whether it becomes a feature.

:func:`infer_schema` gives every column one :class:`Role` and a short reason a
person can read. The first rule that matches a column wins:

1. The column is ``label=`` → LABEL; listed in ``exclude=`` → EXCLUDED; named in
   ``roles=`` → the role given there (any :class:`Role` value).
2. Every value missing → EMPTY. Blank strings count as missing everywhere.
3. A single distinct non-missing value → CONSTANT.
4. ``bool`` dtype, or text holding only true/false words (true/false, yes/no,
   y/n, t/f, any case) → BOOLEAN.
5. ``datetime64`` dtype, naive or time-zone aware → DATETIME.
6. Numeric dtype:

   - integer-valued, a distinct value in every row, and either monotonic (with at
     least 20 rows) or named like an identifier (``id``, ``key``, ``uuid``,
     ``guid``, ``pk`` as a word of the name, e.g. ``user_id``, ``orderKey``) → ID;
   - exactly two distinct values (0/1, or any other pair) → BOOLEAN;
   - otherwise → NUMERIC.

7. A ``category`` dtype → CATEGORICAL.
8. Text (``str`` or ``object``):

   - at least 95% of a sample of the values looks like a date and parses as one
     (ISO 8601 first, then mixed formats, day first when a leading number
     exceeds 12) → DATETIME; values that do not parse become missing;
   - at least 95% of a sample is numeric-looking (``"1,234.5"``, ``"12%"``,
     ``"$7"``, ``"(3)"``, ``"-2e5"``) and none has a leading zero (``"00123"`` is
     a code, not a quantity) → the parsed numbers go through rule 6, so they may
     still be ID or BOOLEAN. Percent signs and currency symbols are dropped
     (``"12%"`` is 12) and values that do not parse become missing;
   - a distinct value in every row, mostly single tokens (no spaces), and at
     least 20 rows or an identifier-like name → ID; a token column with at
     least 95% distinct values and at least 20 rows is an ID too;
   - free text: more than 20 distinct values, more than half the values
     distinct and most of them containing spaces, or a mean length above 30
     characters with more than 50 distinct values → TEXT (ignored);
   - otherwise → CATEGORICAL.

Only NUMERIC, CATEGORICAL, BOOLEAN and DATETIME columns are features. ID columns
stay in the output to identify rows; the others are reported with their reason.

>>> import pandas as pd
>>> df = pd.DataFrame({
...     "order_id": range(30),
...     "amount": [10.5 + i for i in range(30)],
...     "country": ["US", "FR", "DE"] * 10,
...     "shop": "main",
... })
>>> schema = infer_schema(df)
>>> schema.features
['amount', 'country']
>>> schema.role_of("order_id")
<Role.ID: 'id'>
>>> print(schema.dropped()[1].reason)
a single value ('main'): dropped
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pandas.tseries.api import guess_datetime_format

from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_frame


class Role(StrEnum):
    """What a column holds, which decides how (or whether) it becomes a feature."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    TEXT = "text"
    CONSTANT = "constant"
    EMPTY = "empty"
    LABEL = "label"
    EXCLUDED = "excluded"


FEATURE_ROLES = frozenset({Role.NUMERIC, Role.CATEGORICAL, Role.BOOLEAN, Role.DATETIME})

# Fewest rows for "unique per row" to mean "identifier" when the name does not say so:
# in a handful of rows, distinct values are the norm, not a sign of a key.
_MIN_ID_ROWS = 20
# Share of a sample that must parse for text to count as dates or numbers; the rest
# become missing values, which tolerates the odd "n/a" or "-" in a real file.
_PARSE_SHARE = 0.95
# Values inspected for the costlier checks (date parsing, string lengths).
_SAMPLE = 1000
# Distinct values above which spaced or long strings count as free text.
_MIN_TEXT_LEVELS = 20
_MIN_LONG_TEXT_LEVELS = 50
_LONG_TEXT_CHARS = 30

# Columns named in a one-sentence error before the rest are only counted.
_MAX_LISTED = 12

_ID_WORDS = frozenset({"id", "key", "uuid", "guid", "pk", "identifier"})
TRUE_WORDS = frozenset({"true", "t", "yes", "y"})
FALSE_WORDS = frozenset({"false", "f", "no", "n"})

DATE_SHAPE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2021-03-04, 2021/3/4
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 04/03/2021, 4.3.21
    r"|\d{1,2}[ -][A-Za-z]{3,9}[ -,]+\d{2,4}"  # 4 Mar 2021, 04-March-2021
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"  # Mar 4, 2021
)
_DAY_FIRST = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.]\d{2,4}")
_LEADING_ZERO = re.compile(r"^\s*[+-]?0\d")


@dataclass(frozen=True)
class ColumnInfo:
    """One column: its role, its dtype as read, why it got that role, and its missing share."""

    name: str
    role: Role
    dtype: str
    reason: str
    missing: float


@dataclass(frozen=True)
class Schema:
    """The roles of all columns of a table, in table order.

    >>> s = Schema((ColumnInfo("a", Role.NUMERIC, "float64", "numeric", 0.0),
    ...             ColumnInfo("b", Role.TEXT, "str", "free text", 0.1)))
    >>> s.features, s.by_role("text")
    (['a'], ['b'])
    >>> Schema.from_dict(s.to_dict()) == s
    True
    """

    columns: tuple[ColumnInfo, ...]

    @property
    def features(self) -> list[str]:
        """Names of the columns used as features, in table order."""
        return [c.name for c in self.columns if c.role in FEATURE_ROLES]

    def role_of(self, name: str) -> Role:
        """The role of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c.role
        raise AnomalyzerError(
            f"Column {name!r} is not in the schema; use one of: "
            f"{_list_names(c.name for c in self.columns)}."
        )

    def by_role(self, role: Role | str) -> list[str]:
        """Names of the columns with ``role``, in table order."""
        role = _to_role(role, "by_role")
        return [c.name for c in self.columns if c.role is role]

    def dropped(self) -> list[ColumnInfo]:
        """The columns not used as features, each with the reason."""
        return [c for c in self.columns if c.role not in FEATURE_ROLES]

    def summary(self) -> str:
        """A few lines for a person: counts per role, then each unused column and why.

        >>> s = Schema((ColumnInfo("a", Role.NUMERIC, "float64", "numeric", 0.0),
        ...             ColumnInfo("c", Role.CONSTANT, "int64", "a single value (7): dropped", 0)))
        >>> print(s.summary())
        2 columns, 1 used as features: 1 numeric, 1 constant.
        Not used:
          - c (constant): a single value (7): dropped
        """
        counts = {role: 0 for role in Role}
        for c in self.columns:
            counts[c.role] += 1
        parts = ", ".join(f"{n} {role.value}" for role, n in counts.items() if n)
        n = len(self.columns)
        lines = [
            f"{n} column{'s' if n != 1 else ''}, {len(self.features)} used as features: {parts}."
        ]
        dropped = self.dropped()
        if dropped:
            lines.append("Not used:")
            lines += [f"  - {c.name} ({c.role.value}): {c.reason}" for c in dropped]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict, read back by :meth:`from_dict`."""
        return {
            "columns": [
                {**asdict(c), "role": c.role.value, "missing": float(c.missing)}
                for c in self.columns
            ]
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schema:
        """Rebuild a schema saved with :meth:`to_dict`."""
        try:
            columns = tuple(
                ColumnInfo(
                    name=str(c["name"]),
                    role=Role(c["role"]),
                    dtype=str(c["dtype"]),
                    reason=str(c["reason"]),
                    missing=float(c["missing"]),
                )
                for c in d["columns"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AnomalyzerError(
                f"The saved schema is not valid ({type(exc).__name__}: {exc}); "
                "save it again with Schema.to_dict()."
            ) from None
        return cls(columns)


# -- value helpers shared with the preprocessor ----------------------------------------


def column_lookup(df: pd.DataFrame) -> dict[str, Hashable]:
    """Map each column's name as text to its label in ``df``; duplicate names are an error.

    >>> column_lookup(pd.DataFrame({0: [1], "a": [2]}))
    {'0': 0, 'a': 'a'}
    """
    lookup: dict[str, Hashable] = {}
    for label in df.columns:
        name = str(label)
        if name in lookup:
            raise AnomalyzerError(
                f"The table has more than one column named {name!r}; rename them so that "
                "each column name is unique."
            )
        lookup[name] = label
    return lookup


def _scalar_text(value: Any) -> str:
    """One non-missing value as text; whole floats lose their ``.0`` so 1 and 1.0 agree."""
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def as_text(s: pd.Series) -> pd.Series:
    """Values as a ``str`` Series with NaN for missing (blank strings included).

    Numbers are written without a trailing ``.0`` when whole, so that a level
    read as ``1`` from one file and ``1.0`` from another is the same level.

    >>> as_text(pd.Series([1.0, 2.5, None])).tolist()
    ['1', '2.5', nan]
    >>> as_text(pd.Series(["a", "  ", None, True], dtype=object)).tolist()
    ['a', nan, nan, 'True']
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if ptypes.is_bool_dtype(s.dtype):
        out = s.astype(object).map({True: "True", False: "False"}, na_action="ignore")
    elif ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_complex_dtype(s.dtype):
        x = numeric_values(s)
        ok = np.isfinite(x)
        whole = ok & (np.abs(x) < 2.0**53)
        whole &= np.floor(np.where(whole, x, 0.0)) == np.where(whole, x, 0.0)
        values = np.full(len(x), None, dtype=object)
        values[whole] = x[whole].astype(np.int64).astype(str)
        values[ok & ~whole] = x[ok & ~whole].astype(str)
        out = pd.Series(values, index=s.index, dtype=object)
    elif ptypes.is_datetime64_any_dtype(s.dtype):
        out = s.astype(object).map(lambda v: v.isoformat(), na_action="ignore")
    elif ptypes.is_string_dtype(s.dtype) and not ptypes.is_object_dtype(s.dtype):
        out = s
    else:
        out = s.astype(object).map(_scalar_text, na_action="ignore")
    out = out.astype("str")
    return out.where(out.str.strip() != "")


def numeric_values(s: pd.Series) -> np.ndarray:
    """Float64 values of a numeric, boolean or timedelta Series; inf and missing are NaN.

    >>> numeric_values(pd.Series([1, None, float("inf")], dtype="Float64"))
    array([ 1., nan, nan])
    """
    if ptypes.is_timedelta64_dtype(s.dtype):
        x = s.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    elif ptypes.is_bool_dtype(s.dtype):
        x = s.astype(object).map({True: 1.0, False: 0.0}, na_action="ignore")
        x = x.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(x), x, np.nan)


def parse_numbers(text: pd.Series) -> np.ndarray:
    """Numbers written as text (``as_text`` output); NaN where a value is not a number.

    Thousands separators, currency symbols, percent signs and spaces are dropped
    and accounting negatives ``(3)`` read as -3.

    >>> parse_numbers(pd.Series(["1,234.5", "12%", "$7", "(3)", "abc", None], dtype="str"))
    array([1234.5,   12. ,    7. ,   -3. ,    nan,    nan])
    """
    text = text.astype("str")
    x = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    # Plain numbers parse above at C speed; only the rest go through the slower cleaning.
    rest = np.flatnonzero(np.isnan(x) & text.notna().to_numpy())
    if rest.size:
        t = text.iloc[rest].str.replace(r"[\s$€£¥%]", "", regex=True)
        paren = t.str.fullmatch(r"\(.+\)").fillna(False).astype(bool)
        t = t.where(~paren, "-" + t.str.slice(1, -1))
        grouped = t.str.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?").fillna(False).astype(bool)
        t = t.where(~grouped, t.str.replace(",", "", regex=False))
        x[rest] = pd.to_numeric(t, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(x), x, np.nan)


def date_format(text: pd.Series) -> str | None:
    """The format that parses ``text`` (non-missing strings) as dates, or None.

    Returns ``"ISO8601"``, a ``strptime`` format guessed from the first value,
    ``"mixed"`` or ``"mixed_dayfirst"`` (each value parsed on its own).

    >>> date_format(pd.Series(["2021-01-05", "2021-02-01 10:30"]))
    'ISO8601'
    >>> date_format(pd.Series(["25/12/2021", "01/02/2022"]))
    '%d/%m/%Y'
    >>> date_format(pd.Series(["Jan 5, 2021", "5 February 2021"]))
    'mixed'
    >>> date_format(pd.Series(["12", "2021"])) is None
    True
    """
    text = text.dropna()
    if text.empty or len(text) > _SAMPLE:
        text = _sample(text)
    if text.empty or text.str.len().max() > 64:
        return None
    if text.str.contains(DATE_SHAPE).mean() < _PARSE_SHARE:
        return None
    mixed = _mixed_format(text)
    # An explicit format guessed from one value parses at C speed; "mixed" falls back to
    # parsing value by value, so it is the last resort.
    with warnings.catch_warnings():
        # pandas warns when a day-first value is guessed without dayfirst; the order is
        # settled from all the values (anomalyzer.data.datetext), not from this guess.
        warnings.simplefilter("ignore", UserWarning)
        guessed = guess_datetime_format(str(text.iloc[0]), dayfirst=mixed == "mixed_dayfirst")
    for fmt in ("ISO8601", *([guessed] if guessed else []), mixed):
        parsed = parse_dates(text, fmt)
        if parsed.notna().mean() >= _PARSE_SHARE:
            return fmt
    return None


def _mixed_format(text: pd.Series) -> str:
    """``mixed_dayfirst`` when some d/m/y value can only be day first, else ``mixed``."""
    parts = text.str.extract(_DAY_FIRST).dropna().astype(int)
    if not parts.empty and (parts[0] > 12).any() and not (parts[1] > 12).any():
        return "mixed_dayfirst"
    return "mixed"


def parse_dates(text: pd.Series, fmt: str) -> pd.Series:
    """Parse text as dates in a format from :func:`date_format`; NaT where it fails.

    Mixed UTC offsets are converted to UTC, the only common time zone they have.

    >>> parse_dates(pd.Series(["2021-01-05", "junk"]), "ISO8601").tolist()
    [Timestamp('2021-01-05 00:00:00'), NaT]
    """
    kwargs: dict[str, Any] = {"errors": "coerce", "format": fmt}
    if fmt.startswith("mixed"):
        kwargs["format"] = "mixed"
        kwargs["dayfirst"] = fmt == "mixed_dayfirst"
    text = text.astype(object).where(text.notna(), None)
    try:
        return pd.to_datetime(text, **kwargs)
    except (ValueError, TypeError, OverflowError):
        return pd.to_datetime(text, utc=True, **kwargs)


def _sample(s: pd.Series, n: int = _SAMPLE) -> pd.Series:
    """Up to ``n`` values spread evenly over ``s``: cheap, deterministic, not just the head."""
    if len(s) <= n:
        return s
    return s.iloc[np.linspace(0, len(s) - 1, n).astype(np.int64)]


def name_looks_like_id(name: str) -> bool:
    """Whether a word of ``name`` says identifier (``id``, ``key``, ``uuid``...).

    >>> [name_looks_like_id(n) for n in ("user_id", "orderKey", "UUID", "paid", "valid")]
    [True, True, True, False, False]
    """
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return any(
        w in _ID_WORDS for w in re.split(r"[^A-Za-z0-9]+|(?<=\d)(?=[A-Za-z])", words.lower())
    )


# -- inference -------------------------------------------------------------------------


def infer_schema(
    df: pd.DataFrame,
    *,
    exclude: Sequence[str] = (),
    label: str | None = None,
    roles: Mapping[str, str] | None = None,
) -> Schema:
    """Give every column of ``df`` a role, by the rules in this module's docstring.

    ``exclude`` columns are kept out, ``label`` is the ground-truth column (never
    a feature) and ``roles`` sets the role of any column by name. Raises
    ``AnomalyzerError`` when a name is unknown or when no column is usable.

    >>> df = pd.DataFrame({"x": [1.0, 2.0, 4.0], "y": [0, 1, 0], "note": ["a", "b", "c"]})
    >>> [(c.name, c.role.value) for c in infer_schema(df, label="y").columns]
    [('x', 'numeric'), ('y', 'label'), ('note', 'categorical')]
    >>> infer_schema(df, roles={"z": "numeric"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Column 'z' given in roles= is not in the table; ...
    """
    check_frame(df)
    lookup = column_lookup(df)
    forced = _check_settings(lookup, exclude=exclude, label=label, roles=roles)
    if len(df) == 0:
        raise AnomalyzerError("The table has no rows; pass a table with at least one row.")
    columns = []
    for name, col in lookup.items():
        s = df[col]
        dtype = str(s.dtype)
        if name in forced:
            role, reason = forced[name]
            columns.append(ColumnInfo(name, role, dtype, reason, _missing_share(s)))
            continue
        role, reason, missing = _infer_column(name, s)
        columns.append(ColumnInfo(name, role, dtype, reason, missing))
    schema = Schema(tuple(columns))
    if not schema.features:
        shown = schema.columns[:_MAX_LISTED]
        why = "; ".join(f"{c.name!r} ({_brief(c)})" for c in shown)
        if len(schema.columns) > len(shown):
            why += f"; and {len(schema.columns) - len(shown)} more"
        example = next(
            (c.name for c in schema.columns if c.role not in (Role.EMPTY, Role.LABEL)),
            schema.columns[0].name,
        )
        raise AnomalyzerError(
            f"No usable feature column: {why}; force one with roles={{{example!r}: 'numeric'}} "
            "(or 'categorical')."
        )
    return schema


def _brief(c: ColumnInfo) -> str:
    """The reason of an unused column, shortened to its first clause for a one-line error."""
    return c.reason.split(":")[0]


def _list_names(names: Any, limit: int = 30) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _to_role(value: Any, where: str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise AnomalyzerError(
            f"Unknown role {value!r} in {where}; use one of: {', '.join(r.value for r in Role)}."
        ) from None


def _check_settings(
    lookup: Mapping[str, Hashable],
    *,
    exclude: Sequence[str],
    label: str | None,
    roles: Mapping[str, str] | None,
) -> dict[str, tuple[Role, str]]:
    """Validate ``exclude``/``label``/``roles`` against the columns; return the forced roles."""
    available = _list_names(lookup)

    def check(name: Any, where: str) -> str:
        if str(name) not in lookup:
            raise AnomalyzerError(
                f"Column {name!r} given in {where} is not in the table; use one of: {available}."
            )
        return str(name)

    if isinstance(exclude, str):
        exclude = [exclude]
    forced: dict[str, tuple[Role, str]] = {}
    for name, role in (roles or {}).items():
        name = check(name, "roles=")
        role = _to_role(role, f"roles= for column {name!r}")
        verb = "dropped" if role not in FEATURE_ROLES else "used as a feature"
        forced[name] = (role, f"set to {role.value} by roles=: {verb}")
    for name in exclude:
        name = check(name, "exclude=")
        if name in forced and forced[name][0] is not Role.EXCLUDED:
            raise AnomalyzerError(
                f"Column {name!r} is both in exclude= and given a role in roles=; keep only one."
            )
        forced[name] = (Role.EXCLUDED, "excluded by exclude=: not used")
    if label is not None:
        name = check(label, "label=")
        if name in forced and forced[name][0] not in (Role.LABEL, Role.EXCLUDED):
            raise AnomalyzerError(
                f"Column {name!r} is the label= column but roles= gives it the role "
                f"{forced[name][0].value}; keep only one."
            )
        forced[name] = (Role.LABEL, "the label column: used to evaluate, never as a feature")
    return forced


def _missing_share(s: pd.Series) -> float:
    if len(s) == 0:
        return 0.0
    if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
        return float(np.isnan(numeric_values(s)).mean())
    if ptypes.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
        return float(as_text(s).isna().mean())
    return float(s.isna().mean())


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


def read_notes(schema: Schema) -> list[str]:
    """Lines about feature columns read with care (cells that were not numbers).

    >>> s = Schema((ColumnInfo("x", Role.NUMERIC, "str", "numbers written as text ('1'); "
    ...     "2 cells that are not numbers ('abc') read as missing", 0.1),))
    >>> read_notes(s)
    ["column 'x': 2 cells that are not numbers ('abc') read as missing"]
    """
    notes = []
    for c in schema.columns:
        if c.role in FEATURE_ROLES and "read as missing" in c.reason:
            notes.append(f"column {c.name!r}: {c.reason.split('; ', 1)[-1]}")
    return notes


def _infer_column(name: str, s: pd.Series) -> tuple[Role, str, float]:
    """Role, reason and missing share of one column (rules 2 to 8)."""
    n = len(s)
    if ptypes.is_bool_dtype(s.dtype):
        return _from_levels(name, s, as_text(s), boolean=True)
    if ptypes.is_datetime64_any_dtype(s.dtype):
        missing = float(s.isna().mean())
        return _dates_role(s.dropna(), missing, "dates")
    if (
        ptypes.is_numeric_dtype(s.dtype) or ptypes.is_timedelta64_dtype(s.dtype)
    ) and not ptypes.is_complex_dtype(s.dtype):
        x = numeric_values(s)
        return _numbers_role(name, x, float(np.isnan(x).mean()), "numeric")
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _from_levels(name, s, as_text(s), boolean=False)

    text = as_text(s)
    valid = text.dropna()
    missing = 1.0 - len(valid) / n
    if valid.empty or valid.nunique() == 1:
        return _from_levels(name, s, text, boolean=False)
    sample = _sample(valid)
    fmt = date_format(sample)
    if fmt is not None:
        return _dates_role(valid, missing, "dates written as text")
    if (
        sample.str.lower().isin(TRUE_WORDS | FALSE_WORDS).all()
        and valid.str.lower().isin(TRUE_WORDS | FALSE_WORDS).all()
    ):
        return Role.BOOLEAN, "true/false values written as text", missing
    numbers = parse_numbers(sample)
    if np.isfinite(numbers).mean() >= _PARSE_SHARE and not sample.str.contains(_LEADING_ZERO).any():
        x = parse_numbers(text)
        example = sample.iloc[0]
        what = f"numbers written as text (such as {_show(example)}){_junk(text, x)}"
        return _numbers_role(name, x, float(np.isnan(x).mean()), what)
    return _strings_role(name, valid, sample, missing)


# Words that mean "no value" in a column of numbers; they are missing, not junk.
MISSING_WORDS = frozenset({"nan", "na", "n/a", "null", "none", "inf", "-inf", "+inf"})
# Junk tokens named in a column's reason; the rest are counted.
_MAX_TOKENS = 3


def _junk(text: pd.Series, x: np.ndarray) -> str:
    """``; 3 cells that are not numbers ('abc', '--') read as missing``, or ``""``.

    >>> _junk(pd.Series(["1", "abc", "2", "--", "n/a"]), np.array([1, np.nan, 2, np.nan, np.nan]))
    "; 2 cells that are not numbers ('abc', '--') read as missing"
    """
    bad = text.notna().to_numpy() & np.isnan(x)
    if not bad.any():
        return ""
    values = text[bad]
    values = values[~values.str.strip().str.lower().isin(MISSING_WORDS)]
    if values.empty:
        return ""
    tokens = values.value_counts(sort=True).index[:_MAX_TOKENS]
    shown = ", ".join(_show(t) for t in tokens)
    more = ", ..." if values.nunique() > _MAX_TOKENS else ""
    n = len(values)
    what = "cells that are not numbers" if n != 1 else "cell that is not a number"
    return f"; {n:,} {what} ({shown}{more}) read as missing"


def _from_levels(
    name: str, s: pd.Series, text: pd.Series, *, boolean: bool
) -> tuple[Role, str, float]:
    """EMPTY / CONSTANT checks for columns judged on their levels, else the given kind."""
    valid = text.dropna()
    missing = 1.0 - len(valid) / len(s)
    if valid.empty:
        return Role.EMPTY, "all values missing: dropped", 1.0
    levels = valid.unique()
    if len(levels) == 1:
        return Role.CONSTANT, f"a single value ({_show(levels[0])}): dropped", missing
    if boolean:
        return Role.BOOLEAN, "boolean", missing
    return Role.CATEGORICAL, f"categorical ({len(levels):,} levels)", missing


def _dates_role(valid: pd.Series, missing: float, what: str) -> tuple[Role, str, float]:
    if valid.empty:
        return Role.EMPTY, "all values missing: dropped", 1.0
    if valid.nunique() == 1:
        return Role.CONSTANT, f"a single value ({_show(str(valid.iloc[0]))}): dropped", missing
    return Role.DATETIME, what, missing


def _numbers_role(name: str, x: np.ndarray, missing: float, what: str) -> tuple[Role, str, float]:
    """Rule 6 on float values (NaN = missing)."""
    valid = x[~np.isnan(x)]
    if valid.size == 0:
        return Role.EMPTY, "all values missing: dropped", 1.0
    levels = np.unique(valid)
    if levels.size == 1:
        shown = _scalar_text(levels[0])
        return Role.CONSTANT, f"a single value ({shown}): dropped", missing
    whole = bool(np.all(valid == np.floor(valid)))
    if whole and levels.size == x.size:
        monotonic = bool(np.all(np.diff(valid) > 0) or np.all(np.diff(valid) < 0))
        if name_looks_like_id(name) or (monotonic and x.size >= _MIN_ID_ROWS):
            return (
                Role.ID,
                "unique for every row: an identifier, kept in the output but not used",
                missing,
            )
    if levels.size == 2:
        pair = f"{_scalar_text(levels[0])}/{_scalar_text(levels[1])}"
        return Role.BOOLEAN, f"two values ({pair})", missing
    return Role.NUMERIC, what, missing


def _strings_role(
    name: str, valid: pd.Series, sample: pd.Series, missing: float
) -> tuple[Role, str, float]:
    """ID, TEXT or CATEGORICAL for text that is neither dates, booleans nor numbers."""
    n_valid = len(valid)
    distinct = int(valid.nunique())
    share = distinct / n_valid
    spaced = float(sample.str.contains(r"\s", regex=True).mean())
    mean_len = float(sample.str.len().mean())
    tokens = spaced <= 0.5
    if tokens and distinct == n_valid and (n_valid >= _MIN_ID_ROWS or name_looks_like_id(name)):
        return (
            Role.ID,
            "unique for every row: an identifier, kept in the output but not used",
            missing,
        )
    if tokens and share >= 0.95 and n_valid >= _MIN_ID_ROWS:
        return (
            Role.ID,
            f"nearly unique per row ({share:.0%} distinct): an identifier, kept in the output "
            "but not used",
            missing,
        )
    if (distinct > _MIN_TEXT_LEVELS and share > 0.5 and not tokens) or (
        mean_len > _LONG_TEXT_CHARS and distinct > _MIN_LONG_TEXT_LEVELS
    ):
        return Role.TEXT, f"free text ({distinct:,} distinct long strings): ignored", missing
    return Role.CATEGORICAL, f"categorical ({distinct:,} levels)", missing
