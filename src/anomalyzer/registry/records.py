"""What the registry hands back: plain, frozen records (no database objects escape it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-safe data (times in ISO 8601)."""
        return {k: _plain(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class ModelVersion(_Record):
    """One immutable version of a named model.

    ``columns`` lists the input columns with their roles (tables: the
    features; series: the time, group and value columns); ``metrics`` holds
    what the pusher measured (e.g. ROC-AUC on labelled data), empty when none.
    """

    name: str
    version: int
    sha256: str
    size: int
    kind: str
    detector: str
    n_rows: int
    columns: list[dict[str, str]]
    metrics: dict[str, float]
    description: str
    pushed_by: str
    pushed_at: dt.datetime
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelSummary(_Record):
    """A named model in :meth:`Registry.list`: its newest version and its aliases."""

    name: str
    latest: int
    n_versions: int
    aliases: dict[str, int]
    kind: str
    detector: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class ModelInfo(_Record):
    """Everything about a named model: every version (oldest first) and its aliases."""

    name: str
    versions: list[ModelVersion]
    aliases: dict[str, int]

    @property
    def latest(self) -> ModelVersion:
        """The newest version."""
        return self.versions[-1]


@dataclass(frozen=True)
class AuditEntry(_Record):
    """One change to the registry: who did what to which model, and when."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    name: str | None
    version: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class ApiKey(_Record):
    """An API key as stored: its public id and scope; the secret itself is never kept."""

    id: str
    scope: str
    note: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class FeedbackEntry(_Record):
    """An analyst's label for a scored row of a model version (1 = anomaly, 0 = normal)."""

    id: int
    name: str
    version: int
    row_id: str | None
    row: dict[str, Any]
    label: int
    score: float | None
    note: str
    actor: str
    at: dt.datetime
