"""Labels from analysts, with who gave them and when, behind one small interface.

A label says of one row (by its id) that it is an ``anomaly``, ``normal``, or
that the analyst is ``unsure``. Stores keep every label in the order given;
the latest one for a row is the one that counts (:func:`latest`). Three stores
share the :class:`LabelStore` interface: :class:`MemoryStore` (a list, also
what a model file holds), :class:`ModelStore` (the labels saved with a model)
and :class:`CsvStore` (a label file written as the analyst goes, so a review
can be resumed). A database store only needs the same three methods.

>>> store = MemoryStore()
>>> store.add([Label("T7", "anomaly", "ana", "2026-01-02T03:04:05+00:00")])
>>> store.add([Label("T7", "normal", "bo", "2026-01-03T00:00:00+00:00")])
>>> latest(store.history())["T7"].label
'normal'
>>> store.undo().who, len(store.history())
('bo', 1)
"""

from __future__ import annotations

import csv
import datetime as _dt
import getpass
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError

ANOMALY, NORMAL, UNSURE = "anomaly", "normal", "unsure"
LABELS = (ANOMALY, NORMAL, UNSURE)
FIELDS = ("row", "label", "who", "when")
_WORDS = {
    ANOMALY: ("anomaly", "anomalous", "a", "1", "true", "yes", "y", "fraud", "outlier", "bad"),
    NORMAL: ("normal", "nominal", "n", "0", "false", "no", "ok", "good", "inlier"),
    UNSURE: ("unsure", "u", "?", "skip", "unknown", "maybe"),
}
_ALIASES = {word: label for label, words in _WORDS.items() for word in words}


def to_label(value: Any) -> str:
    """``anomaly``, ``normal`` or ``unsure`` for what a person typed, or a clear error.

    >>> to_label("Fraud"), to_label(0), to_label("?")
    ('anomaly', 'normal', 'unsure')
    """
    text = str(value).strip().lower()
    if text.endswith(".0"):  # 1.0 and 0.0 read from a CSV
        text = text[:-2]
    try:
        return _ALIASES[text]
    except KeyError:
        raise AnomalyzerError(
            f"Label {value!r} is not one of anomaly, normal or unsure (or 1, 0, ?)."
        ) from None


def now() -> str:
    """The current time in UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def whoami() -> str:
    """The login name of the person at this terminal, or ``"unknown"``."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass(frozen=True)
class Label:
    """One judgement of one row: its id, the label, who gave it and when (ISO 8601)."""

    row: str
    label: str
    who: str
    when: str

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise AnomalyzerError(
                f"Label {self.label!r} is not one of {', '.join(LABELS)}; use to_label()."
            )

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Label:
        """A label from a stored record, or an error naming the missing field."""
        missing = [f for f in FIELDS if f not in record]
        if missing:
            raise AnomalyzerError(
                f"A stored label lacks {', '.join(missing)}; each needs row, label, who and when."
            )
        return cls(str(record["row"]), to_label(record["label"]), str(record["who"]),
                   str(record["when"]))  # fmt: skip


def make_labels(
    ids: Sequence[Any], labels: Any, *, who: str | None = None, when: str | None = None
) -> list[Label]:
    """One :class:`Label` per id; ``labels`` is one label for all or one per id.

    >>> [(x.row, x.label) for x in make_labels([3, "b"], "normal", who="ana")]
    [('3', 'normal'), ('b', 'normal')]
    """
    if isinstance(labels, str) or not isinstance(labels, Iterable):
        values = [labels] * len(ids)
    else:
        values = list(labels)
    if len(values) != len(ids):
        raise AnomalyzerError(
            f"Got {len(ids)} row(s) and {len(values)} label(s); give one label per row, or one for all."
        )
    who = whoami() if who is None else str(who)
    when = now() if when is None else str(when)
    return [Label(str(i), to_label(v), who, when) for i, v in zip(ids, values, strict=True)]


def latest(labels: Iterable[Label]) -> dict[str, Label]:
    """Row id -> the last label given to it."""
    out: dict[str, Label] = {}
    for label in labels:
        out[label.row] = label
    return out


class LabelStore(Protocol):
    """Where labels live: add some, read them all back in order, take back the last."""

    def add(self, labels: Sequence[Label]) -> None: ...

    def history(self) -> list[Label]: ...

    def undo(self) -> Label | None: ...


class MemoryStore:
    """Labels in a list (``records()`` is the JSON a model file holds)."""

    def __init__(self, labels: Iterable[Label] = ()) -> None:
        self._labels = list(labels)

    def add(self, labels: Sequence[Label]) -> None:
        self._labels.extend(labels)

    def history(self) -> list[Label]:
        return list(self._labels)

    def undo(self) -> Label | None:
        return self._labels.pop() if self._labels else None

    def records(self) -> list[dict[str, str]]:
        return [label.to_dict() for label in self._labels]


class ModelStore:
    """The labels saved with a model: the records of ``model.feedback_`` (plain JSON)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        if getattr(model, "feedback_", None) is None:
            model.feedback_ = []

    def add(self, labels: Sequence[Label]) -> None:
        self.model.feedback_.extend(label.to_dict() for label in labels)

    def history(self) -> list[Label]:
        return [Label.from_dict(r) for r in self.model.feedback_]

    def undo(self) -> Label | None:
        return Label.from_dict(self.model.feedback_.pop()) if self.model.feedback_ else None


class CsvStore:
    """A label file with columns ``row,label,who,when``, written line by line as labels come.

    Opening an existing file reads its labels back, so a review picks up where
    it stopped. An undo rewrites the file without its last line.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._labels: list[Label] = []
        if self.path.exists():
            self._labels = read_labels(self.path)

    def add(self, labels: Sequence[Label]) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        try:
            with self.path.open("a", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=FIELDS)
                if new:
                    writer.writeheader()
                writer.writerows(label.to_dict() for label in labels)
        except OSError as exc:
            raise AnomalyzerError(
                f"Cannot write label file '{self.path}': {exc.strerror or exc}."
            ) from None
        self._labels.extend(labels)

    def history(self) -> list[Label]:
        return list(self._labels)

    def undo(self) -> Label | None:
        if not self._labels:
            return None
        last = self._labels.pop()
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(label.to_dict() for label in self._labels)
        os.replace(tmp, self.path)
        return last


def read_labels(
    path: str | os.PathLike[str], *, who: str | None = None, when: str | None = None
) -> list[Label]:
    """Labels from a CSV file with a ``row`` (or ``id``) and a ``label`` column.

    ``who`` and ``when`` columns are optional; rows without them get ``who``
    (default: the login name) and ``when`` (default: now).
    """
    path = Path(path)
    if not path.is_file():
        raise AnomalyzerError(f"Label file '{path}' was not found; check the path.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AnomalyzerError(f"Cannot read label file '{path}': {exc}.") from None
    if not rows:
        return []
    columns = {c.strip().lower(): c for c in rows[0] if c is not None}
    id_col = columns.get("row", columns.get("id"))
    label_col = columns.get("label")
    if id_col is None or label_col is None:
        raise AnomalyzerError(
            f"Label file '{path}' needs a 'row' (or 'id') column and a 'label' column; "
            f"it has: {', '.join(map(str, rows[0]))}."
        )
    default_who = whoami() if who is None else who
    default_when = now() if when is None else when
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            label = to_label(row[label_col])
        except AnomalyzerError as exc:
            raise AnomalyzerError(f"Label file '{path}', line {line}: {exc}") from None
        out.append(Label(str(row[id_col]).strip(), label,
                         (row.get(columns.get("who", ""), "") or default_who).strip(),
                         (row.get(columns.get("when", ""), "") or default_when).strip()))  # fmt: skip
    return out


def row_ids(model: Any, frame: pd.DataFrame, *, use_index: bool = False) -> list[str]:
    """The id of each row of ``frame``, as text: its identifier column, else its position.

    With ``use_index`` the frame's index labels stand in for positions (what
    :meth:`Model.feedback` does with a DataFrame the caller sliced).
    """
    ids = [c for c in model.schema.by_role("id") if c in frame.columns]
    if len(ids) == 1:
        return frame[ids[0]].astype(str).tolist()
    if use_index:
        return [str(i) for i in frame.index]
    return [str(i) for i in range(len(frame))]


def to_ids(model: Any, rows_or_ids: Any) -> list[str]:
    """Ids from a DataFrame of rows, one row (a Series), one id, or a list of ids."""
    if isinstance(rows_or_ids, pd.DataFrame):
        return row_ids(model, rows_or_ids, use_index=True)
    if isinstance(rows_or_ids, pd.Series):
        ids = [c for c in model.schema.by_role("id") if c in rows_or_ids.index]
        return [str(rows_or_ids[ids[0]] if len(ids) == 1 else rows_or_ids.name)]
    if isinstance(rows_or_ids, str | int | np.integer):
        return [str(rows_or_ids)]
    try:
        return [str(i) for i in rows_or_ids]
    except TypeError:
        raise AnomalyzerError(
            "feedback needs rows (a DataFrame or one row), a row id, or a list of row ids, "
            f"not a {type(rows_or_ids).__name__}."
        ) from None


def record_feedback(
    model: Any, rows_or_ids: Any, labels: Any, *, who: str | None = None, when: str | None = None
) -> list[Label]:
    """Store labels for these rows with the model (saved with it by ``Model.save``)."""
    model._check_fitted()
    made = make_labels(to_ids(model, rows_or_ids), labels, who=who, when=when)
    ModelStore(model).add(made)
    return made
