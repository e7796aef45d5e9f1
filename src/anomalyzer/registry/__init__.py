"""The model registry: named model files with immutable versions, aliases and an audit log.

``Registry(url)`` opens (and creates or upgrades, with the Alembic migrations
shipped here) a registry database; see :mod:`anomalyzer.registry.store`.
"""

from anomalyzer.registry.records import (
    ApiKey,
    AuditEntry,
    FeedbackEntry,
    ModelInfo,
    ModelSummary,
    ModelVersion,
)
from anomalyzer.registry.store import (
    DEFAULT_ALIAS,
    ENV_VAR,
    ModelNotFound,
    Registry,
    default_url,
    load_bytes,
)

__all__ = [
    "DEFAULT_ALIAS",
    "ENV_VAR",
    "ApiKey",
    "AuditEntry",
    "FeedbackEntry",
    "ModelInfo",
    "ModelNotFound",
    "ModelSummary",
    "ModelVersion",
    "Registry",
    "default_url",
    "load_bytes",
]
