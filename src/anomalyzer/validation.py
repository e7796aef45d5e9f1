"""Checks at the edge of every detector: a 2-D finite float array, or a clear error."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from anomalyzer.errors import AnomalyzerError


def check_array(X: Any, *, n_features: int | None = None, min_rows: int = 1) -> np.ndarray:
    """Return ``X`` as a C-contiguous 2-D float64 array, or raise ``AnomalyzerError``.

    The input is never modified: a new array is returned whenever a conversion
    is needed.

    >>> check_array([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> check_array([1.0, 2.0])
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Expected a 2-D array of shape (rows, features) but got a 1-D array; reshape a single feature with X.reshape(-1, 1).
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        # Densifying silently could need far more memory than the user has.
        raise AnomalyzerError(
            "Expected a dense array but got a sparse matrix; convert it with X.toarray() "
            "if it fits in memory."
        )
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    if np.iscomplexobj(X):
        # numpy would drop the imaginary part with only a warning.
        raise AnomalyzerError(
            "Complex data not supported; pass the real part, the modulus or both as "
            "separate features."
        )
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AnomalyzerError(
            f"Expected numeric values but could not convert the input to numbers ({exc}); "
            "pass text and categories through anomalyzer.Model, which encodes them."
        ) from None
    if arr.ndim == 1:
        raise AnomalyzerError(
            "Expected a 2-D array of shape (rows, features) but got a 1-D array; "
            "reshape a single feature with X.reshape(-1, 1)."
        )
    if arr.ndim != 2:
        raise AnomalyzerError(
            f"Expected a 2-D array of shape (rows, features) but got {arr.ndim} dimensions."
        )
    if arr.shape[0] < min_rows:
        raise AnomalyzerError(
            f"Expected at least {min_rows} row(s) but got {arr.shape[0]} sample(s); pass more rows."
        )
    if arr.shape[1] == 0:
        raise AnomalyzerError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            "required; pass at least one feature column."
        )
    if n_features is not None and arr.shape[1] != n_features:
        raise AnomalyzerError(
            f"X has {arr.shape[1]} features, but it is expecting {n_features} features as "
            "input (those it was fitted on); score data with the same columns."
        )
    if not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        kind = "NaN" if np.isnan(arr[bad]).any() else "infinite values"
        rows, cols = np.nonzero(bad)
        raise AnomalyzerError(
            f"Input contains {kind} (first at row {rows[0]}, feature {cols[0]}); "
            "impute them first or use anomalyzer.Model, which handles missing values."
        )
    return np.ascontiguousarray(arr)


def check_contamination(contamination: Any) -> float | str:
    """Validate ``contamination``: a float in (0, 0.5) or ``"auto"``.

    >>> check_contamination("auto")
    'auto'
    >>> check_contamination(0.6)
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: contamination must be a number between 0 and 0.5 (exclusive) or 'auto', got 0.6.
    """
    if isinstance(contamination, str):
        if contamination.strip().lower() == "auto":
            return "auto"
        try:
            contamination = float(contamination)
        except ValueError:
            pass
    if (
        isinstance(contamination, numbers.Real)
        and not isinstance(contamination, bool)
        and 0.0 < float(contamination) < 0.5
    ):
        return float(contamination)
    raise AnomalyzerError(
        "contamination must be a number between 0 and 0.5 (exclusive) or 'auto', "
        f"got {contamination!r}."
    )


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Validate an integer parameter, naming it in the error.

    >>> check_int("n_neighbors", 0)
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: n_neighbors must be an integer >= 1, got 0.
    """
    if (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and int(value) >= minimum
    ):
        return int(value)
    raise AnomalyzerError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def check_float(
    name: str, value: Any, *, low: float | None = None, high: float | None = None
) -> float:
    """Validate a real parameter in the open interval (low, high).

    >>> check_float("nu", 1.5, low=0, high=1)
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: nu must be a number in (0, 1), got 1.5.
    """
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and bool(np.isfinite(float(value)))
    )
    if ok and low is not None and not value > low:
        ok = False
    if ok and high is not None and not value < high:
        ok = False
    if ok:
        return float(value)
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    raise AnomalyzerError(f"{name} must be a number in ({lo}, {hi}), got {value!r}.")


def check_frame(data: Any) -> None:
    """Refuse anything but a pandas DataFrame, saying how to read a file.

    >>> check_frame([1, 2])
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Expected a pandas DataFrame but got list; read files with anomalyzer.data.read_table first.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise AnomalyzerError(
            f"Expected a pandas DataFrame but got {type(data).__name__}; "
            "read files with anomalyzer.data.read_table first."
        )
