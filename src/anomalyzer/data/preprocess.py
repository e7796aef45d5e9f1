"""From a table to a finite float matrix: impute, encode and scale each feature column.

Each feature column (see :mod:`anomalyzer.data.roles`) becomes one or more
features, every one traced back to its column in ``feature_sources_``:

- NUMERIC: missing and infinite values are replaced by the median, then
  ``(x - median) / robust scale`` where the robust scale is 1.4826 × MAD, or
  IQR / 1.349, or the standard deviation, or 1, the first that is positive.
  Nothing is clipped: an anomaly stays as far out as it is. A ``name__missing``
  0/1 feature is added for columns that had missing values at fit time.
- BOOLEAN: 0/1 (a two-valued numeric column maps its low value to 0 and its high
  value to 1 linearly, so an unexpected value at scoring time still stands
  out); missing values take the most common value, plus ``name__missing``
  when there were missing values at fit time.
- CATEGORICAL: a missing value is a level of its own, ``<missing>``, so that a
  column that is rarely missing makes a missing row stand out and one that is
  often missing does not. Up to ``max_onehot`` levels (``<missing>`` included)
  are one-hot encoded (``name=level``), kept at 0/1: a level seen in 1% of
  rows then sets a feature that is 0 in 99% of rows, a deviation that
  distance- and tree-based detectors weigh like a few robust standard
  deviations of a numeric feature. With more levels, a single ``name__freq``
  feature holds the share of rows with that level at fit time, robustly
  scaled like a numeric feature. A level not seen at fit time is not an
  error: it gets all-zero one-hot features or a share of 0, the rarest there is.
- DATETIME: ``name__days`` (days since 1970, robustly scaled), and, when the
  column varies at that resolution at fit time, the time of day and the day
  of the week as cyclic sin/cos pairs (``name__hour_sin`` ...). Time-zone aware
  columns use their own local time for the hour and day; text that no longer
  parses as a date is missing.

With ``scale=False`` numeric values (and day counts and level shares) are only
imputed, not scaled.

At scoring time, feature columns missing from the data are an error, extra
columns are ignored, and a column that was numeric but now holds text is an
error naming the column. The input frame is never modified and the output is
always finite: values beyond ±1e100 (only absurd inputs get there) are capped.

>>> import pandas as pd
>>> df = pd.DataFrame({"amount": [10.0, 12.0, None, 11.0, 13.0],
...                    "country": ["US", "FR", "US", "US", "US"]})
>>> pre = Preprocessor().fit(df)
>>> pre.feature_names_
['amount', 'amount__missing', 'country=US', 'country=FR']
>>> pre.transform(pd.DataFrame({"amount": [11.5, 40.0], "country": ["FR", "XK"]}))
array([[ 0.        ,  0.        ,  0.        ,  1.        ],
       [19.22298665,  0.        ,  0.        ,  0.        ]])
>>> pre.profile_["country"]["freq"]
{'US': 0.8, 'FR': 0.2}
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from anomalyzer.data.roles import (
    FALSE_WORDS,
    FEATURE_ROLES,
    TRUE_WORDS,
    Role,
    Schema,
    as_text,
    column_lookup,
    date_format,
    infer_schema,
    numeric_values,
    parse_dates,
    parse_numbers,
)
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_frame, check_int

MISSING_LEVEL = "<missing>"
# Output cap that keeps absurd inputs (1e308 scaled by a tiny spread) finite; far
# beyond any real deviation, so no anomaly is pulled in by it.
_BOUND = 1e100
# Levels kept in the profile for explanations; the encoding keeps them all.
_PROFILE_LEVELS = 200
# Share of non-missing text that may fail to parse in a column read from text
# (numbers or dates) before scoring data counts as a different kind of column.
_MAX_BAD_SHARE = 0.5
# Score-time checks (see Preprocessor.score_notes): a rise in the missing share
# beyond this, or a share of unseen levels beyond this, is worth a warning.
MISSING_JUMP = 0.5
UNSEEN_SHARE = 0.8
_STATE_FORMAT = "anomalyzer.Preprocessor"
_STATE_VERSION = 1
_TRUTH = {**dict.fromkeys(TRUE_WORDS | {"1"}, 1.0), **dict.fromkeys(FALSE_WORDS | {"0"}, 0.0)}
_MISSING_WORDS = frozenset({"nan", "na", "n/a", "null", "none", "inf", "-inf", "+inf"})


def robust_scale(values: np.ndarray) -> float:
    """1.4826 × MAD, else IQR / 1.349, else the standard deviation, else 1.0.

    >>> robust_scale(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    1.4826
    >>> robust_scale(np.array([5.0, 5.0, 5.0]))
    1.0
    """
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 1.0
    median = np.median(values)
    q25, q75 = np.quantile(values, [0.25, 0.75])
    with np.errstate(over="ignore", invalid="ignore"):
        for scale in (
            1.4826 * np.median(np.abs(values - median)),
            (q75 - q25) / 1.349,
            np.std(values),
        ):
            if np.isfinite(scale) and scale > 0:
                return float(scale)
    return 1.0


class Preprocessor:
    """Turn a DataFrame into the float matrix detectors need, and remember how.

    Parameters are those of :func:`~anomalyzer.data.roles.infer_schema`
    (``exclude``, ``label``, ``roles``), plus ``max_onehot`` (most levels one-hot
    encoded; more levels use a frequency feature) and ``scale`` (robust scaling
    of numeric features). See the module docstring for each encoding.
    """

    def __init__(
        self,
        *,
        exclude: Sequence[str] = (),
        label: str | None = None,
        roles: Mapping[str, str] | None = None,
        max_onehot: int = 12,
        scale: bool = True,
    ) -> None:
        self.exclude = exclude
        self.label = label
        self.roles = roles
        self.max_onehot = max_onehot
        self.scale = scale

    # -- fitting ---------------------------------------------------------------------

    def fit(self, df: pd.DataFrame) -> Preprocessor:
        """Infer the column roles of ``df`` and learn each feature's encoding."""
        _check_frame(df)
        check_int("max_onehot", self.max_onehot, minimum=0)
        exclude = [self.exclude] if isinstance(self.exclude, str) else list(self.exclude)
        schema = infer_schema(df, exclude=exclude, label=self.label, roles=self.roles)
        lookup = column_lookup(df)
        encoders, profile = [], {}
        for info in schema.columns:
            if info.role not in FEATURE_ROLES:
                continue
            fitter = _FITTERS[info.role]
            encoder, profile[info.name] = fitter(info.name, df[lookup[info.name]], self)
            encoders.append(encoder)
        self.schema_ = schema
        self.profile_ = profile
        self._set_encoders(encoders)
        return self

    def _set_encoders(self, encoders: list[dict[str, Any]]) -> None:
        self._encoders = encoders
        self.feature_names_ = [f for e in encoders for f in e["features"]]
        self.feature_sources_ = [e["column"] for e in encoders for _ in e["features"]]
        self.n_features_ = len(self.feature_names_)

    def score_notes(self, df: pd.DataFrame) -> list[str]:
        """Warnings about data scored with this preprocessor that differs from the fitted data.

        A feature column far more often missing than at fit time (by more than
        :data:`MISSING_JUMP`), or a categorical column whose values are mostly
        levels never seen at fit time (more than :data:`UNSEEN_SHARE`), would
        otherwise be scored quietly as if it held typical values.

        >>> pre = Preprocessor().fit(pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": list("aab")}))
        >>> pre.score_notes(pd.DataFrame({"x": [None, None, 1.0], "k": list("zzy")}))  # doctest: +NORMALIZE_WHITESPACE
        ["column 'x' is missing in 67% of rows, against 0% when the model was fitted; its
        values are scored as typical, so check the data", "column 'k' holds values never
        seen when the model was fitted in 100% of rows (such as 'z'); the model knows
        little about them"]
        """
        if not hasattr(self, "_encoders") or len(df) == 0:
            return []
        lookup = column_lookup(df)
        notes = []
        for encoder in self._encoders:
            name = encoder["column"]
            if name not in lookup:
                continue
            col = df[lookup[name]]
            profile = self.profile_.get(name, {})
            text = as_text(col)
            missing = float(text.isna().mean())
            before = float(profile.get("missing", 0.0))
            if missing - before > MISSING_JUMP:
                notes.append(
                    f"column {name!r} is missing in {missing:.0%} of rows, against {before:.0%} "
                    "when the model was fitted; its values are scored as typical, so check the data"
                )
                continue
            if encoder["kind"] == "categorical":
                known = encoder.get("levels") or list(encoder.get("freq", {}))
                present = text.dropna()
                unseen = present[~present.isin(known)]
                if len(present) and len(unseen) > UNSEEN_SHARE * len(present):
                    notes.append(
                        f"column {name!r} holds values never seen when the model was fitted in "
                        f"{len(unseen) / len(present):.0%} of rows (such as "
                        f"{_show(unseen.iloc[0])}); the model knows little about them"
                    )
        return notes

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        """Fit on ``df`` and return its feature matrix."""
        return self.fit(df).transform(df)

    # -- transforming ----------------------------------------------------------------

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The feature matrix of ``df``: float64, finite, shape ``(len(df), n_features_)``."""
        if not hasattr(self, "_encoders"):
            raise AnomalyzerError("This Preprocessor is not fitted yet; call fit(df) first.")
        _check_frame(df, allow_empty=True)
        lookup = column_lookup(df)
        absent = [e["column"] for e in self._encoders if e["column"] not in lookup]
        if absent:
            names = ", ".join(repr(a) for a in absent)
            raise AnomalyzerError(
                f"Column{'s' if len(absent) > 1 else ''} {names} used when the model was fitted "
                f"{'are' if len(absent) > 1 else 'is'} missing from the data; add "
                f"{'them' if len(absent) > 1 else 'it'} or fit the model again without "
                f"{'them' if len(absent) > 1 else 'it'}."
            )
        out = np.empty((len(df), self.n_features_), dtype=np.float64)
        start = 0
        for encoder in self._encoders:
            block = _ENCODERS[encoder["kind"]](encoder, df[lookup[encoder["column"]]])
            out[:, start : start + block.shape[1]] = block
            start += block.shape[1]
        # NaN cannot reach here (every encoder imputes); the cap turns overflow into a
        # huge but finite deviation.
        np.clip(np.nan_to_num(out, nan=0.0), -_BOUND, _BOUND, out=out)
        return out

    # -- saving ----------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """The whole fitted state as plain JSON-safe data, read back by :meth:`from_state`."""
        if not hasattr(self, "_encoders"):
            raise AnomalyzerError("This Preprocessor is not fitted yet; call fit(df) first.")
        exclude = [self.exclude] if isinstance(self.exclude, str) else list(self.exclude)
        return {
            "format": _STATE_FORMAT,
            "version": _STATE_VERSION,
            "params": {
                "exclude": [str(c) for c in exclude],
                "label": None if self.label is None else str(self.label),
                "roles": {str(k): str(v) for k, v in (self.roles or {}).items()},
                "max_onehot": int(self.max_onehot),
                "scale": bool(self.scale),
            },
            "schema": self.schema_.to_dict(),
            "encoders": copy.deepcopy(self._encoders),
            "profile": copy.deepcopy(self.profile_),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Preprocessor:
        """Rebuild a fitted Preprocessor from :meth:`get_state` output.

        >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 50.0]})
        >>> pre = Preprocessor().fit(df)
        >>> again = Preprocessor.from_state(pre.get_state())
        >>> bool((again.transform(df) == pre.transform(df)).all())
        True
        """
        try:
            if state.get("format") != _STATE_FORMAT or state.get("version") != _STATE_VERSION:
                raise ValueError(
                    f"format {state.get('format')!r}, version {state.get('version')!r}"
                )
            params = state["params"]
            pre = cls(
                exclude=tuple(params["exclude"]),
                label=params["label"],
                roles=dict(params["roles"]) or None,
                max_onehot=int(params["max_onehot"]),
                scale=bool(params["scale"]),
            )
            pre.schema_ = Schema.from_dict(state["schema"])
            encoders = copy.deepcopy(list(state["encoders"]))
            for encoder in encoders:
                if encoder["kind"] not in _ENCODERS or not encoder["features"]:
                    raise ValueError(f"unknown encoder {encoder.get('kind')!r}")
                str(encoder["column"])
            pre.profile_ = copy.deepcopy(dict(state["profile"]))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise AnomalyzerError(
                f"The saved preprocessing state is not valid ({type(exc).__name__}: {exc}); "
                "save it again with Preprocessor.get_state()."
            ) from None
        pre._set_encoders(encoders)
        return pre

    def __repr__(self) -> str:
        fitted = f", {self.n_features_} features" if hasattr(self, "_encoders") else ""
        return f"Preprocessor(max_onehot={self.max_onehot}, scale={self.scale}{fitted})"


def _check_frame(df: Any, *, allow_empty: bool = False) -> None:
    check_frame(df)
    if not allow_empty and len(df) == 0:
        raise AnomalyzerError("The table has no rows; pass a table with at least one row.")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


def _center(values: np.ndarray, pre: Preprocessor) -> tuple[float, float]:
    """Centre and divisor of the scaling: median and robust scale, or 0 and 1 unscaled."""
    if not pre.scale:
        return 0.0, 1.0
    return float(np.median(values)), robust_scale(values)


def _missing_features(name: str, missing: np.ndarray) -> tuple[bool, list[str]]:
    has = bool(missing.any())
    return has, [f"{name}__missing"] if has else []


def _with_indicator(
    encoder: Mapping[str, Any], block: np.ndarray, missing: np.ndarray
) -> np.ndarray:
    if encoder["missing_indicator"]:
        return np.column_stack([block, missing.astype(np.float64)])
    return block


# -- numeric ---------------------------------------------------------------------------


def _is_number_dtype(s: pd.Series) -> bool:
    return (
        ptypes.is_numeric_dtype(s.dtype) or ptypes.is_timedelta64_dtype(s.dtype)
    ) and not ptypes.is_complex_dtype(s.dtype)


def _numbers(name: str, s: pd.Series, *, from_text: bool | None, was: str) -> np.ndarray:
    """Float values of ``s`` (NaN = missing), with an error when it no longer holds numbers.

    ``from_text`` None means "fitting": text is parsed and must mostly be numbers.
    """
    if ptypes.is_datetime64_any_dtype(s.dtype):
        example = s.dropna()
        raise AnomalyzerError(
            f"Column {name!r} {was} holds dates"
            f"{' such as ' + repr(str(example.iloc[0])) if len(example) else ''}; "
            "pass the column as it was when the model was fitted."
        )
    if _is_number_dtype(s):
        return numeric_values(s)
    text = as_text(s)
    x = parse_numbers(text)
    bad = text.notna().to_numpy() & np.isnan(x)
    bad &= ~text.str.strip().str.lower().isin(_MISSING_WORDS).to_numpy()
    if bad.any() and (from_text is False or bad.sum() > _MAX_BAD_SHARE * text.notna().sum()):
        raise AnomalyzerError(
            f"Column {name!r} {was} holds text such as {_show(text[bad].iloc[0])}; "
            "fix or remove those values."
        )
    return x


def _fit_numeric(name: str, s: pd.Series, pre: Preprocessor) -> tuple[dict, dict]:
    from_text = not _is_number_dtype(s)
    x = _numbers(name, s, from_text=None, was="was set to numeric but")
    missing = np.isnan(x)
    valid = x[~missing]
    if valid.size == 0:
        raise AnomalyzerError(
            f"Column {name!r} has no numeric values to learn from; give it another role with "
            f"roles={{{name!r}: 'categorical'}} or exclude it."
        )
    median = float(np.median(valid))
    center, divisor = _center(valid, pre)
    indicator, extra = _missing_features(name, missing)
    q01, q99 = np.quantile(valid, [0.01, 0.99])
    encoder = {
        "column": name,
        "kind": "numeric",
        "from_text": from_text,
        "fill": median,
        "center": center,
        "divisor": divisor,
        "missing_indicator": indicator,
        "features": [name, *extra],
    }
    profile = {
        "kind": "numeric",
        "median": median,
        "scale": robust_scale(valid),
        "q01": float(q01),
        "q99": float(q99),
        "missing": float(missing.mean()),
    }
    return encoder, profile


def _encode_numeric(encoder: Mapping[str, Any], s: pd.Series) -> np.ndarray:
    x = _numbers(
        encoder["column"],
        s,
        from_text=encoder["from_text"],
        was="was numeric when the model was fitted but now",
    )
    missing = np.isnan(x)
    with np.errstate(over="ignore", invalid="ignore"):
        z = (np.where(missing, encoder["fill"], x) - encoder["center"]) / encoder["divisor"]
    return _with_indicator(encoder, z[:, None], missing)


# -- boolean ---------------------------------------------------------------------------


def _levels_profile(text: pd.Series) -> dict[str, Any]:
    """Shares of the non-missing levels over all rows, most common first."""
    counts = text.value_counts(dropna=True)
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    n = max(len(text), 1)
    return {
        "kind": "categorical",
        "freq": {str(k): float(v) / n for k, v in counts.iloc[:_PROFILE_LEVELS].items()},
        "n_levels": len(counts),
        "missing": float(text.isna().mean()) if len(text) else 0.0,
    }


def _fit_boolean(name: str, s: pd.Series, pre: Preprocessor) -> tuple[dict, dict]:
    profile = _levels_profile(as_text(s))
    encoder: dict[str, Any] = {"column": name, "kind": "boolean"}
    if _is_number_dtype(s) and not ptypes.is_bool_dtype(s.dtype):
        x = numeric_values(s)
        valid = x[~np.isnan(x)]
        low, high = (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)
        encoder.update(mode="linear", low=low, divisor=(high - low) or 1.0)
        values = (x - low) / encoder["divisor"]
    else:
        lower = as_text(s).str.lower()
        counts = lower.value_counts().sort_index(kind="stable")
        counts = counts.sort_values(ascending=False, kind="stable")
        if all(level in _TRUTH for level in counts.index):
            mapping = {str(level): _TRUTH[level] for level in counts.index}
        elif len(counts) <= 2:
            # Two arbitrary levels: the rarer one is the "1", the event worth noticing.
            mapping = {str(level): float(i) for i, level in enumerate(counts.index)}
        else:
            raise AnomalyzerError(
                f"Column {name!r} was set to boolean but holds {len(counts)} distinct values; "
                f"use roles={{{name!r}: 'categorical'}} instead."
            )
        encoder.update(mode="map", mapping=mapping)
        values = lower.map(mapping).to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    valid = values[~missing]
    ones = float((valid == 1.0).mean()) if valid.size else 0.0
    encoder["fill"] = 1.0 if ones > 0.5 else 0.0
    encoder["missing_indicator"], extra = _missing_features(name, missing)
    encoder["features"] = [name, *extra]
    return encoder, profile


def _encode_boolean(encoder: Mapping[str, Any], s: pd.Series) -> np.ndarray:
    name = encoder["column"]
    if encoder["mode"] == "linear":
        x = _numbers(name, s, from_text=False, was="was numeric when the model was fitted but now")
        values = (x - encoder["low"]) / encoder["divisor"]
    else:
        lookup = {**_TRUTH, **encoder["mapping"]}
        lower = as_text(s).str.lower()
        # A value outside the fitted pair is unknown rather than an error: it is imputed.
        values = lower.map(lookup).to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    values = np.where(missing, encoder["fill"], values)
    return _with_indicator(encoder, values[:, None], missing)


# -- categorical -----------------------------------------------------------------------


def _level_keys(s: pd.Series) -> pd.Series:
    return as_text(s).fillna(MISSING_LEVEL)


def _fit_categorical(name: str, s: pd.Series, pre: Preprocessor) -> tuple[dict, dict]:
    text = as_text(s)
    profile = _levels_profile(text)
    keys = text.fillna(MISSING_LEVEL)
    counts = keys.value_counts().sort_index(kind="stable")
    counts = counts.sort_values(ascending=False, kind="stable")
    levels = [str(level) for level in counts.index]
    encoder: dict[str, Any] = {"column": name, "kind": "categorical"}
    if len(levels) <= pre.max_onehot:
        encoder.update(encoding="onehot", levels=levels, features=[f"{name}={v}" for v in levels])
    else:
        freq = {level: float(c) / len(keys) for level, c in zip(levels, counts, strict=True)}
        shares = keys.map(freq).to_numpy(dtype=np.float64)
        center, divisor = _center(shares, pre)
        encoder.update(
            encoding="freq", freq=freq, center=center, divisor=divisor, features=[f"{name}__freq"]
        )
    return encoder, profile


def _encode_categorical(encoder: Mapping[str, Any], s: pd.Series) -> np.ndarray:
    keys = _level_keys(s)
    if encoder["encoding"] == "onehot":
        levels = encoder["levels"]
        codes = pd.Index(levels, dtype=object).get_indexer(keys.to_numpy(dtype=object))
        block = np.zeros((len(keys), len(levels)), dtype=np.float64)
        seen = codes >= 0  # an unseen level keeps all-zero features
        block[np.flatnonzero(seen), codes[seen]] = 1.0
        return block
    shares = keys.map(encoder["freq"]).to_numpy(dtype=np.float64, na_value=0.0)
    shares = np.where(np.isnan(shares), 0.0, shares)
    return ((shares - encoder["center"]) / encoder["divisor"])[:, None]


# -- datetime --------------------------------------------------------------------------


def _localize(ts: pd.Series, tz: str | None) -> pd.Series:
    """Bring ``ts`` to the time zone seen at fit time (naive stays naive)."""
    aware = ts.dt.tz is not None
    if tz is None:
        return ts.dt.tz_convert("UTC").dt.tz_localize(None) if aware else ts
    if aware:
        return ts.dt.tz_convert(tz)
    return ts.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")


def _epoch_days(ts: pd.Series) -> np.ndarray:
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = ts.to_numpy(dtype="datetime64[ms]")
    days = arr.astype(np.int64) / 86_400_000.0
    return np.where(np.isnat(arr), np.nan, days)


def _clock(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Hour of day (fractional) and day of week, NaN where missing."""
    hour = (ts.dt.hour + ts.dt.minute / 60.0 + ts.dt.second / 3600.0).to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    dow = ts.dt.day_of_week.to_numpy(dtype=np.float64, na_value=np.nan)
    return hour, dow


def _dates(name: str, s: pd.Series, fmt: str | None, *, fitting: bool) -> pd.Series:
    """``s`` as datetimes (NaT = missing), or an error when it holds something else."""
    if ptypes.is_datetime64_any_dtype(s.dtype):
        return s
    was = "was set to datetime" if fitting else "held dates when the model was fitted"
    if _is_number_dtype(s) or ptypes.is_bool_dtype(s.dtype):
        valid = s.dropna()
        if fitting or len(valid):
            example = f" such as {_show(valid.iloc[0])}" if len(valid) else ""
            raise AnomalyzerError(
                f"Column {name!r} {was} but holds numbers{example}, not dates; "
                "pass dates (or text such as '2024-05-01 13:00')."
            )
    text = as_text(s)
    fmt = fmt or date_format(text) or "mixed"
    ts = parse_dates(text, fmt)
    bad = text.notna() & ts.isna()
    if bad.any() and not fmt.startswith("mixed"):
        # New data may write its dates another way than the fitted data did; parsing
        # each value on its own is slower but accepts any common way of writing them.
        ts = parse_dates(text, "mixed_dayfirst" if fmt.startswith("%d") else "mixed")
        bad = text.notna() & ts.isna()
    if bad.any() and bad.sum() > _MAX_BAD_SHARE * text.notna().sum():
        raise AnomalyzerError(
            f"Column {name!r} {was} but holds text such as {_show(text[bad].iloc[0])}, "
            "which is not a date; fix or remove those values."
        )
    return ts


def _fit_datetime(name: str, s: pd.Series, pre: Preprocessor) -> tuple[dict, dict]:
    fmt = None
    if not ptypes.is_datetime64_any_dtype(s.dtype):
        text = as_text(s)
        fmt = date_format(text) or "mixed"
    ts = _dates(name, s, fmt, fitting=True)
    tz = str(ts.dt.tz) if ts.dt.tz is not None else None
    days = _epoch_days(ts)
    missing = np.isnan(days)
    valid = days[~missing]
    if valid.size == 0:
        raise AnomalyzerError(f"Column {name!r} has no dates to learn from; exclude it.")
    hour, dow = _clock(ts)
    use_hour = np.unique(hour[~missing]).size > 1
    use_dow = np.unique(dow[~missing]).size > 1
    center, divisor = _center(valid, pre)
    indicator, extra = _missing_features(name, missing)
    features = [f"{name}__days"]
    features += [f"{name}__hour_sin", f"{name}__hour_cos"] if use_hour else []
    features += [f"{name}__dow_sin", f"{name}__dow_cos"] if use_dow else []
    encoder = {
        "column": name,
        "kind": "datetime",
        "format": fmt,
        "tz": tz,
        "fill": float(np.median(valid)),
        "center": center,
        "divisor": divisor,
        "hour": bool(use_hour),
        "dow": bool(use_dow),
        "fill_hour": float(np.median(hour[~missing])),
        "fill_dow": float(pd.Series(dow[~missing]).mode().iloc[0]),
        "missing_indicator": indicator,
        "features": features + extra,
    }
    local = ts.dropna()
    profile = {
        "kind": "datetime",
        "min": local.min().isoformat(),
        "max": local.max().isoformat(),
        "missing": float(missing.mean()),
    }
    return encoder, profile


def _encode_datetime(encoder: Mapping[str, Any], s: pd.Series) -> np.ndarray:
    ts = _localize(_dates(encoder["column"], s, encoder["format"], fitting=False), encoder["tz"])
    days = _epoch_days(ts)
    missing = np.isnan(days)
    blocks = [(np.where(missing, encoder["fill"], days) - encoder["center"]) / encoder["divisor"]]
    hour, dow = _clock(ts)
    for use, values, fill, period in (
        (encoder["hour"], hour, encoder["fill_hour"], 24.0),
        (encoder["dow"], dow, encoder["fill_dow"], 7.0),
    ):
        if use:
            angle = 2.0 * np.pi * np.where(np.isnan(values), fill, values) / period
            blocks += [np.sin(angle), np.cos(angle)]
    return _with_indicator(encoder, np.column_stack(blocks), missing)


_Fitter = Callable[[str, pd.Series, Preprocessor], tuple[dict, dict]]
_FITTERS: dict[Role, _Fitter] = {
    Role.NUMERIC: _fit_numeric,
    Role.BOOLEAN: _fit_boolean,
    Role.CATEGORICAL: _fit_categorical,
    Role.DATETIME: _fit_datetime,
}
_ENCODERS: dict[str, Callable[[Mapping[str, Any], pd.Series], np.ndarray]] = {
    "numeric": _encode_numeric,
    "boolean": _encode_boolean,
    "categorical": _encode_categorical,
    "datetime": _encode_datetime,
}
