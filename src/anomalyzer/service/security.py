"""API keys on every route but health: 401 without a valid key, 403 with the wrong scope.

A key is read from ``Authorization: Bearer KEY``, ``X-API-Key`` or, for
clients of Azure Anomaly Detector, ``Ocp-Apim-Subscription-Key``. Checks are
remembered for ``key_ttl`` seconds so that a request does not wait for the
database; only the SHA-256 of a key is ever stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from anomalyzer.registry import ApiKey, Registry
from anomalyzer.registry.keys import allows, split_token

bearer = HTTPBearer(auto_error=False, description="An API key: `anomalyzer keys create`.")
header_key = APIKeyHeader(name="X-API-Key", auto_error=False)
azure_key = APIKeyHeader(name="Ocp-Apim-Subscription-Key", auto_error=False)
_BEARER = Security(bearer)
_HEADER = Security(header_key)
_AZURE = Security(azure_key)
# Remembered checks at most: random keys sent by a scanner cannot grow memory without bound.
_MAX_REMEMBERED = 4096


class AuthError(Exception):
    """A request without a usable key (401) or with a key of the wrong scope (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class KeyChecker:
    """Checks keys against the registry, remembering answers for ``ttl`` seconds."""

    def __init__(self, registry: Registry, ttl: float = 5.0) -> None:
        self.registry = registry
        self.ttl = ttl
        self._seen: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def check(self, token: str) -> ApiKey | None:
        if split_token(token) is None:
            return None
        now = time.monotonic()
        hit = self._seen.get(token)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        key = self.registry.verify_key(token)
        with self._lock:
            if len(self._seen) >= _MAX_REMEMBERED:
                self._seen.clear()
            self._seen[token] = (now, key)
        return key


def require(scope: str) -> Callable[..., Any]:
    """A dependency that lets a request through with a key of ``scope`` (or admin)."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = _BEARER,
        x_api_key: str | None = _HEADER,
        subscription_key: str | None = _AZURE,
    ) -> ApiKey:
        token = (credentials.credentials if credentials else None) or x_api_key or subscription_key
        if not token:
            raise AuthError(
                401,
                "This route needs an API key: send 'Authorization: Bearer KEY' (create one with "
                f"`anomalyzer keys create --scope {scope}`).",
            )
        key = request.app.state.keys.check(token)
        if key is None:
            raise AuthError(401, "The API key is not valid or was revoked; use an active key.")
        if not allows(key.scope, scope):
            raise AuthError(
                403, f"This API key has scope '{key.scope}' but this route needs '{scope}'."
            )
        request.state.key_id = key.id
        return key

    return dependency


score_key = Depends(require("score"))
admin_key = Depends(require("admin"))
