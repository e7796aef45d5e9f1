"""Open Inference Protocol (KServe v2) routes: health, model metadata and ``infer``.

A table is sent as one 1-D input tensor per column (``name`` = the column,
as MLServer's pandas codec does); the answer holds four output tensors,
``anomaly_score`` (FP64), ``is_anomaly`` (BOOL), ``anomaly_rank`` (INT64) and
``anomaly_reason`` (BYTES), one value per row.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from anomalyzer.errors import AnomalyzerError
from anomalyzer.registry import ApiKey
from anomalyzer.service.schemas import (
    InferRequest,
    InferResponse,
    ModelMetadata,
    ModelReady,
    ServerLive,
    ServerReady,
)
from anomalyzer.service.scoring import ERRORS, NAME, check_rows, model_for, score_rows
from anomalyzer.service.security import score_key
from anomalyzer.version import __version__

router = APIRouter(tags=["open inference protocol"])

VERSION_PATH = Path(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="A version number or an alias.")
_DATATYPES = {
    "numeric": "FP64",
    "boolean": "BOOL",
    "value": "FP64",
}
_OUTPUTS = [
    {"name": "anomaly_score", "datatype": "FP64", "shape": [-1]},
    {"name": "is_anomaly", "datatype": "BOOL", "shape": [-1]},
    {"name": "anomaly_rank", "datatype": "INT64", "shape": [-1]},
    {"name": "anomaly_reason", "datatype": "BYTES", "shape": [-1]},
]


@router.get("/v2/health/live", response_model=ServerLive, summary="Liveness")
def live() -> dict[str, bool]:
    """The process answers (no key needed)."""
    return {"live": True}


@router.get(
    "/v2/health/ready",
    response_model=ServerReady,
    responses={503: {"model": ServerReady}},
    summary="Readiness",
)
def ready(request: Request) -> JSONResponse:
    """The registry database answers (no key needed); 503 otherwise."""
    ok = request.app.state.registry.ping()
    return JSONResponse({"ready": ok}, status_code=200 if ok else 503)


@router.get("/v2", summary="Server metadata")
def server_metadata(_key: ApiKey = score_key) -> dict[str, Any]:
    """Name, version and protocol extensions of the server."""
    return {"name": "anomalyzer", "version": __version__, "extensions": []}


def _metadata(request: Request, name: str, version: str | None) -> dict[str, Any]:
    registry = request.app.state.registry
    record = registry.resolve(name, version)
    request.state.model = record.name
    info = registry.show(name)
    inputs = [
        {"name": c["name"], "datatype": _DATATYPES.get(c["role"], "BYTES"), "shape": [-1]}
        for c in record.columns
    ]
    return {
        "name": record.name,
        "versions": [str(v.version) for v in info.versions],
        "platform": "anomalyzer",
        "inputs": inputs,
        "outputs": _OUTPUTS,
        "parameters": {
            "version": record.version,
            "kind": record.kind,
            "detector": record.detector,
            "n_rows": record.n_rows,
            "metrics": record.metrics,
            "aliases": info.aliases,
            "pushed_by": record.pushed_by,
            "pushed_at": record.pushed_at.isoformat(),
            "sha256": record.sha256,
        },
    }


@router.get(
    "/v2/models/{name}", response_model=ModelMetadata, responses=ERRORS, summary="Model metadata"
)
def model_metadata(request: Request, name: str = NAME, _key: ApiKey = score_key) -> dict[str, Any]:
    """The model's inputs (its columns), outputs and registry facts (default version)."""
    return _metadata(request, name, None)


@router.get(
    "/v2/models/{name}/versions/{version}",
    response_model=ModelMetadata,
    responses=ERRORS,
    summary="Model version metadata",
)
def version_metadata(
    request: Request, name: str = NAME, version: str = VERSION_PATH, _key: ApiKey = score_key
) -> dict[str, Any]:
    """The metadata of one version (a number or an alias)."""
    return _metadata(request, name, version)


@router.get(
    "/v2/models/{name}/ready", response_model=ModelReady, responses=ERRORS, summary="Model ready"
)
def model_ready(request: Request, name: str = NAME, _key: ApiKey = score_key) -> dict[str, Any]:
    """Whether the model loads and can score (loads it into this worker)."""
    loaded = model_for(request, name, None)
    return {"name": loaded.name, "ready": True}


def _infer(request: Request, body: InferRequest, name: str, version: str | None) -> JSONResponse:
    lengths = set()
    columns: dict[str, list[Any]] = {}
    for tensor in body.inputs:
        n = math.prod(tensor.shape) if tensor.shape else 0
        if len(tensor.shape) != 1 or n != len(tensor.data):
            raise AnomalyzerError(
                f"Input '{tensor.name}' has shape {tensor.shape} and {len(tensor.data)} values; "
                "send each column as a 1-D tensor with shape [n_rows]."
            )
        if tensor.name in columns:
            raise AnomalyzerError(f"Input '{tensor.name}' is sent twice; send each column once.")
        columns[tensor.name] = tensor.data
        lengths.add(n)
    if len(lengths) > 1:
        raise AnomalyzerError(
            "The inputs have different lengths; send every column with one value per row."
        )
    n_rows = lengths.pop()
    check_rows(request, n_rows)
    loaded = model_for(request, name, version)
    if n_rows == 0:
        raise AnomalyzerError("The inputs hold no rows; send at least one value per column.")
    rows = [{c: values[i] for c, values in columns.items()} for i in range(n_rows)]
    out = score_rows(loaded, rows)
    wanted = {o.name for o in body.outputs} if body.outputs else None
    tensors = []
    for spec, key in zip(_OUTPUTS, ("scores", "flags", "ranks", "reasons"), strict=True):
        if wanted is None or spec["name"] in wanted:
            tensors.append({**spec, "shape": [n_rows], "data": out[key]})
    return JSONResponse(
        {
            "model_name": loaded.name,
            "model_version": str(loaded.version),
            "id": body.id,
            "outputs": tensors,
        }
    )


@router.post(
    "/v2/models/{name}/infer", response_model=InferResponse, responses=ERRORS, summary="Infer"
)
def infer(
    request: Request, body: InferRequest, name: str = NAME, _key: ApiKey = score_key
) -> JSONResponse:
    """Score a table sent as one input tensor per column (default version)."""
    return _infer(request, body, name, None)


@router.post(
    "/v2/models/{name}/versions/{version}/infer",
    response_model=InferResponse,
    responses=ERRORS,
    summary="Infer with a version",
)
def infer_version(
    request: Request,
    body: InferRequest,
    name: str = NAME,
    version: str = VERSION_PATH,
    _key: ApiKey = score_key,
) -> JSONResponse:
    """Score a table with one version (a number or an alias)."""
    return _infer(request, body, name, version)
