"""Label columns: whatever the user calls an anomaly becomes 1, the rest 0."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError

_POSITIVE_WORDS = ("1", "true", "yes", "y", "anomaly", "anomalous", "outlier", "fraud", "attack",
                   "bad", "abnormal", "positive", "malicious")  # fmt: skip


def to_binary(values: Any, *, name: str = "label", positive: Any = None) -> np.ndarray:
    """Return labels as an int array of 0/1, or raise a clear error.

    Accepts 0/1, booleans, and two-valued strings where the positive class is
    named with ``positive`` or recognisable ("fraud", "anomaly", "yes", ...).

    >>> to_binary(["ok", "fraud", "ok"]).tolist()
    [0, 1, 0]
    >>> to_binary([0, 1, 2], name="y")
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Label 'y' must have two values (normal and anomaly) but has 3: 0, 1, 2.
    """
    s = pd.Series(values)
    if s.isna().any():
        raise AnomalyzerError(
            f"Label '{name}' has {int(s.isna().sum())} missing value(s); fill or drop those rows."
        )
    levels = list(pd.unique(s))
    if len(levels) > 2:
        shown = ", ".join(map(str, sorted(levels, key=str)[:5]))
        raise AnomalyzerError(
            f"Label '{name}' must have two values (normal and anomaly) but has {len(levels)}: {shown}."
        )
    if positive is not None:
        matches = [lv for lv in levels if str(lv) == str(positive)]
        if not matches:
            raise AnomalyzerError(
                f"Positive class {positive!r} does not occur in label '{name}'; "
                f"its values are: {', '.join(map(str, levels))}."
            )
        return (s.astype(str) == str(positive)).to_numpy().astype(np.int64)
    if pd.api.types.is_bool_dtype(s) or set(map(str, levels)) <= {"0", "1", "0.0", "1.0"}:
        return s.astype(float).astype(np.int64).to_numpy()
    lowered = {str(lv).strip().lower(): lv for lv in levels}
    hits = [lv for key, lv in lowered.items() if key in _POSITIVE_WORDS]
    if len(hits) == 1:
        return (s == hits[0]).to_numpy().astype(np.int64)
    raise AnomalyzerError(
        f"Cannot tell which value of label '{name}' marks an anomaly "
        f"({', '.join(map(str, levels))}); name it with positive=."
    )
