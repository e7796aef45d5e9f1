"""Try several detectors on one labelled table and rank them by average precision.

Each detector is fitted with :class:`anomalyzer.Model` exactly as ``detect``
would fit it, so the table reflects what a user would get. A detector that
fails or runs out of time gets a row saying so instead of ending the comparison.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer import detectors as registry
from anomalyzer.data import read_table
from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate.metrics import _check_labels, evaluate
from anomalyzer.model import Model
from anomalyzer.validation import check_contamination

__all__ = ["COLUMNS", "compare"]

#: Columns of the table :func:`compare` returns, in order.
COLUMNS = (
    "detector",
    "roc_auc",
    "ap",
    "best_f1",
    "precision_at_k",
    "f1",
    "n_flagged",
    "fit_seconds",
    "score_seconds",
    "status",
)

OVER_BUDGET = "over time budget"

# Longest error text kept in the status column; the table stays readable.
_MAX_STATUS = 200

Progress = Callable[[str, int, int], Any]


def compare(
    data: Any,
    label: str | Sequence[Any],
    detectors: str | Sequence[str] | None = None,
    *,
    contamination: float | str = "auto",
    time_budget: float | None = None,
    random_state: int | None = 0,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Fit each detector on ``data`` and score it against the ``label`` column.

    Parameters
    ----------
    data:
        A path, URL or DataFrame (anything ``anomalyzer.read_table`` reads).
    label:
        The label column (kept out of the features), or one label per row.
    detectors:
        Names to compare; all of ``anomalyzer.detectors.available()`` by default.
    contamination:
        Passed to every ``Model``; decides the flags behind ``f1`` and ``n_flagged``.
    time_budget:
        Seconds allowed per detector (fit and score). Each detector then runs
        in a worker thread; one that overruns is reported as "over time budget"
        and the comparison moves on. A thread cannot be stopped from outside,
        so the overrunning fit finishes in the background and is discarded.
    random_state:
        Seed of the randomised detectors.
    progress:
        Called as ``progress(name, index, total)`` before each detector, where
        ``index`` counts the detectors already done.

    Returns
    -------
    One row per detector, best average precision (``ap``) first, with the
    columns in :data:`COLUMNS`. ``status`` is "ok", "error: <message>" or
    "over time budget"; the metrics of a row that is not "ok" are missing.

    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": np.r_[rng.normal(size=200), 8, -9, 10], "y": [0] * 200 + [1] * 3})
    >>> table = compare(df, "y", ["zscore", "mad"])
    >>> table[["detector", "ap", "status"]].round(2)
      detector   ap status
    0   zscore  1.0     ok
    1      mad  1.0     ok
    """
    check_contamination(contamination)
    if time_budget is not None and not (
        isinstance(time_budget, int | float) and math.isfinite(time_budget) and time_budget > 0
    ):
        raise AnomalyzerError(
            f"time_budget must be a positive number of seconds, not {time_budget!r}."
        )
    names = _detector_names(detectors)
    df = read_table(data)
    y = _labels(df, label)

    def run(name: str) -> dict[str, Any]:
        return _run_one(name, df, label, y, contamination, random_state)

    rows = []
    for index, name in enumerate(names):
        if progress is not None:
            progress(name, index, len(names))
        if time_budget is None:
            rows.append(run(name))
        else:
            rows.append(_within_budget(name, run, time_budget))
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype({"n_flagged": "Int64"})
    # A stable sort keeps the order of detectors with equal AP; failures go last.
    table = table.sort_values("ap", ascending=False, na_position="last", kind="stable")
    return table.reset_index(drop=True)


def _detector_names(detectors: str | Sequence[str] | None) -> list[str]:
    """Registry names in the order given, unknown names refused before any fitting."""
    if detectors is None:
        return registry.available()
    if isinstance(detectors, str):
        detectors = [detectors]
    names = list(dict.fromkeys(registry.spec(name).name for name in detectors))
    if not names:
        raise AnomalyzerError(
            f"Choose at least one detector to compare, from: {', '.join(registry.available())}."
        )
    return names


def _labels(df: pd.DataFrame, label: str | Sequence[Any]) -> np.ndarray:
    """Labels as 0/1, checked once here rather than once per detector."""
    if isinstance(label, str):
        if label not in df.columns:
            raise AnomalyzerError(
                f"Label column '{label}' not found; the columns are: "
                f"{', '.join(map(str, df.columns))}."
            )
        return _check_labels(df[label])
    values = pd.Series(np.asarray(label), name="label")
    if len(values) != len(df):
        raise AnomalyzerError(
            f"label has {len(values)} value(s) but the data has {len(df)} row(s); "
            "give one label per row or a column name."
        )
    return _check_labels(values)


def _run_one(
    name: str,
    df: pd.DataFrame,
    label: str | Sequence[Any],
    y: np.ndarray,
    contamination: float | str,
    random_state: int | None,
) -> dict[str, Any]:
    """Fit, score and evaluate one detector; any failure becomes an error row."""
    try:
        start = time.perf_counter()
        model = Model(name, contamination=contamination, random_state=random_state)
        model.fit(df, label=label)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        model.score(df)
        score_seconds = time.perf_counter() - start
        scores = np.asarray(model.training_scores_, dtype=np.float64)
        report = evaluate(y, scores, flags=scores > model.threshold_)
    except Exception as exc:  # one broken detector must not end the comparison
        return _failed(name, _error_status(exc))
    return {
        "detector": name,
        "roc_auc": report.roc_auc,
        "ap": report.average_precision,
        "best_f1": report.best_f1,
        "precision_at_k": report.precision_at_k,
        "f1": report.f1,
        "n_flagged": report.n_flagged,
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        "status": "ok",
    }


def _within_budget(
    name: str, run: Callable[[str], dict[str, Any]], budget: float
) -> dict[str, Any]:
    """``run(name)`` in a worker thread, or an "over time budget" row if it overruns."""
    result: list[dict[str, Any]] = []
    # A daemon thread, so an overrunning fit never keeps the interpreter from exiting.
    worker = threading.Thread(
        target=lambda: result.append(run(name)), name=f"anomalyzer-compare-{name}", daemon=True
    )
    worker.start()
    worker.join(budget)
    if worker.is_alive():
        return _failed(name, OVER_BUDGET)
    # Only an exception that is not an Exception (such as SystemExit) leaves no row.
    return result[0] if result else _failed(name, "error: the detector stopped without a result")


def _failed(name: str, status: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS, math.nan)
    row.update(detector=name, n_flagged=pd.NA, status=status)
    return row


def _error_status(exc: Exception) -> str:
    """``error: <message>`` on one line; the type is named unless it is a user mistake."""
    message = " ".join(str(exc).split())
    if not isinstance(exc, AnomalyzerError):
        message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if len(message) > _MAX_STATUS:
        message = message[: _MAX_STATUS - 3] + "..."
    return f"error: {message}"
