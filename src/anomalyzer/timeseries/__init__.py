"""Time series: one score per timestamp, under the same contract as tables.

The registry of series detectors mirrors :mod:`anomalyzer.detectors`:

>>> from anomalyzer import timeseries
>>> "auto" in timeseries.available()
True
>>> timeseries.make("rolling_z", window=50).window
50
"""

from __future__ import annotations

from typing import Any

from anomalyzer import detectors
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts, StreamScores


def available() -> list[str]:
    """Names of the series detectors, ``auto`` first."""
    return detectors.available(kind="series")


def describe() -> dict[str, str]:
    """What each series detector finds, by name."""
    return detectors.describe(kind="series")


def detector_class(name: str) -> type[SeriesDetector]:
    """The class registered under ``name``."""
    cls: type[SeriesDetector] = detectors.detector_class(name, kind="series")
    return cls


def make(name: str, **params: Any) -> SeriesDetector:
    """Build the series detector registered under ``name`` with ``params``."""
    det: SeriesDetector = detectors.make(name, kind="series", **params)
    return det


__all__ = [
    "SeriesDetector",
    "SeriesParts",
    "StreamScores",
    "available",
    "describe",
    "detector_class",
    "make",
]
