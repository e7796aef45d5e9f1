"""Registry routes: list models (score scope), promote a version and read the audit log (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from anomalyzer.registry import ApiKey
from anomalyzer.service.schemas import PromoteRequest, VersionInfo
from anomalyzer.service.scoring import ERRORS, NAME
from anomalyzer.service.security import admin_key, score_key

router = APIRouter(tags=["registry"])


@router.get("/models", responses=ERRORS, summary="List models")
def list_models(request: Request, _key: ApiKey = score_key) -> list[dict[str, Any]]:
    """Every model: newest version, number of versions, aliases."""
    return [m.to_dict() for m in request.app.state.registry.list()]


@router.post(
    "/admin/models/{name}/promote",
    response_model=VersionInfo,
    responses=ERRORS,
    summary="Point an alias at a version",
)
def promote(
    request: Request, body: PromoteRequest, name: str = NAME, key: ApiKey = admin_key
) -> dict[str, Any]:
    """Move an alias (``production`` by default); every worker serves it within a second."""
    record = request.app.state.registry.promote(
        name, body.version, alias=body.alias, actor=f"key:{key.id}"
    )
    request.state.model = record.name
    return record.to_dict()


@router.get("/admin/audit", responses=ERRORS, summary="Audit log")
def audit(
    request: Request,
    name: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=100, ge=1, le=10_000),
    _key: ApiKey = admin_key,
) -> list[dict[str, Any]]:
    """The last changes to the registry: who, what, when."""
    return [e.to_dict() for e in request.app.state.registry.audit(name, limit=limit)]
