"""Pushing a challenger to a model store and moving its alias only when the rule holds.

The store is anything with the model registry's two calls (see
:mod:`anomalyzer.registry`): ``push(path, name, metrics=..., description=...)``
returning a record with a ``version``, and ``promote(name, version, alias)``.
A pushed challenger is a new version, never promoted by the push itself;
:func:`push_challenger` then moves ``alias`` to it only when the retraining
decision allows it (or it was forced).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from anomalyzer.monitor.retrain import RetrainResult


class ModelStore(Protocol):
    """The two calls of a model registry that retraining uses."""

    def push(
        self,
        path: str | os.PathLike[str],
        name: str,
        *,
        metrics: Any = None,
        description: str = "",
    ) -> Any: ...

    def promote(self, name: str, version: int | str, alias: str = ...) -> Any: ...


@dataclass(frozen=True)
class Pushed:
    """Where the challenger went: its name and version, and whether the alias moved."""

    name: str
    version: int
    alias: str
    promoted: bool


def push_challenger(
    store: ModelStore,
    result: RetrainResult,
    path: str | os.PathLike[str],
    name: str,
    *,
    alias: str = "production",
    promote: bool = False,
) -> Pushed:
    """Push the saved challenger at ``path`` as a new version of ``name``; with ``promote``,
    point ``alias`` at it only when ``result.decision`` allows it.

    The agreement numbers go in as the version's metrics and the decision as
    its description, so the registry's history says why a version was (or was
    not) promoted.
    """
    a = result.agreement
    metrics = {
        "rank_correlation": float(a["rank_correlation"]),
        "flag_overlap": float(a["flag_overlap"]),
        "flag_rate_challenger": float(a["flag_rate_challenger"]),
        "flag_rate_champion": float(a["flag_rate_champion"]),
        "target_rate": float(a["target_rate"]),
    }
    record = store.push(path, name, metrics=metrics, description=result.decision.text)
    version = int(record.version)
    moved = bool(promote and result.decision.promote)
    if moved:
        store.promote(name, version, alias)
    return Pushed(name, version, alias, moved)
