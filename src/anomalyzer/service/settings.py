"""What a running service is told: the registry, its limits and its manners.

Read from ``ANOMALYZER_SERVICE_*`` environment variables when not given, so
that each uvicorn worker process (which imports the app afresh) sees what
``anomalyzer serve`` was told.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

_PREFIX = "ANOMALYZER_SERVICE_"


@dataclass(frozen=True)
class Settings:
    """Service settings.

    >>> Settings(max_rows=10).max_rows
    10
    """

    #: Registry URL (None: ``ANOMALYZER_REGISTRY`` or ``~/.anomalyzer/registry.db``).
    registry: str | None = None
    #: Largest request body, in bytes (413 beyond).
    max_body_bytes: int = 32 * 1024 * 1024
    #: Most rows (or points) in one request (413 beyond).
    max_rows: int = 100_000
    #: Seconds a request may take before it is answered 504.
    timeout: float = 30.0
    #: Model versions kept loaded per worker.
    cache_size: int = 8
    #: Seconds between re-reads of aliases (a promoted version is served within this).
    refresh: float = 1.0
    #: Seconds an API key check is remembered (a revoked key stops within this).
    key_ttl: float = 5.0
    #: Origins allowed by CORS; empty = CORS off (no headers, browsers refuse cross-site calls).
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, **given: object) -> Settings:
        """Settings from ``ANOMALYZER_SERVICE_<NAME>`` variables, overridden by ``given``."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(_PREFIX + f.name.upper())
            if raw is None:
                continue
            if f.name == "cors_origins":
                values[f.name] = tuple(o for o in raw.split(",") if o.strip())
            elif f.name == "registry":
                values[f.name] = raw
            elif f.name in ("timeout", "refresh", "key_ttl"):
                values[f.name] = float(raw)
            else:
                values[f.name] = int(raw)
        return replace(cls(**values), **{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The variables that :meth:`from_env` reads back."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[_PREFIX + f.name.upper()] = (
                ",".join(value) if isinstance(value, tuple) else str(value)
            )
        return out
