"""The labels the model registry holds (those the service's ``/feedback`` route stores), as a label store.

The registry keeps, per model version, every label posted to it with who
posted it and when; it takes anomaly (1) and normal (0) and is append-only.
:class:`RegistryStore` reads and writes those labels through the registry's
``add_feedback`` and ``feedback`` methods, so a review can start from the
labels analysts sent to the service and add its own. What the registry cannot
hold stays with the store in memory for the review: ``unsure`` (a skip), and
the undo of a label not yet sent (labels are sent when the next one comes or
on :meth:`flush`, so the last one can still be taken back).

The registry is passed in, not imported: this module sits below the service
and registry layer and depends only on the two methods it calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anomalyzer.errors import AnomalyzerError
from anomalyzer.feedback.store import ANOMALY, NORMAL, UNSURE, Label


class RegistryStore:
    """Labels of model ``name`` (one ``version``, or all) in ``registry``."""

    def __init__(self, registry: Any, name: str, *, version: int | None = None) -> None:
        self.registry = registry
        self.name = name
        self.version = version
        self._pending: list[Label] = []  # given but not sent: the last one can be undone
        self._local: list[Label] = []  # unsure labels, which the registry does not hold

    def add(self, labels: Sequence[Label]) -> None:
        self.flush()
        for label in labels:
            (self._local if label.label == UNSURE else self._pending).append(label)

    def flush(self) -> None:
        """Send the labels not sent yet."""
        for label in self._pending:
            self.registry.add_feedback(
                self.name,
                [{"row": {}, "row_id": label.row, "label": 1 if label.label == ANOMALY else 0}],
                version=self.version,
                actor=label.who,
            )
        self._pending = []

    def history(self) -> list[Label]:
        stored = [
            Label(
                str(e.row_id if e.row_id is not None else e.id),
                ANOMALY if int(e.label) == 1 else NORMAL,
                str(e.actor),
                e.at.isoformat(timespec="seconds"),
            )
            for e in self.registry.feedback(self.name, version=self.version)
        ]
        return stored + self._local + self._pending

    def undo(self) -> Label | None:
        if self._pending:
            return self._pending.pop()
        if self._local:
            return self._local.pop()
        if self.history():
            raise AnomalyzerError(
                "The registry keeps every label it was sent; label the row again instead of undoing."
            )
        return None
