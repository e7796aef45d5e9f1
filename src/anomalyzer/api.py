"""``detect``: one call from data to scored, flagged, explained rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anomalyzer.data import read_table
from anomalyzer.detectors.base import BaseDetector
from anomalyzer.model import DEFAULT_DETECTOR, Model
from anomalyzer.result import DetectionResult, scored_frame

# Reasons are written for flagged rows, and at least for this many top rows, so
# that a table with no flags still says why its top rows score highest.
MIN_EXPLAINED = 10


def detect(
    data: Any,
    detector: str | BaseDetector = DEFAULT_DETECTOR,
    *,
    contamination: float | str = "auto",
    label: str | Sequence[Any] | None = None,
    exclude: Sequence[str] = (),
    roles: Mapping[str, str] | None = None,
    random_state: int | None = 0,
    max_explained: int | None = None,
    **params: Any,
) -> DetectionResult:
    """Fit a model on ``data`` and score, flag and explain the same rows.

    ``data`` is a path (CSV, TSV, Parquet, JSON lines, Excel), a SQLAlchemy URL
    (with ``table=`` or ``query=``) or a DataFrame, which is never modified.
    ``max_explained`` caps how many of the top rows get a reason (all flagged
    rows by default).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"amount": [10.0, 12, 11, 9, 10, 13, 11, 10, 950, 12] * 5})
    >>> result = detect(df, "mad")
    >>> result.anomalies["amount"].unique().tolist()
    [950.0]
    >>> result.anomalies["anomaly_reason"].iloc[0]
    'amount = 950 is 86x its typical value (11)'
    """
    read = {k: params.pop(k) for k in ("table", "query", "sheet") if k in params}
    df = read_table(data, **read)
    model = Model(
        detector,
        contamination=contamination,
        exclude=exclude,
        roles=roles,
        random_state=random_state,
        **params,
    ).fit(df, label=label)
    scores = model.training_scores_
    flags = scores > model.threshold_
    n_explain = max(int(flags.sum()), min(MIN_EXPLAINED, len(df)))
    if max_explained is not None:
        n_explain = min(n_explain, max_explained)
    top = np.argsort(-scores, kind="stable")[:n_explain]
    reasons: dict[int, str] = {}
    if len(top):
        X = model.preprocessor_.transform(df.iloc[top])
        texts = model._reasons(df.iloc[top], X)
        reasons = dict(zip(top.tolist(), texts, strict=True))
    return DetectionResult(frame=scored_frame(df, scores, flags, reasons), model=model)
