"""``Model``: preprocessing, a detector and its threshold, fitted and used together.

Everything that scores (``detect``, the command line, the report, the service)
goes through a ``Model``, so a table is read, encoded and scored one way only.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from anomalyzer import detectors
from anomalyzer.data import Preprocessor, Schema, read_table
from anomalyzer.data.sketches import training_sketch
from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.labels import to_binary
from anomalyzer.persist import model_kind, save_model
from anomalyzer.reasons import reason_for
from anomalyzer.scored import rows_to_explain, scored_frame
from anomalyzer.validation import check_contamination

if TYPE_CHECKING:
    from anomalyzer.monitor import DriftReport

DEFAULT_DETECTOR = "auto"
# Rows scored per detector call: bounds the memory of one call on big tables
# and lets a caller show progress.
SCORE_CHUNK = 200_000


@model_kind("table")
class Model:
    """Read, encode and score tables with one detector.

    Parameters
    ----------
    detector:
        A name from ``anomalyzer.detectors.available()`` or a detector instance.
    contamination:
        Share of rows to flag, or ``"auto"`` to read it off the scores.
    exclude:
        Columns never used as features (they stay in the output).
    roles:
        Force a role per column, e.g. ``{"zip": "categorical"}``.
    random_state:
        Seed of randomised detectors; the same seed gives the same scores.
    **params:
        Parameters of the detector, e.g. ``n_neighbors=10``.

    >>> df = pd.DataFrame({"x": [1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 9.0] * 3})
    >>> model = Model("mad").fit(df)
    >>> model.predict(pd.DataFrame({"x": [1.0, 25.0]})).tolist()
    [False, True]
    """

    #: Analysts' labels as plain records (row, label, who, when), saved with the
    #: model; :meth:`feedback` adds to them.
    feedback_: list[dict[str, str]]

    def __init__(
        self,
        detector: str | BaseDetector = DEFAULT_DETECTOR,
        *,
        contamination: float | str = "auto",
        exclude: Sequence[str] = (),
        roles: Mapping[str, str] | None = None,
        random_state: int | None = 0,
        **params: Any,
    ) -> None:
        self.detector = detector
        self.contamination = check_contamination(contamination)
        self.exclude = tuple([exclude] if isinstance(exclude, str) else exclude)
        self.roles = dict(roles or {})
        self.random_state = random_state
        self.params = params
        # Validate the detector name and parameters now, before any data is read.
        self._build_detector()

    # -- fitting --------------------------------------------------------------

    def fit(self, data: Any, *, label: str | Sequence[Any] | None = None, **read: Any) -> Model:
        """Learn what is normal in ``data`` (a path, URL or DataFrame).

        ``label`` (a column name, or one value per row) is kept out of the
        features; detectors that learn from labels use it.
        """
        df = read_table(data, **read)
        label_col, y = self._resolve_label(df, label)
        self.preprocessor_ = Preprocessor(exclude=self.exclude, label=label_col, roles=self.roles)
        X = self.preprocessor_.fit_transform(df)
        self.detector_ = self._build_detector()
        if y is not None and _learns_from_labels(self.detector_):
            self.detector_.fit(X, y)
        else:
            self.detector_.fit(X)
        self.label_ = label_col
        self.threshold_ = float(self.detector_.threshold_)
        self.training_scores_ = self.detector_.decision_scores_
        self.n_rows_ = len(df)
        # What drift monitoring compares new data with (see Model.monitor).
        self.sketch_ = training_sketch(
            df, self.preprocessor_.schema_, X, self.training_scores_, self.threshold_
        )
        return self

    # -- using a fitted model -------------------------------------------------

    @property
    def schema(self) -> Schema:
        """Column roles learned at fit time."""
        self._check_fitted()
        return self.preprocessor_.schema_

    def transform(self, data: Any, **read: Any) -> np.ndarray:
        """The feature matrix the detector sees for ``data``."""
        self._check_fitted()
        return self.preprocessor_.transform(read_table(data, **read))

    def score(self, data: Any, **read: Any) -> np.ndarray:
        """Anomaly score of each row of ``data`` (higher = more anomalous)."""
        X = self.transform(data, **read)
        return self.detector_.decision_function(X)

    def score_frame(
        self,
        data: Any,
        *,
        max_explained: int | None = None,
        progress: Callable[[int], None] | None = None,
        **read: Any,
    ) -> pd.DataFrame:
        """``data`` scored: its columns plus ``anomaly_score``, ``is_anomaly``, ``anomaly_rank``, ``anomaly_reason``.

        This is the one scoring path: ``detect``, ``anomalyzer score``, the
        report and every later consumer call it. Flagged rows (and at least the
        ten top rows) get a reason, at most ``max_explained`` of them when set;
        ``progress`` is called with the number of rows scored after each chunk.
        An empty table gives an empty scored table.

        >>> df = pd.DataFrame({"x": [1.0, 1.1, 0.9, 1.0, 1.2, 0.8] * 3})
        >>> model = Model("mad").fit(df)
        >>> model.score_frame(pd.DataFrame({"x": [1.0, 25.0]}))["is_anomaly"].tolist()
        [False, True]
        >>> len(model.score_frame(df.iloc[:0]))
        0
        """
        self._check_fitted()
        if isinstance(data, pd.DataFrame) and len(data) == 0:
            empty = np.empty(0, dtype=np.float64)
            return scored_frame(data, empty, empty.astype(bool), {})
        df = read_table(data, **read)
        notes = self.preprocessor_.score_notes(df)
        for note in notes:
            warnings.warn(f"Scoring: {note}.", UserWarning, stacklevel=2)
        scores = np.empty(len(df), dtype=np.float64)
        for start in range(0, len(df), SCORE_CHUNK):
            part = df.iloc[start : start + SCORE_CHUNK]
            scores[start : start + len(part)] = self.detector_.decision_function(
                self.preprocessor_.transform(part)
            )
            if progress is not None:
                progress(len(part))
        frame = self.frame_from_scores(df, scores, max_explained=max_explained)
        # Where the scored data differs from the fitted data (result.notes reads them).
        frame.attrs["notes"] = notes
        return frame

    def frame_from_scores(
        self, df: pd.DataFrame, scores: np.ndarray, *, max_explained: int | None = None
    ) -> pd.DataFrame:
        """The scored frame of ``df`` given its ``scores``: flags from the threshold, reasons for the top rows.

        ``detect`` uses it with the training scores (which some detectors
        compute leaving each row out); :meth:`score_frame` with fresh ones.
        """
        self._check_fitted()
        flags = scores > self.threshold_
        top = rows_to_explain(scores, flags, max_explained)
        reasons: dict[int, str] = {}
        if len(top):
            rows = df.iloc[top]
            texts = self._reasons(rows, self.preprocessor_.transform(rows))
            reasons = dict(zip(top.tolist(), texts, strict=True))
        return scored_frame(df, scores, flags, reasons)

    def score_dask(self, data: Any, *, out: str | os.PathLike[str], **options: Any) -> Any:
        """Score a data set too big for one machine on a Dask cluster, writing Parquet to ``out``.

        ``data`` is a Parquet folder or glob, CSV globs or a ``dask.dataframe``;
        each partition goes through this model's scoring as in
        :meth:`score_frame`. ``options``: ``client``, ``top``,
        ``max_explained``, ``progress`` of
        :func:`anomalyzer.engines.dask.score_dask`, whose summary is returned.
        """
        from anomalyzer.engines.dask import score_dask

        return score_dask(self, data, out=out, **options)

    def predict(self, data: Any, **read: Any) -> np.ndarray:
        """True for rows scoring above the threshold."""
        return self.score(data, **read) > self.threshold_

    def explain(self, data: Any, **read: Any) -> pd.DataFrame:
        """Contribution of each original column to each row's score.

        One-hot levels, missing-value indicators and date parts are summed back
        into the column they came from.
        """
        self._check_fitted()
        df = read_table(data, **read)
        X = self.preprocessor_.transform(df)
        return self._fold(self.detector_.explain(X), index=df.index)

    def reasons(self, data: Any, **read: Any) -> list[str]:
        """A sentence per row naming the columns that make it anomalous."""
        self._check_fitted()
        df = read_table(data, **read)
        return self._reasons(df, self.preprocessor_.transform(df))

    def feedback(
        self, rows_or_ids: Any, labels: Any, *, who: str | None = None, when: str | None = None
    ) -> list[Any]:
        """Record analysts' labels (anomaly / normal / unsure) for rows, with who and when.

        ``rows_or_ids`` is a DataFrame of rows, one row, one id or a list of ids
        (the identifier column's values, else row positions); ``labels`` one
        label for all or one per row. The labels are saved with the model by
        :meth:`save`; :class:`anomalyzer.feedback.FeedbackSession` learns from them.

        >>> model = Model("mad").fit(pd.DataFrame({"x": [1.0, 1.1, 0.9, 1.0, 9.0] * 4}))
        >>> [(x.row, x.label, x.who) for x in model.feedback([4, 0], ["fraud", "ok"], who="ana")]
        [('4', 'anomaly', 'ana'), ('0', 'normal', 'ana')]
        """
        from anomalyzer.feedback.store import record_feedback

        return record_feedback(self, rows_or_ids, labels, who=who, when=when)

    def monitor(self, data: Any, **options: Any) -> DriftReport:
        """Compare ``data`` with what the model saw at fit: a drift report.

        See :func:`anomalyzer.monitor.monitor` for the checks and ``options``.
        """
        from anomalyzer.monitor.batch import monitor

        return monitor(self, data, **options)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to a file that :func:`anomalyzer.load` reads back.

        The file (a zip of JSON and arrays, see :mod:`anomalyzer.persist`) cannot
        run code when it is loaded.
        """
        return save_model(self, path)

    def to_onnx(
        self, path: str | os.PathLike[str] | None = None, *, data: Any, **kwargs: Any
    ) -> Any:
        """Export as one ONNX graph (preprocessing, detector, threshold), checked on ``data``.

        ``data`` is the training table or a sample of it; see
        :func:`anomalyzer.export.onnx.to_onnx`. Returns the ``onnx.ModelProto``.
        """
        from anomalyzer.export import to_onnx

        return to_onnx(self, path, data=data, **kwargs)

    # -- helpers ----------------------------------------------------------------

    def _reasons(self, df: pd.DataFrame, X: np.ndarray) -> list[str]:
        contrib = self._fold(self.detector_.explain(X), index=df.index)
        profile = self.preprocessor_.profile_
        return [reason_for(df.iloc[i], contrib.iloc[i], profile) for i in range(len(df))]

    def _fold(self, contributions: np.ndarray, index: pd.Index) -> pd.DataFrame:
        frame = pd.DataFrame(contributions, index=index, columns=self.preprocessor_.feature_names_)
        sources = pd.Index(self.preprocessor_.feature_sources_)
        folded = frame.T.groupby(sources, sort=False).sum().T
        return folded[[c for c in self.schema.features if c in folded.columns]]

    def _build_detector(self) -> BaseDetector:
        if isinstance(self.detector, BaseDetector):
            from sklearn.base import clone

            det = clone(self.detector)
            if self.params:
                det.set_params(**self.params)
            return det
        params = dict(self.params)
        params.setdefault("contamination", self.contamination)
        if self.random_state is not None and detectors.accepts(self.detector, "random_state"):
            params.setdefault("random_state", self.random_state)
        return detectors.make(self.detector, **params)

    def _resolve_label(self, df: pd.DataFrame, label: Any) -> tuple[str | None, np.ndarray | None]:
        if label is None:
            return None, None
        if isinstance(label, str):
            if label not in df.columns:
                raise AnomalyzerError(
                    f"Label column '{label}' not found; the columns are: "
                    f"{', '.join(map(str, df.columns))}."
                )
            return label, to_binary(df[label], name=label)
        values = np.asarray(label)
        if values.ndim != 1 or len(values) != len(df):
            raise AnomalyzerError(
                f"label has {len(values)} value(s) but the data has {len(df)} row(s); "
                "give one label per row or a column name."
            )
        return None, to_binary(values)

    def _check_fitted(self) -> None:
        if not hasattr(self, "detector_"):
            raise AnomalyzerError("This model is not fitted yet; call fit(data) first.")

    @property
    def detector_name(self) -> str:
        """The registry name of the detector (or its class name)."""
        if isinstance(self.detector, str):
            return detectors.spec(self.detector).name
        return type(self.detector).__name__

    def __repr__(self) -> str:
        state = "fitted" if hasattr(self, "detector_") else "not fitted"
        return (
            f"Model(detector={self.detector_name!r}, contamination={self.contamination!r}, {state})"
        )


def _learns_from_labels(detector: BaseDetector) -> bool:
    return bool(getattr(detector, "_uses_labels", False))
