"""A feedback session: a model, the rows under review, the label store and the learner.

The session ranks the rows with :class:`~anomalyzer.feedback.aad.ForestFeedback`
over the model's own encoded features: the model's isolation forest when its
detector is ``iforest``, otherwise the AAD papers' forest (100 trees of 256
rows) grown on those features. Every label goes to the store first and then
into the learner, so the ranking after a label already reflects it; opening a
session on a store that holds labels (a resumed review, or labels saved with
the model) replays them.

Rows are known by their id: the model's identifier column when the table has
exactly one (``transaction_id``), otherwise the row's position (0-based).

>>> import pandas as pd
>>> from anomalyzer.model import Model
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(300, 2)), columns=["a", "b"])
>>> df.loc[296:, "a"] = [8.0, 8.1, -8.0, -8.1]
>>> session = FeedbackSession(Model("iforest").fit(df), df)
>>> first = int(session.next()[0])
>>> first in (296, 297, 298, 299)
True
>>> _ = session.label(first, "normal", who="ana")
>>> session.progress()
{'labelled': 1, 'anomalies': 0, 'normal': 1, 'unsure': 0, 'rows': 300}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anomalyzer.data import read_table
from anomalyzer.detectors.iforest import IForest
from anomalyzer.errors import AnomalyzerError
from anomalyzer.feedback.aad import MAX_SAMPLES, N_TREES, ForestFeedback
from anomalyzer.feedback.query import diverse_batch, top
from anomalyzer.feedback.store import (
    ANOMALY,
    NORMAL,
    Label,
    LabelStore,
    ModelStore,
    latest,
    make_labels,
    row_ids,
)

# Columns shown as "most unusual" for a row under review.
UNUSUAL_COLUMNS = 3


class FeedbackSession:
    """Rank ``data`` with ``model``, take labels, and re-rank after each.

    Parameters
    ----------
    model:
        A fitted :class:`~anomalyzer.model.Model`.
    data:
        The rows under review (path, URL or DataFrame).
    store:
        Where labels go; default the model's own (saved with ``model.save``).
    """

    def __init__(self, model: Any, data: Any, *, store: LabelStore | None = None, **read: Any):
        model._check_fitted()
        self.model = model
        self.frame = read_table(data, **read)
        self.ids = row_ids(model, self.frame)
        self.position = {row_id: i for i, row_id in enumerate(self.ids)}
        if len(self.position) != len(self.ids):
            raise AnomalyzerError(
                "The identifier column has repeated values, so labels could not name one row; "
                "give each row a unique id."
            )
        self.X = model.transform(self.frame)
        seed = model.random_state if isinstance(model.random_state, int) else 0
        forest = model.detector_
        if not isinstance(forest, IForest):
            forest = IForest(n_estimators=N_TREES, max_samples=MAX_SAMPLES, random_state=seed)
            forest.fit(self.X)
        self.learner = ForestFeedback(forest, self.X, random_state=seed)
        self.store: LabelStore = ModelStore(model) if store is None else store
        self._replay()

    # -- labels -------------------------------------------------------------------------

    def label(self, position: int, label: Any, *, who: str | None = None) -> Label:
        """Label the row at ``position`` and re-rank; ``unsure`` takes back an earlier label."""
        made = make_labels([self.ids[int(position)]], [label], who=who)[0]
        self.store.add([made])
        self._learn(int(position), made.label)
        return made

    def undo(self) -> Label | None:
        """Take back the last label (the row's earlier label, if any, counts again)."""
        last = self.store.undo()
        if last is not None and last.row in self.position:
            before = latest(self.store.history()).get(last.row)
            self._learn(self.position[last.row], None if before is None else before.label)
        return last

    def labels(self) -> dict[int, str]:
        """Position -> latest label, for the rows of this data that have one."""
        return {
            self.position[row]: lab.label
            for row, lab in latest(self.store.history()).items()
            if row in self.position
        }

    def progress(self) -> dict[str, int]:
        """How many rows are labelled, of which kind, out of how many."""
        kinds = list(self.labels().values())
        return {
            "labelled": len(kinds),
            "anomalies": kinds.count(ANOMALY),
            "normal": kinds.count(NORMAL),
            "unsure": len(kinds) - kinds.count(ANOMALY) - kinds.count(NORMAL),
            "rows": len(self.ids),
        }

    # -- ranking ------------------------------------------------------------------------

    @property
    def scores(self) -> np.ndarray:
        """Current score of every row (higher = more anomalous)."""
        return self.learner.scores_

    def next(self, k: int = 1, *, diverse: bool = False) -> np.ndarray:
        """Positions of the next ``k`` rows to ask about (not labelled yet, not skipped)."""
        seen = list(self.labels())
        if diverse:
            return diverse_batch(self.scores, self.X, seen, k)
        return top(self.scores, seen, k)

    def view(self, position: int) -> dict[str, Any]:
        """What a reviewer sees of one row: id, rank, score, reason, unusual columns, values."""
        position = int(position)
        row = self.frame.iloc[[position]]
        contrib = self.model.explain(row).iloc[0]
        unusual = contrib[contrib > 0].sort_values(ascending=False).index[:UNUSUAL_COLUMNS]
        rank = int((self.scores > self.scores[position]).sum()) + 1
        return {
            "position": position,
            "id": self.ids[position],
            "rank": rank,
            "score": float(self.scores[position]),
            "reason": self.model.reasons(row)[0],
            "unusual": [str(c) for c in unusual],
            "values": {str(c): row.iloc[0][c] for c in self.frame.columns},
            "label": self.labels().get(position),
        }

    def describe(self) -> str:
        """In words, what the rows labelled anomalous so far have in common."""
        from anomalyzer.feedback.describe import describe_anomalies

        anomalies = [p for p, lab in self.labels().items() if lab == ANOMALY]
        return describe_anomalies(self.frame, anomalies, columns=self.model.schema.features)

    # -- internals ----------------------------------------------------------------------

    def _learn(self, position: int, label: str | None) -> None:
        if label in (ANOMALY, NORMAL):
            self.learner.update([position], [1 if label == ANOMALY else 0])
        elif position in self.learner.labels_:
            self.learner.forget([position])

    def _replay(self) -> None:
        for position, label in self.labels().items():
            if label in (ANOMALY, NORMAL):
                self.learner.labels_[position] = 1 if label == ANOMALY else 0
        self.learner.refit()
