"""Request and response bodies of the service, as typed models: the OpenAPI schema comes from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: A cell of a row: what JSON holds.
Scalar = str | int | float | bool | None


class ErrorBody(BaseModel):
    """Every error: one sentence saying what to fix."""

    error: str = Field(
        examples=["Model 'fraud' has no version 7; see `anomalyzer models show fraud`."]
    )


# -- plain JSON scoring ---------------------------------------------------------


class ScoreRequest(BaseModel):
    """Rows to score: one object per row, column name to value."""

    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Scalar]] = Field(
        examples=[[{"amount": 1240.0, "country": "US"}]], description="The rows, as objects."
    )


class RowScore(BaseModel):
    """The verdict on one row."""

    score: float = Field(description="Anomaly score: higher is more anomalous.")
    is_anomaly: bool = Field(description="Above the model's threshold.")
    rank: int = Field(description="1 = the most anomalous row of the request.")
    reason: str = Field(description="The columns that make the row anomalous, in words.")


class ScoreResponse(BaseModel):
    """Scores of the rows, in request order."""

    model: str
    version: int
    threshold: float
    results: list[RowScore]


class ExplainResponse(BaseModel):
    """Per-column contribution to each row's score (larger = more responsible)."""

    model: str
    version: int
    columns: list[str]
    contributions: list[dict[str, float]]


# -- streams --------------------------------------------------------------------


class UpdateRequest(BaseModel):
    """New points of one or more series, in arrival order: the time column, the group column
    (when the model has one) and the value columns."""

    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Scalar]] = Field(
        examples=[[{"timestamp": "2026-03-10T08:00:00", "cpu": 95.0}]]
    )


class PointScore(BaseModel):
    """The verdict on one streamed point."""

    score: float | None = Field(description="Anomaly score; null when the point was not scored.")
    is_anomaly: bool
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    reason: str


class UpdateResponse(BaseModel):
    """Scores of the streamed points, in request order; ``notes`` say what was repaired."""

    model: str
    version: int
    results: list[PointScore]
    notes: list[str]


# -- feedback -------------------------------------------------------------------


class FeedbackItem(BaseModel):
    """An analyst's label for one scored row."""

    model_config = ConfigDict(extra="forbid")
    row: dict[str, Scalar] = Field(default_factory=dict, description="The row's values.")
    label: int | bool | str = Field(description="1/true/'anomaly' or 0/false/'normal'.")
    row_id: str | None = Field(default=None, max_length=200)
    score: float | None = None
    note: str | None = Field(default=None, max_length=2000)


class FeedbackRequest(BaseModel):
    """Labels to store for a model (the version scored, or the one the request resolves to)."""

    model_config = ConfigDict(extra="forbid")
    items: list[FeedbackItem] = Field(min_length=1)


class FeedbackResponse(BaseModel):
    """Ids of the stored labels."""

    model: str
    version: int
    ids: list[int]


# -- Open Inference Protocol (KServe v2) ----------------------------------------

Datatype = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]


class InferInput(BaseModel):
    """One input tensor: here, one column of the table (``name`` = column name)."""

    name: str
    shape: list[int]
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[Scalar] = Field(description="The column's values, row-major.")


class InferRequestedOutput(BaseModel):
    """An output asked for by name."""

    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    """An Open Inference Protocol request: columns as named 1-D tensors of equal length."""

    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[InferRequestedOutput] | None = None


class InferOutput(BaseModel):
    """An output tensor: ``anomaly_score``, ``is_anomaly``, ``anomaly_rank`` or ``anomaly_reason``."""

    name: str
    shape: list[int]
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[Any]


class InferResponse(BaseModel):
    """An Open Inference Protocol response."""

    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[InferOutput]


class TensorMetadata(BaseModel):
    """Name, datatype and shape of an input or output."""

    name: str
    datatype: Datatype
    shape: list[int]


class ModelMetadata(BaseModel):
    """Open Inference Protocol model metadata, with the registry's facts in ``parameters``."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any] = Field(default_factory=dict)


class ServerLive(BaseModel):
    live: bool


class ServerReady(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


# -- Azure Anomaly Detector compatible ------------------------------------------

Granularity = Literal[
    "yearly",
    "monthly",
    "weekly",
    "daily",
    "hourly",
    "minutely",
    "secondly",
    "microsecond",
    "none",
]


class AzurePoint(BaseModel):
    """A point of the series."""

    timestamp: str | None = None
    value: float


class AzureRequest(BaseModel):
    """The request of Azure Anomaly Detector's univariate ``detect`` routes.

    ``sensitivity`` and ``maxAnomalyRatio`` are accepted for compatibility;
    flags come from the detector's own threshold (``contamination="auto"``),
    as ``anomalyzer detect --time`` gives them.
    """

    series: list[AzurePoint] = Field(min_length=12)
    granularity: Granularity | None = None
    customInterval: int | None = Field(default=None, ge=1)
    period: int | None = Field(default=None, ge=0)
    maxAnomalyRatio: float | None = Field(default=None, gt=0, le=0.5)
    sensitivity: int | None = Field(default=None, ge=0, le=99)
    imputeMode: str | None = None
    imputeFixedValue: float | None = None


class AzureChangePointRequest(BaseModel):
    """The request of Azure Anomaly Detector's ``changepoint/detect``."""

    series: list[AzurePoint] = Field(min_length=12)
    granularity: Granularity | None = None
    customInterval: int | None = Field(default=None, ge=1)
    period: int | None = Field(default=None, ge=0)
    stableTrendWindow: int | None = Field(default=None, ge=3)
    threshold: float | None = Field(default=None, gt=0, lt=1)


class AzureEntireResponse(BaseModel):
    """Per point: expected value, margins and flags, as Azure's ``entire/detect`` returns them."""

    period: int
    expectedValues: list[float]
    upperMargins: list[float]
    lowerMargins: list[float]
    isAnomaly: list[bool]
    isNegativeAnomaly: list[bool]
    isPositiveAnomaly: list[bool]
    severity: list[float]


class AzureLastResponse(BaseModel):
    """The verdict on the last point, as Azure's ``last/detect`` returns it."""

    period: int
    suggestedWindow: int
    expectedValue: float
    upperMargin: float
    lowerMargin: float
    isAnomaly: bool
    isNegativeAnomaly: bool
    isPositiveAnomaly: bool
    severity: float


class AzureChangePointResponse(BaseModel):
    """Per point: change point or not, and a confidence in [0, 1]."""

    period: int
    isChangePoint: list[bool]
    confidenceScores: list[float]


# -- admin ----------------------------------------------------------------------


class PromoteRequest(BaseModel):
    """Point an alias at a version."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2**31 - 1)
    alias: str = Field(default="production", min_length=1, max_length=40)


class VersionInfo(BaseModel):
    """A version as the registry describes it."""

    name: str
    version: int
    sha256: str
    size: int
    kind: str
    detector: str
    n_rows: int
    columns: list[dict[str, str]]
    metrics: dict[str, float]
    description: str
    pushed_by: str
    pushed_at: str
    aliases: list[str]
