"""The preprocessing of :mod:`anomalyzer.data.preprocess` as ONNX nodes.

One graph input per original feature column, typed by its role:

- numeric column: ``double``, NaN or ±inf for a missing value;
- boolean column: ``double`` when it was numeric at fit time (two values),
  else ``string`` (``true``/``false``, ``yes``/``no`` ... or the two fitted
  levels, compared in lower case; blank text is missing);
- categorical column: ``string`` written as anomalyzer writes levels (whole
  numbers without ``.0``); blank text is missing;
- datetime column: ``int64`` milliseconds since 1970-01-01 (the wall-clock time
  for naive columns, UTC for time-zone aware ones), ``INT64_MIN`` (pandas'
  ``NaT``) for a missing value.

Each input is turned into the same features, in the same order and with the
same float64 arithmetic, as :meth:`Preprocessor.transform`, and the matrix is
capped at ±1e100 as there. :func:`anomalyzer.export.inputs.onnx_inputs` writes
a DataFrame as these inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.data.preprocess import _BOUND, _TRUTH, MISSING_LEVEL, Preprocessor
from anomalyzer.errors import AnomalyzerError
from anomalyzer.export.graph import ML_DOMAIN, GraphBuilder

_MS_PER_DAY = 86_400_000
# 1970-01-01 was a Thursday; pandas counts Monday as day 0.
_EPOCH_WEEKDAY = 3
NAT = np.iinfo(np.int64).min


def input_types(pre: Preprocessor) -> dict[str, str]:
    """The ONNX type of each input column of ``pre``'s graph, in feature order.

    >>> df = pd.DataFrame({"a": [1.0, 2.0, 4.0], "c": ["x", "y", "x"]})
    >>> input_types(Preprocessor().fit(df))
    {'a': 'double', 'c': 'string'}
    """
    types = {}
    for enc in pre._encoders:
        kind = enc["kind"]
        if kind == "numeric" or (kind == "boolean" and enc["mode"] == "linear"):
            types[enc["column"]] = "double"
        elif kind == "datetime":
            types[enc["column"]] = "int64"
        else:
            types[enc["column"]] = "string"
    return types


def check_expressible(pre: Preprocessor) -> None:
    """Raise ``AnomalyzerError`` for an encoding that an ONNX graph cannot reproduce."""
    for enc in pre._encoders:
        if enc["kind"] == "datetime" and (enc["hour"] or enc["dow"]):
            _utc_offset_ms(enc)


def build_preprocessing(b: GraphBuilder, pre: Preprocessor) -> str:
    """Add the inputs and nodes of ``pre``; returns the name of the ``[N, d]`` feature matrix."""
    check_expressible(pre)
    blocks = []
    for enc, dtype in zip(pre._encoders, input_types(pre).values(), strict=True):
        raw = b.input(enc["column"], dtype)
        blocks.extend(_ENCODERS[enc["kind"]](b, enc, raw))
    X = b.op("Concat", *blocks, axis=1) if len(blocks) > 1 else blocks[0]
    bound = b.const(np.array(_BOUND))
    return b.op("Clip", X, b.op("Neg", bound), bound)


def _fill_scale(b: GraphBuilder, values: str, missing: str, enc: Mapping[str, Any]) -> str:
    filled = b.op("Where", missing, b.const(np.array(enc["fill"])), values)
    centred = b.op("Sub", filled, b.const(np.array(enc["center"])))
    return b.op("Div", centred, b.const(np.array(enc["divisor"])))


def _indicator(b: GraphBuilder, enc: Mapping[str, Any], missing: str) -> list[str]:
    if not enc["missing_indicator"]:
        return []
    return [b.op("Cast", missing, to=11)]  # 11: DOUBLE


def _not_finite(b: GraphBuilder, x: str) -> str:
    return b.op("Or", b.op("IsNaN", x), b.op("IsInf", x))


def _numeric(b: GraphBuilder, enc: Mapping[str, Any], raw: str) -> list[str]:
    x = b.column(raw)
    missing = _not_finite(b, x)
    return [_fill_scale(b, x, missing, enc), *_indicator(b, enc, missing)]


def _blank(b: GraphBuilder, text: str) -> str:
    """True where the text is empty or only white space (missing, as ``as_text`` reads it)."""
    # Python's str.strip() white space: ASCII controls 9-13 and 28-31, NEL and the
    # Unicode separators.
    return b.op("RegexFullMatch", text, pattern=r"[\t-\r\x{1C}-\x{1F}\x{85}\p{Z}]*")


def _boolean(b: GraphBuilder, enc: Mapping[str, Any], raw: str) -> list[str]:
    if enc["mode"] == "linear":
        x = b.column(raw)
        values = b.op(
            "Div",
            b.op("Sub", x, b.const(np.array(enc["low"]))),
            b.const(np.array(enc["divisor"])),
        )
        missing = _not_finite(b, x)
    else:
        lookup = {**_TRUTH, **enc["mapping"]}
        # The C locale lowers ASCII letters, which covers the true/false words;
        # fitted levels with other letters must then be given in lower case.
        lower = b.op("StringNormalizer", raw, case_change_action="LOWER", locale="C")
        mapped = b.op(
            "LabelEncoder",
            lower,
            domain=ML_DOMAIN,
            keys_strings=list(lookup),
            values_tensor=_tensor(np.array(list(lookup.values()), dtype=np.float64)),
            default_tensor=_tensor(np.array([np.nan])),
        )
        values = b.column(mapped)
        missing = b.op("IsNaN", values)
    filled = b.op("Where", missing, b.const(np.array(enc["fill"])), values)
    return [filled, *_indicator(b, enc, missing)]


def _categorical(b: GraphBuilder, enc: Mapping[str, Any], raw: str) -> list[str]:
    # Blank text is the level <missing>: its code (or share) replaces the
    # looked-up one, which costs less than rewriting the strings.
    blank = _blank(b, raw)
    if enc["encoding"] == "onehot":
        levels = list(enc["levels"])
        codes = b.op(
            "LabelEncoder",
            raw,
            domain=ML_DOMAIN,
            keys_strings=levels,
            values_int64s=list(range(len(levels))),
            default_int64=-1,
        )
        missing = levels.index(MISSING_LEVEL) if MISSING_LEVEL in levels else -1
        codes = b.op("Where", blank, b.const(np.array(missing)), codes)
        # An unseen level (code -1) matches no column: all-zero features.
        hits = b.op("Equal", b.column(codes), b.const(np.arange(len(levels))[None, :]))
        return [b.op("Cast", hits, to=11)]
    freq = enc["freq"]
    shares = b.op(
        "LabelEncoder",
        raw,
        domain=ML_DOMAIN,
        keys_strings=list(freq),
        values_tensor=_tensor(np.array(list(freq.values()), dtype=np.float64)),
        default_tensor=_tensor(np.array([0.0])),
    )
    shares = b.op("Where", blank, b.const(np.array(freq.get(MISSING_LEVEL, 0.0))), shares)
    centred = b.op("Sub", b.column(shares), b.const(np.array(enc["center"])))
    return [b.op("Div", centred, b.const(np.array(enc["divisor"])))]


def _utc_offset_ms(enc: Mapping[str, Any]) -> int:
    """The fixed offset of the column's time zone, or an error when it has daylight saving."""
    tz = enc["tz"]
    if tz is None:
        return 0
    offsets = {
        pd.Timestamp(f"{year}-{month:02d}-01", tz=tz).utcoffset()
        for year in (1990, 2010, 2030)
        for month in (1, 4, 7, 10)
    }
    if len(offsets) != 1:
        raise AnomalyzerError(
            f"Column {enc['column']!r} holds dates in time zone {tz}, whose hour and weekday "
            "change with daylight saving and cannot be computed in an ONNX graph; fit the "
            "model on the dates in UTC (or without a time zone) to export it."
        )
    return int(offsets.pop().total_seconds() * 1000)


def _datetime(b: GraphBuilder, enc: Mapping[str, Any], raw: str) -> list[str]:
    ms = b.column(raw)
    missing = b.op("Equal", ms, b.const(np.array(NAT)))
    # Missing rows compute with 0 ms (finite arithmetic) and are replaced below.
    ms = b.op("Where", missing, b.const(np.array(0)), ms)
    days = b.op("Div", b.op("Cast", ms, to=11), b.const(np.array(float(_MS_PER_DAY))))
    blocks = [_fill_scale(b, days, missing, enc)]
    if enc["hour"] or enc["dow"]:
        local = b.op("Add", ms, b.const(np.array(_utc_offset_ms(enc))))
        # Mod with fmod=0 takes the divisor's sign: dates before 1970 work too.
        of_day = b.op("Mod", local, b.const(np.array(_MS_PER_DAY)), fmod=0)
        second = b.op(
            "Div",
            b.op("Sub", of_day, b.op("Mod", of_day, b.const(np.array(1000)), fmod=0)),
            b.const(np.array(1000)),
        )
        day_number = b.op("Div", b.op("Sub", local, of_day), b.const(np.array(_MS_PER_DAY)))
        weekday = b.op(
            "Mod", b.op("Add", day_number, b.const(np.array(_EPOCH_WEEKDAY))), b.const(np.array(7))
        )
        # Sines and cosines are looked up, not computed: tree detectors split
        # exactly at these values, so they must be the very numbers numpy gives.
        for use, index, table, fill, period in (
            (enc["hour"], second, _hours_of_day(), enc["fill_hour"], 24.0),
            (enc["dow"], weekday, np.arange(7.0), enc["fill_dow"], 7.0),
        ):
            if use:
                angle = 2.0 * np.pi * table / period
                fill_angle = 2.0 * np.pi * np.array([fill]) / period
                for func in (np.sin, np.cos):
                    looked_up = b.op("Gather", b.const(func(angle)), index)
                    blocks.append(b.op("Where", missing, b.const(func(fill_angle)[0]), looked_up))
    return blocks + _indicator(b, enc, missing)


def _hours_of_day() -> np.ndarray:
    """The fractional hour of each second of a day, computed as the preprocessing does."""
    second = np.arange(86_400)
    return (second // 3600) + ((second % 3600) // 60) / 60.0 + (second % 60) / 3600.0


def _tensor(array: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(array)


_ENCODERS = {
    "numeric": _numeric,
    "boolean": _boolean,
    "categorical": _categorical,
    "datetime": _datetime,
}
