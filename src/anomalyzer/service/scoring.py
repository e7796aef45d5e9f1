"""The routes people call: score rows, explain them, stream series points, send feedback.

Every verdict comes from the model's own scoring path: ``Model.score_frame``
(small batches through :mod:`anomalyzer.service.fastpath`, which gives the
same answers), ``Model.explain``, ``SeriesModel.score_frame`` and ``SeriesModel.update``.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from anomalyzer.errors import AnomalyzerError
from anomalyzer.registry import ApiKey, load_bytes
from anomalyzer.service import telemetry
from anomalyzer.service.cache import Loaded
from anomalyzer.service.schemas import (
    ErrorBody,
    ExplainResponse,
    FeedbackRequest,
    FeedbackResponse,
    ScoreRequest,
    ScoreResponse,
    UpdateRequest,
    UpdateResponse,
)
from anomalyzer.service.security import score_key

router = APIRouter(tags=["scoring"])

NAME = Path(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    max_length=100,
    description="Model name.",
    examples=["fraud"],
)
VERSION = Query(
    default=None,
    max_length=40,
    description="A version number or an alias; default: the 'production' alias, else the newest.",
)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody}
    for code in (400, 401, 403, 404, 413, 422, 504)  # every error is one sentence
}
# Tries of a streamed update when another worker moved the same stream meanwhile.
_STREAM_TRIES = 5


class TooLarge(AnomalyzerError):
    """More rows than the service accepts in one request (413)."""


def model_for(request: Request, name: str, version: str | None) -> Loaded:
    """The loaded model a request names (404 when the registry has no such model)."""
    loaded = request.app.state.cache.get(name, version)
    request.state.model = loaded.name
    return loaded


def check_rows(request: Request, n: int) -> None:
    """413 beyond the service's rows-per-request limit."""
    limit = request.app.state.settings.max_rows
    if n > limit:
        raise TooLarge(f"The request has {n:,} rows; send at most {limit:,} per request.")


def number(value: Any) -> float | None:
    """A float for JSON: None for missing or infinite values."""
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def table_only(loaded: Loaded, what: str) -> None:
    if loaded.kind != "table":
        raise AnomalyzerError(
            f"Model '{loaded.name}' is a series model; {what} applies to table models "
            f"(stream its points with POST /models/{loaded.name}/update)."
        )


def score_rows(loaded: Loaded, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Scores, flags, ranks and reasons of ``rows`` as plain lists."""
    if loaded.scorer is not None:
        out = loaded.scorer.score(rows)
        scores, flags, ranks, reasons = out.scores, out.flags, out.ranks, out.reasons
    else:
        frame = loaded.model.score_frame(pd.DataFrame.from_records(list(rows)))
        scores = frame["anomaly_score"].to_numpy(dtype=np.float64)
        flags = frame["is_anomaly"].to_numpy(dtype=bool)
        ranks = frame["anomaly_rank"].to_numpy(dtype=np.int64)
        reasons = frame["anomaly_reason"].astype(str).tolist()
    telemetry.count_rows(loaded.name, len(scores), int(np.count_nonzero(flags)))
    return {
        "scores": [number(s) for s in scores.tolist()],
        "flags": flags.tolist(),
        "ranks": ranks.tolist(),
        "reasons": reasons,
    }


@router.post(
    "/models/{name}/score",
    response_model=ScoreResponse,
    responses=ERRORS,
    summary="Score rows",
)
async def score(
    request: Request,
    body: ScoreRequest,
    name: str = NAME,
    version: str | None = VERSION,
    _key: ApiKey = score_key,
) -> JSONResponse:
    """Score, flag, rank (1 = most anomalous) and explain each row, in request order."""
    check_rows(request, len(body.rows))
    loaded = request.app.state.cache.cached(name, version)
    scorer = loaded.scorer if loaded is not None else None
    if (
        loaded is not None
        and scorer is not None
        and scorer.cheap
        and len(body.rows) <= scorer.small
    ):
        # A loaded, cheap model and a small batch: well under a millisecond of work, done
        # on the event loop rather than paying for a hand-over to a worker thread.
        request.state.model = loaded.name
        return _score_response(loaded, body.rows)
    return await run_in_threadpool(_score_sync, request, body.rows, name, version)


def _score_sync(
    request: Request, rows: list[dict[str, Any]], name: str, version: str | None
) -> JSONResponse:
    return _score_response(model_for(request, name, version), rows)


def _score_response(loaded: Loaded, rows: Sequence[Mapping[str, Any]]) -> JSONResponse:
    out = score_rows(loaded, rows)
    results = [
        {"score": s, "is_anomaly": f, "rank": r, "reason": t}
        for s, f, r, t in zip(
            out["scores"], out["flags"], out["ranks"], out["reasons"], strict=True
        )
    ]
    threshold = loaded.model.threshold_ if loaded.kind == "table" else math.nan
    return JSONResponse(
        {
            "model": loaded.name,
            "version": loaded.version,
            "threshold": number(threshold),
            "results": results,
        }
    )


@router.post(
    "/models/{name}/explain",
    response_model=ExplainResponse,
    responses=ERRORS,
    summary="Explain rows",
)
def explain(
    request: Request,
    body: ScoreRequest,
    name: str = NAME,
    version: str | None = VERSION,
    _key: ApiKey = score_key,
) -> JSONResponse:
    """Contribution of each original column to each row's score (larger = more responsible)."""
    check_rows(request, len(body.rows))
    loaded = model_for(request, name, version)
    table_only(loaded, "explain")
    if not body.rows:
        raise AnomalyzerError("Send at least one row to explain.")
    frame = loaded.model.explain(pd.DataFrame.from_records(body.rows))
    columns = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype=np.float64).tolist()
    return JSONResponse(
        {
            "model": loaded.name,
            "version": loaded.version,
            "columns": columns,
            "contributions": [
                {c: number(v) or 0.0 for c, v in zip(columns, row, strict=True)} for row in values
            ],
        }
    )


@router.post(
    "/models/{name}/update",
    response_model=UpdateResponse,
    responses=ERRORS,
    summary="Stream points of a series model",
)
def update(
    request: Request,
    body: UpdateRequest,
    name: str = NAME,
    version: str | None = VERSION,
    _key: ApiKey = score_key,
) -> JSONResponse:
    """Score points as they arrive, each the next point of its series (causal models only).

    Where each series stands is stored in the registry after every request,
    so a restart, or another worker, continues the stream where it was.
    """
    check_rows(request, len(body.rows))
    loaded = model_for(request, name, version)
    if loaded.kind != "series":
        raise AnomalyzerError(
            f"Model '{name}' is a table model; score its rows with POST /models/{name}/score."
        )
    if not body.rows:
        raise AnomalyzerError("Send at least one point to update the stream with.")
    frame = stream(request.app.state.registry, loaded, pd.DataFrame.from_records(body.rows))
    flags = frame["is_anomaly"].to_numpy(dtype=bool)
    telemetry.count_rows(loaded.name, len(frame), int(np.count_nonzero(flags)))
    band = "expected" in frame.columns
    results = []
    for i in range(len(frame)):
        row = frame.iloc[i]
        results.append(
            {
                "score": number(row["anomaly_score"]),
                "is_anomaly": bool(row["is_anomaly"]),
                "expected": number(row["expected"]) if band else None,
                "lower": number(row["lower"]) if band else None,
                "upper": number(row["upper"]) if band else None,
                "reason": str(row["anomaly_reason"]),
            }
        )
    return JSONResponse(
        {
            "model": loaded.name,
            "version": loaded.version,
            "results": results,
            "notes": [str(n) for n in frame.attrs.get("notes", [])],
        }
    )


def stream(registry: Any, loaded: Loaded, rows: pd.DataFrame) -> pd.DataFrame:
    """``SeriesModel.update`` on the stored state of the stream; the new state stored after.

    The state is stored with a revision number: when another worker stored a
    newer one meanwhile, this one is reloaded and the update done again.
    """
    with loaded.lock:
        for _ in range(_STREAM_TRIES):
            stored = registry.stream_state(loaded.name, loaded.version)
            revision = 0 if stored is None else stored[0]
            if revision != loaded.revision:
                if stored is None:  # the stream was reset: start again from the pushed model
                    data = registry.fetch(loaded.name, loaded.version)[1]
                else:
                    data = stored[1]
                loaded.model = load_bytes(data, f"{loaded.name} version {loaded.version}")
                loaded.revision = revision
            try:
                out = loaded.model.update(rows)
                saved = registry.save_stream_state(
                    loaded.name, loaded.version, model_bytes(loaded.model), revision
                )
            except BaseException:
                loaded.revision = -1  # moved in memory but not stored: reload next time
                raise
            if saved is not None:
                loaded.revision = saved
                return out
            loaded.revision = -1
        raise AnomalyzerError(
            f"The stream of model '{loaded.name}' is being updated by many clients at once; "
            "send the points again."
        )


def model_bytes(model: Any) -> bytes:
    """The model file of ``model`` as bytes."""
    fd, tmp = tempfile.mkstemp(prefix="anomalyzer-state-", suffix=".azm")
    os.close(fd)
    try:
        model.save(tmp)
        with open(tmp, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(tmp)


@router.post(
    "/models/{name}/feedback",
    response_model=FeedbackResponse,
    responses=ERRORS,
    summary="Store analyst labels",
)
def feedback(
    request: Request,
    body: FeedbackRequest,
    name: str = NAME,
    version: str | None = VERSION,
    key: ApiKey = score_key,
) -> JSONResponse:
    """Store labels (1 = anomaly, 0 = normal) for scored rows; all of them or none."""
    check_rows(request, len(body.items))
    registry = request.app.state.registry
    record = registry.resolve(name, version)
    request.state.model = record.name
    ids = registry.add_feedback(
        name,
        [item.model_dump() for item in body.items],
        version=record.version,
        actor=f"key:{key.id}",
    )
    return JSONResponse({"model": record.name, "version": record.version, "ids": ids})
