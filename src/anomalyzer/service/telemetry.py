"""Prometheus metrics: requests and latency per route and model, rows scored, flags, model loads.

With several workers, ``anomalyzer serve`` points ``PROMETHEUS_MULTIPROC_DIR``
at a shared folder so that ``/metrics`` adds up every worker.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from anomalyzer.service.limits import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "anomalyzer_requests_total", "HTTP requests answered.", ["route", "model", "status"]
)
LATENCY = Histogram(
    "anomalyzer_request_seconds",
    "Time to answer a request.",
    ["route", "model"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ROWS = Counter("anomalyzer_rows_scored_total", "Rows (or points) scored.", ["model"])
FLAGS = Counter("anomalyzer_rows_flagged_total", "Rows (or points) flagged anomalous.", ["model"])
LOAD_SECONDS = Histogram(
    "anomalyzer_model_load_seconds",
    "Time to load a model version and prepare its scorer.",
    ["model"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def count_rows(model: str, n_rows: int, n_flagged: int) -> None:
    """Add a request's rows and flags to the counters of ``model``."""
    ROWS.labels(model).inc(n_rows)
    FLAGS.labels(model).inc(n_flagged)


def exposition() -> tuple[bytes, str]:
    """The metrics text (of every worker when several share a multiprocess folder)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class Measure:
    """Count and time every request by its route template and the model it used."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            model = str(scope.get("state", {}).get("model", ""))
            LATENCY.labels(path, model).observe(time.perf_counter() - start)
            REQUESTS.labels(path, model, str(status)).inc()
