"""Once many rows are labelled: fit a detector that learns from labels, the rest unlabelled.

AAD re-weights an unsupervised forest, which is right while labels are few.
With many labels of both kinds, the ``supervised`` detector (gradient-boosted
trees on the features and unsupervised scores, XGBOD) or ``semi`` (a detector
of what the labelled-normal rows look like) can learn more from them; both
take rows without a label, which they score but do not learn from.

>>> import pandas as pd
>>> from anomalyzer.model import Model
>>> from anomalyzer.feedback.session import FeedbackSession
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
>>> df.loc[195:, "a"] = 7.0
>>> session = FeedbackSession(Model("iforest").fit(df), df)
>>> for p in range(0, 20):
...     _ = session.label(p, "normal", who="ana")
>>> _ = session.label(199, "anomaly", who="ana")
>>> model = fit_with_labels(session, "semi")
>>> bool(model.score(df.iloc[[196]])[0] > model.score(df.iloc[[5]])[0])
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anomalyzer.errors import AnomalyzerError
from anomalyzer.feedback.store import ANOMALY, NORMAL
from anomalyzer.model import Model

LEARNERS = ("semi", "supervised")


def partial_labels(n_rows: int, labels: dict[int, str]) -> np.ndarray:
    """1 / 0 per labelled row (anomaly / normal), NaN for the others and for ``unsure``.

    >>> partial_labels(4, {0: "anomaly", 2: "normal", 3: "unsure"}).tolist()
    [1.0, nan, 0.0, nan]
    """
    y = np.full(n_rows, np.nan)
    for position, label in labels.items():
        if label == ANOMALY:
            y[position] = 1.0
        elif label == NORMAL:
            y[position] = 0.0
    return y


def fit_with_labels(session: Any, detector: str = "supervised", **params: Any) -> Model:
    """A new :class:`Model`: the session model's encoding, ``detector`` fitted on its rows and labels.

    The new model scores, explains and saves like any other.
    """
    if detector not in LEARNERS:
        raise AnomalyzerError(
            f"fit_with_labels learns with {' or '.join(LEARNERS)}, not {detector!r}."
        )
    base = session.model
    y = partial_labels(len(session.ids), session.labels())
    model = Model(
        detector,
        contamination=base.contamination,
        exclude=base.exclude,
        roles=base.roles,
        random_state=base.random_state,
        **params,
    )
    model.preprocessor_ = base.preprocessor_
    model.detector_ = model._build_detector().fit(session.X, y)
    model.label_ = None
    model.threshold_ = float(model.detector_.threshold_)
    model.training_scores_ = model.detector_.decision_scores_
    model.n_rows_ = len(session.ids)
    model.feedback_ = list(getattr(base, "feedback_", None) or [])
    return model
