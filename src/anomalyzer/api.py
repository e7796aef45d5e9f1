"""``detect``: one call from data to scored, flagged, explained rows."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, overload

from anomalyzer.data import read_table
from anomalyzer.data.roles import read_notes
from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.model import DEFAULT_DETECTOR, Model
from anomalyzer.persist import load as _load_file
from anomalyzer.result import DetectionResult
from anomalyzer.timeseries.model import SeriesModel
from anomalyzer.timeseries.result import SeriesResult


@overload
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
    time: None = None,
    value: str | Sequence[str] | None = None,
    group: str | None = None,
    **params: Any,
) -> DetectionResult: ...


@overload
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
    time: str,
    value: str | Sequence[str] | None = None,
    group: str | None = None,
    **params: Any,
) -> SeriesResult: ...


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
    time: str | None = None,
    value: str | Sequence[str] | None = None,
    group: str | None = None,
    **params: Any,
) -> DetectionResult | SeriesResult:
    """Fit a model on ``data`` and score, flag and explain the same rows.

    ``data`` is a path (CSV, TSV, Parquet, JSON lines, Excel), a SQLAlchemy URL
    (with ``table=`` or ``query=``) or a DataFrame, which is never modified.
    ``max_explained`` caps how many of the top rows get a reason (all flagged
    rows by default).

    With ``time`` (the time column) the data are time series: ``detector`` is
    a name from ``anomalyzer.timeseries.available()``, ``value`` names the
    value column(s) (every numeric one by default), ``group`` the column
    whose values name the series, and ``params`` may hold ``causal``,
    ``fill``, ``freq`` and ``n_jobs`` of
    :class:`~anomalyzer.timeseries.model.SeriesModel` besides the detector's
    own parameters. The result is then a
    :class:`~anomalyzer.timeseries.result.SeriesResult`.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"amount": [10.0, 12, 11, 9, 10, 13, 11, 10, 950, 12] * 5})
    >>> result = detect(df, "mad")
    >>> result.anomalies["amount"].unique().tolist()
    [950.0]
    >>> result.anomalies["anomaly_reason"].iloc[0]
    'amount = 950 is 86x its typical value (11)'
    """
    read = {k: params.pop(k) for k in ("table", "query", "sheet") if k in params}
    if time is not None:
        return _detect_series(
            read_table(data, **read), detector, time, value, group, contamination, label,
            exclude=exclude, roles=roles, **params,
        )  # fmt: skip
    if value is not None or group is not None:
        raise AnomalyzerError(
            "value= and group= name the columns of time series; give the time column with time=."
        )
    df = read_table(data, **read)
    model = Model(
        detector,
        contamination=contamination,
        exclude=exclude,
        roles=roles,
        random_state=random_state,
        **params,
    ).fit(df, label=label)
    frame = model.frame_from_scores(df, model.training_scores_, max_explained=max_explained)
    # Cells read as missing because they were not numbers are said, not hidden.
    frame.attrs["notes"] = read_notes(model.schema)
    return DetectionResult(frame=frame, model=model)


def _detect_series(
    df: Any,
    detector: Any,
    time: str,
    value: str | Sequence[str] | None,
    group: str | None,
    contamination: float | str,
    label: Any,
    *,
    exclude: Sequence[str],
    roles: Mapping[str, str] | None,
    **params: Any,
) -> SeriesResult:
    from anomalyzer import timeseries

    if not isinstance(detector, str):
        raise AnomalyzerError(
            f"With time= the detector is a time-series detector name, not a "
            f"{type(detector).__name__}; choose one of: {', '.join(timeseries.available())}."
        )
    if tuple(exclude) or roles:
        raise AnomalyzerError(
            "exclude= and roles= apply to tables; with time= choose the value columns with value=."
        )
    if label is not None and not isinstance(label, str):
        raise AnomalyzerError("With time= give label= as the name of a 0/1 column.")
    model = SeriesModel(detector, contamination=contamination, **params)
    model.fit(df, time, value=value, group=group, label=label)
    return SeriesResult.from_model(model, df)


def load(path: str | os.PathLike[str]) -> Model | SeriesModel:
    """Read a model file written by ``Model.save`` or ``SeriesModel.save``; nothing in it runs.

    A damaged, edited or foreign file is refused with one sentence. Use
    :func:`load_table` or :func:`load_series` where the kind is known (their
    return types are precise).
    """
    return _load_file(path)


def load_table(path: str | os.PathLike[str]) -> Model:
    """Read a table model file; a series model file is refused with one sentence."""
    model = _load_file(path)
    if not isinstance(model, Model):
        raise AnomalyzerError(
            f"Model file '{path}' holds a series model; read it with load_series or load."
        )
    return model


def load_series(path: str | os.PathLike[str]) -> SeriesModel:
    """Read a series model file; a table model file is refused with one sentence."""
    model = _load_file(path)
    if not isinstance(model, SeriesModel):
        raise AnomalyzerError(
            f"Model file '{path}' holds a table model; read it with load_table or load."
        )
    return model
