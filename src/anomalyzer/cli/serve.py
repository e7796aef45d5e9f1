"""``anomalyzer serve``: the HTTP scoring service over the model registry."""

from __future__ import annotations

from typing import Annotated

import typer

from anomalyzer.cli.app import app, err
from anomalyzer.cli.models import RegistryOpt
from anomalyzer.errors import AnomalyzerError


@app.command()
def serve(
    registry: RegistryOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    max_rows: Annotated[
        int, typer.Option(help="Most rows per request (413 beyond).", min=1)
    ] = 100_000,
    max_body_mb: Annotated[
        float, typer.Option(help="Largest request body, MB (413 beyond).")
    ] = 32.0,
    timeout: Annotated[float, typer.Option(help="Seconds per request before a 504.")] = 30.0,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(help="An origin allowed by CORS (repeatable; default: none)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the registry's models over HTTP (docs at /docs; keys from `anomalyzer keys create`)."""
    try:
        from anomalyzer.service.server import serve as run
        from anomalyzer.service.settings import Settings
    except ImportError as exc:  # pragma: no cover - only without the service extra
        raise AnomalyzerError(
            f"anomalyzer serve needs the service extra ({exc.name} is missing); "
            "pip install 'anomalyzer[service]'."
        ) from None
    if max_body_mb <= 0:
        raise AnomalyzerError(f"--max-body-mb must be positive, not {max_body_mb}.")
    settings = Settings(
        registry=registry,
        max_rows=max_rows,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        timeout=timeout,
        cors_origins=tuple(cors_origin or ()),
    )
    err.print(
        f"Serving on http://{host}:{port} ({workers} worker{'s' if workers > 1 else ''}); "
        "API docs at /docs. Ctrl+C stops.",
        highlight=False,
    )
    run(settings, host=host, port=port, workers=workers, log_level=log_level)
