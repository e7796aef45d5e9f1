"""Time series: one score per timestamp, under the same contract as tables.

The registry of series detectors mirrors :mod:`anomalyzer.detectors`:

>>> from anomalyzer import timeseries
>>> "auto" in timeseries.available()
True
>>> timeseries.make("rolling_z", window=50).window
50
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts, StreamScores


@dataclass(frozen=True)
class SeriesDetectorSpec:
    """Where a series detector lives and what it finds."""

    name: str
    module: str
    cls: str
    finds: str


_SPECS = (
    SeriesDetectorSpec(
        "auto", "auto", "SeriesAuto", "a committee chosen from the series' profile (default)"
    ),
    SeriesDetectorSpec("rolling_z", "rolling", "RollingZ", "spikes and dips: rolling robust z"),
    SeriesDetectorSpec(
        "stl", "decomposition", "SeasonalDecomposition", "points off their season: STL + ESD"
    ),
    SeriesDetectorSpec(
        "forecast", "forecast", "ForecastBand", "points outside a Holt-Winters forecast band"
    ),
    SeriesDetectorSpec("level_shift", "changes", "LevelShift", "sudden changes of level"),
    SeriesDetectorSpec(
        "variance_change", "changes", "VarianceChange", "changes of volatility, stuck values"
    ),
    SeriesDetectorSpec(
        "matrix_profile", "matrix_profile", "MatrixProfile", "odd shapes: matrix-profile discords"
    ),
    SeriesDetectorSpec(
        "window", "windows", "WindowDetector", "any table detector over sliding windows"
    ),
)
_BY_NAME = {s.name: s for s in _SPECS}


def available() -> list[str]:
    """Names of the series detectors, ``auto`` first."""
    return [s.name for s in _SPECS]


def describe() -> dict[str, str]:
    """What each series detector finds, by name."""
    return {s.name: s.finds for s in _SPECS}


def detector_class(name: str) -> type[SeriesDetector]:
    """The class registered under ``name``."""
    if name not in _BY_NAME:
        raise AnomalyzerError(
            f"Unknown time-series detector {name!r}; choose one of: {', '.join(available())}."
        )
    spec = _BY_NAME[name]
    module = importlib.import_module(f"anomalyzer.timeseries.{spec.module}")
    return getattr(module, spec.cls)


def make(name: str, **params: Any) -> SeriesDetector:
    """Build the series detector registered under ``name`` with ``params``."""
    cls = detector_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise AnomalyzerError(f"Bad parameter for time-series detector {name!r}: {exc}.") from None


__all__ = [
    "SeriesDetector",
    "SeriesParts",
    "StreamScores",
    "available",
    "describe",
    "detector_class",
    "make",
]
