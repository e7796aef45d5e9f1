"""Labels in a database table, through SQLAlchemy: SQLite by default, PostgreSQL by URL.

One table, ``anomalyzer_feedback``, holds the labels of any number of models,
each under a key the caller chooses (a model name, a registry id); the order
of insertion is the order of the labels. It is the :class:`LabelStore`
interface, so a review can write straight to a shared database.

>>> store = SqlStore("sqlite://", key="fraud-v1")
>>> store.add([Label("T7", "anomaly", "ana", "2026-01-02T03:04:05+00:00")])
>>> [(x.row, x.label) for x in store.history()]
[('T7', 'anomaly')]
>>> store.undo().row, store.history()
('T7', [])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from anomalyzer.errors import AnomalyzerError
from anomalyzer.feedback.store import Label

TABLE = "anomalyzer_feedback"
_META = sa.MetaData()
_LABELS = sa.Table(
    TABLE,
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(200), nullable=False, index=True),
    sa.Column("row", sa.String(400), nullable=False),
    sa.Column("label", sa.String(16), nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)


class SqlStore:
    """The labels of model ``key`` in the table ``anomalyzer_feedback`` of database ``url``."""

    def __init__(self, url: str | Any, *, key: str) -> None:
        self.key = str(key)
        try:
            self.engine = sa.create_engine(url) if isinstance(url, str) else url
            _META.create_all(self.engine)
        except (sa.exc.SQLAlchemyError, ValueError) as exc:
            raise AnomalyzerError(f"Cannot open the label database {url!r}: {exc}.") from None

    def add(self, labels: Sequence[Label]) -> None:
        if not labels:
            return
        rows = [{"model": self.key, "row": x.row, "label": x.label, "who": x.who, "at": x.when}
                for x in labels]  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(_LABELS.insert(), rows)

    def history(self) -> list[Label]:
        query = sa.select(_LABELS).where(_LABELS.c.model == self.key).order_by(_LABELS.c.id)
        with self.engine.connect() as conn:
            return [Label(r.row, r.label, r.who, r.at) for r in conn.execute(query)]

    def undo(self) -> Label | None:
        query = (sa.select(_LABELS).where(_LABELS.c.model == self.key)
                 .order_by(_LABELS.c.id.desc()).limit(1))  # fmt: skip
        with self.engine.begin() as conn:
            last = conn.execute(query).first()
            if last is None:
                return None
            conn.execute(_LABELS.delete().where(_LABELS.c.id == last.id))
        return Label(last.row, last.label, last.who, last.at)
