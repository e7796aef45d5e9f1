"""The FastAPI application: routes, keys, limits, metrics and errors as one sentence of JSON.

``create_app(settings)`` builds it (tests use it in-process);
``app_from_env()`` is what each uvicorn worker of ``anomalyzer serve`` runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from anomalyzer.errors import AnomalyzerError
from anomalyzer.registry import ApiKey, ModelNotFound, Registry
from anomalyzer.service import admin, azure, oip, scoring, telemetry
from anomalyzer.service.cache import Loaded, ModelCache
from anomalyzer.service.limits import BodyLimit, Timeout
from anomalyzer.service.security import AuthError, KeyChecker, score_key
from anomalyzer.service.settings import Settings
from anomalyzer.version import __version__

log = logging.getLogger("anomalyzer.service")

DESCRIPTION = """Scores rows and series points with the models of an anomalyzer registry.

Every route but `/v2/health/*` needs an API key (`anomalyzer keys create --scope score`),
sent as `Authorization: Bearer KEY`, `X-API-Key: KEY` or `Ocp-Apim-Subscription-Key: KEY`.
Errors are JSON: `{"error": "one sentence saying what to fix"}`.
"""


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """The service over ``registry`` (or the one ``settings.registry`` names)."""
    settings = settings or Settings.from_env()
    registry = registry or Registry(settings.registry, actor="service")

    def loaded(model: Loaded) -> None:
        telemetry.LOAD_SECONDS.labels(model.name).observe(model.load_seconds)
        log.info("loaded %s version %d in %.3fs", model.name, model.version, model.load_seconds)

    cache = ModelCache(registry, settings.cache_size, settings.refresh, on_load=loaded)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        cache.start()
        try:
            yield
        finally:
            cache.stop()

    app = FastAPI(
        title="anomalyzer",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.cache = cache
    app.state.keys = KeyChecker(registry, settings.key_ttl)
    for module in (oip, scoring, azure, admin):
        app.include_router(module.router)

    @app.get("/metrics", summary="Prometheus metrics", tags=["operations"])
    def metrics(_key: ApiKey = score_key) -> Response:
        """Requests and latency per route and model, rows scored and flagged, model load times."""
        body, content_type = telemetry.exposition()
        return Response(body, media_type=content_type)

    _errors(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Timeout, seconds=settings.timeout)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(telemetry.Measure)
    return app


def app_from_env() -> FastAPI:
    """The app a uvicorn worker runs, told by ``ANOMALYZER_SERVICE_*`` variables."""
    return create_app(Settings.from_env())


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.message, headers)

    @app.exception_handler(ModelNotFound)
    async def not_found(_request: Request, exc: ModelNotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(scoring.TooLarge)
    async def too_large(_request: Request, exc: scoring.TooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(AnomalyzerError)
    async def user_error(_request: Request, exc: AnomalyzerError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, validation_sentence(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = (
                f"No route {request.method} {request.url.path}; the routes are listed at /docs."
            )
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs."
        else:
            message = str(exc.detail)
        return _error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("error while answering %s %s", request.method, request.url.path)
        return _error(500, "The server failed to answer this request; its log has the details.")


def validation_sentence(errors: list[dict[str, Any]]) -> str:
    """One sentence for pydantic's list of validation errors.

    >>> validation_sentence([{"type": "json_invalid", "loc": ("body", 5), "msg": "JSON decode error",
    ...                       "ctx": {"error": "Expecting value"}}])
    'The request body is not valid JSON (Expecting value at position 5); send a JSON object.'
    >>> validation_sentence([{"type": "missing", "loc": ("body", "rows"), "msg": "Field required"}])
    "Field 'rows' is required."
    """
    if not errors:
        return "The request is not valid."
    first = errors[0]
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx") or {}
        where = first["loc"][-1] if len(first.get("loc", ())) > 1 else "?"
        return (
            f"The request body is not valid JSON ({ctx.get('error', 'unreadable')} at position "
            f"{where}); send a JSON object."
        )
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    source = first.get("loc", ("body",))[0]
    where = ".".join(loc)
    if not where:
        return f"The request needs a JSON body: {first.get('msg', 'missing')}{more}."
    if first.get("type") == "missing":
        what = "parameter" if source in ("query", "path", "header") else "Field"
        return f"{what.capitalize()} '{where}' is required{more}."
    msg = str(first.get("msg", "is not valid")).rstrip(".")
    return f"Field '{where}': {msg[:1].lower() + msg[1:]}{more}."
