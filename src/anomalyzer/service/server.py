"""``serve``: run the service with uvicorn, one or more worker processes, on loopback by default."""

from __future__ import annotations

import os
import shutil
import tempfile

from anomalyzer.errors import AnomalyzerError
from anomalyzer.registry import Registry
from anomalyzer.service.settings import Settings


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "warning",
) -> None:
    """Serve the registry ``settings.registry`` names until interrupted.

    The registry's schema is brought up to date once, here, before the
    workers start; each worker then loads models as requests name them.
    """
    import uvicorn

    if workers < 1:
        raise AnomalyzerError(f"--workers must be at least 1, not {workers}.")
    if not 0 < port < 65536:
        raise AnomalyzerError(f"--port must be between 1 and 65535, not {port}.")
    registry = Registry(settings.registry, actor="service")  # creates or upgrades the schema
    settings = Settings(**{**settings.__dict__, "registry": registry.url})
    registry.close()
    os.environ.update(settings.to_env())
    metrics_dir = None
    if workers > 1:
        # Each worker counts in its own files; /metrics adds them up.
        metrics_dir = tempfile.mkdtemp(prefix="anomalyzer-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "anomalyzer.service.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
