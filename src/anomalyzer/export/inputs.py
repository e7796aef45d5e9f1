"""A DataFrame written as the typed inputs of an exported graph.

Parsing text into numbers and dates stays outside the graph (ONNX has no date
parser): this module reads each feature column the way the preprocessing does
and hands over plain arrays, ``double``, ``int64`` milliseconds or ``str``.

>>> df = pd.DataFrame({"a": [1.0, None, 4.0], "c": ["x", None, "y"]})
>>> pre = Preprocessor().fit(df)
>>> feeds = onnx_inputs(pre, df)
>>> feeds["a"].tolist(), feeds["c"].tolist()
([1.0, nan, 4.0], ['x', '', 'y'])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.data.preprocess import Preprocessor, _dates, _localize, _numbers
from anomalyzer.data.roles import as_text, column_lookup
from anomalyzer.errors import AnomalyzerError
from anomalyzer.export.preprocess_graph import NAT, input_types

_WAS = "was numeric when the model was fitted but now"


def onnx_inputs(pre: Preprocessor, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """One array per graph input: the feature columns of ``df`` in the graph's types."""
    lookup = column_lookup(df)
    absent = [e["column"] for e in pre._encoders if e["column"] not in lookup]
    if absent:
        raise AnomalyzerError(
            f"Column {absent[0]!r} used when the model was fitted is missing from the data; add it."
        )
    feeds: dict[str, np.ndarray] = {}
    types = input_types(pre)
    for enc in pre._encoders:
        name = enc["column"]
        feeds[name] = _convert(enc, types[name], df[lookup[name]])
    return feeds


def _convert(enc: dict[str, Any], dtype: str, s: pd.Series) -> np.ndarray:
    name = enc["column"]
    if dtype == "double":
        from_text = enc.get("from_text", False)
        return _numbers(name, s, from_text=from_text, was=_WAS).astype(np.float64)
    if dtype == "int64":
        ts = _localize(_dates(name, s, enc["format"], fitting=False), enc["tz"])
        if ts.dt.tz is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        ms = ts.to_numpy(dtype="datetime64[ms]").astype(np.int64)
        ms[np.isnat(ts.to_numpy(dtype="datetime64[ms]"))] = NAT
        return ms
    text = as_text(s)
    return text.fillna("").to_numpy(dtype=object)
