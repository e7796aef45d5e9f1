"""Routes with the request and response shapes of Azure Anomaly Detector (univariate, v1.1).

Azure's hosted service was retired; its clients can point their endpoint at
this service and keep their code: the paths, the JSON field names and the
``Ocp-Apim-Subscription-Key`` header are the same. Each request fits the
series it carries, exactly as ``anomalyzer detect --time timestamp`` does
(the ``auto`` series detector unless ``?detector=`` names another):

- ``entire/detect``: every point scored from the whole series;
- ``last/detect``: the last point, scored causally (from the points before it);
- ``changepoint/detect``: points where the level shifts (``level_shift``;
  ``stableTrendWindow`` is its window).

Fields: ``expectedValues`` is the middle of the detector's expected band
(the value itself where a detector has no band), the margins its distances
to the band's edges, ``isPositiveAnomaly``/``isNegativeAnomaly`` split flags
by the side of the band, and ``severity`` is how far a flagged point's score
is above the threshold, relative to the threshold, capped at 1 (0 for
unflagged points). ``sensitivity``, ``maxAnomalyRatio`` and ``imputeMode`` are
accepted and not used: flags come from the detector's own threshold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request

from anomalyzer.errors import AnomalyzerError
from anomalyzer.registry import ApiKey
from anomalyzer.service import telemetry
from anomalyzer.service.schemas import (
    AzureChangePointRequest,
    AzureChangePointResponse,
    AzureEntireResponse,
    AzureLastResponse,
    AzureRequest,
)
from anomalyzer.service.scoring import ERRORS, check_rows
from anomalyzer.service.security import score_key

router = APIRouter(prefix="/anomalydetector/v1.1/timeseries", tags=["azure anomaly detector"])

_STEPS = {
    "weekly": "7D",
    "daily": "1D",
    "hourly": "1h",
    "minutely": "1min",
    "secondly": "1s",
    "microsecond": "1us",
}
DETECTOR = Query(
    default="auto", max_length=40, description="A series detector of `anomalyzer detectors`."
)


def _frame(request: Request, body: AzureRequest | AzureChangePointRequest) -> pd.DataFrame:
    check_rows(request, len(body.series))
    stamps = [p.timestamp for p in body.series]
    if any(s is None for s in stamps):
        raise AnomalyzerError("Every point needs a timestamp, e.g. '2026-03-02T08:00:00Z'.")
    times = pd.to_datetime(
        pd.Series(stamps, dtype=object), utc=True, errors="coerce", format="ISO8601"
    )
    bad = times.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnomalyzerError(
            f"Point {i} has timestamp {stamps[i]!r}, which is not an ISO 8601 date; fix it."
        )
    if not times.is_monotonic_increasing or times.duplicated().any():
        raise AnomalyzerError("The timestamps must be in increasing order, each once; sort them.")
    values = np.array([p.value for p in body.series], dtype=np.float64)
    if not np.isfinite(values).all():
        raise AnomalyzerError("Every value must be a finite number.")
    return pd.DataFrame({"timestamp": times, "value": values})


def _freq(body: AzureRequest | AzureChangePointRequest) -> str | None:
    step = _STEPS.get(body.granularity or "")
    if step is None:
        return None  # monthly, yearly, none: the step is read off the timestamps
    if body.customInterval and body.customInterval > 1:
        return str(pd.Timedelta(step) * body.customInterval)
    return step


def _detect(
    body: AzureRequest | AzureChangePointRequest,
    df: pd.DataFrame,
    detector: str,
    **params: Any,
) -> Any:
    from anomalyzer.api import detect

    if body.period:
        params["period"] = int(body.period)
    return detect(
        df, detector, time="timestamp", value="value", freq=_freq(body), n_jobs=1, **params
    )


def _bands(result: Any, df: pd.DataFrame) -> dict[str, np.ndarray]:
    frame = result.frame
    points = result.points.set_index("timestamp").reindex(df["timestamp"])
    values = df["value"].to_numpy()
    expected = points["expected_value"].to_numpy(dtype=np.float64)
    lower = points["lower_value"].to_numpy(dtype=np.float64)
    upper = points["upper_value"].to_numpy(dtype=np.float64)
    banded = np.isfinite(expected) & np.isfinite(lower) & np.isfinite(upper)
    expected = np.where(banded, expected, values)
    scores = frame["anomaly_score"].to_numpy(dtype=np.float64)
    flags = frame["is_anomaly"].to_numpy(dtype=bool)
    threshold = float(np.nanmedian(list(result.model.threshold.values())))
    return {
        "values": values,
        "expected": expected,
        "upper": np.where(banded, upper - expected, 0.0),
        "lower": np.where(banded, expected - lower, 0.0),
        "flags": flags,
        "positive": flags & (values >= expected),
        "negative": flags & (values < expected),
        "severity": _severity(scores, flags, threshold),
    }


def _severity(scores: np.ndarray, flags: np.ndarray, threshold: float) -> np.ndarray:
    scale = abs(threshold) if math.isfinite(threshold) and threshold != 0 else 1.0
    above = np.clip((np.nan_to_num(scores, nan=threshold) - threshold) / scale, 0.0, 1.0)
    return np.where(flags, above, 0.0)


def _period(result: Any) -> int:
    for periods in result.model.periods.values():
        if periods:
            return int(periods[0])
    return 0


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) if math.isfinite(v) else 0.0 for v in values.tolist()]


@router.post(
    "/entire/detect",
    response_model=AzureEntireResponse,
    responses=ERRORS,
    summary="Detect anomalies in a whole series (Azure shape)",
)
def entire(
    request: Request,
    body: AzureRequest,
    detector: str = DETECTOR,
    _key: ApiKey = score_key,
) -> dict[str, Any]:
    """Every point of the series scored, as ``anomalyzer detect --time timestamp`` scores it."""
    df = _frame(request, body)
    result = _detect(body, df, detector)
    b = _bands(result, df)
    telemetry.count_rows("azure", len(df), int(b["flags"].sum()))
    return {
        "period": _period(result),
        "expectedValues": _floats(b["expected"]),
        "upperMargins": _floats(b["upper"]),
        "lowerMargins": _floats(b["lower"]),
        "isAnomaly": b["flags"].tolist(),
        "isNegativeAnomaly": b["negative"].tolist(),
        "isPositiveAnomaly": b["positive"].tolist(),
        "severity": _floats(b["severity"]),
    }


@router.post(
    "/last/detect",
    response_model=AzureLastResponse,
    responses=ERRORS,
    summary="Is the last point anomalous? (Azure shape)",
)
def last(
    request: Request,
    body: AzureRequest,
    detector: str = DETECTOR,
    _key: ApiKey = score_key,
) -> dict[str, Any]:
    """The last point, scored from the points before it (``detect --time --causal``)."""
    df = _frame(request, body)
    result = _detect(body, df, detector, causal=True)
    b = _bands(result, df)
    telemetry.count_rows("azure", 1, int(b["flags"][-1]))
    return {
        "period": _period(result),
        "suggestedWindow": len(df),
        "expectedValue": _floats(b["expected"][-1:])[0],
        "upperMargin": _floats(b["upper"][-1:])[0],
        "lowerMargin": _floats(b["lower"][-1:])[0],
        "isAnomaly": bool(b["flags"][-1]),
        "isNegativeAnomaly": bool(b["negative"][-1]),
        "isPositiveAnomaly": bool(b["positive"][-1]),
        "severity": _floats(b["severity"][-1:])[0],
    }


@router.post(
    "/changepoint/detect",
    response_model=AzureChangePointResponse,
    responses=ERRORS,
    summary="Detect change points (Azure shape)",
)
def changepoint(
    request: Request,
    body: AzureChangePointRequest,
    detector: str = Query(default="level_shift", max_length=40),
    _key: ApiKey = score_key,
) -> dict[str, Any]:
    """Points where the level of the series shifts, with a confidence in [0, 1]."""
    df = _frame(request, body)
    params: dict[str, Any] = {}
    if body.stableTrendWindow and detector in ("level_shift", "variance_change"):
        params["window"] = int(body.stableTrendWindow)
    result = _detect(body, df, detector, **params)
    scores = result.frame["anomaly_score"].to_numpy(dtype=np.float64)
    flags = result.frame["is_anomaly"].to_numpy(dtype=bool)
    finite = scores[np.isfinite(scores)]
    threshold = float(np.nanmedian(list(result.model.threshold.values())))
    top = max(float(finite.max()) if finite.size else 1.0, threshold, 1e-12)
    confidence = np.clip(np.nan_to_num(scores, nan=0.0) / top, 0.0, 1.0)
    return {
        "period": _period(result),
        "isChangePoint": flags.tolist(),
        "confidenceScores": _floats(confidence),
    }
