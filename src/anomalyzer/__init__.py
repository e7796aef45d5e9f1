"""anomalyzer: find what does not fit in tables and time series, and say why.

>>> import anomalyzer as az
>>> import pandas as pd
>>> result = az.detect(pd.DataFrame({"x": [1.0, 2, 1, 2, 1, 2, 1, 2, 40]}), "mad")
>>> result.anomalies["x"].tolist()
[40.0]
"""

from anomalyzer.api import detect, load, load_series, load_table
from anomalyzer.data import read_table
from anomalyzer.errors import AnomalyzerError
from anomalyzer.explore import ExploreReport, explore
from anomalyzer.model import Model
from anomalyzer.result import DetectionResult
from anomalyzer.timeseries.model import SeriesModel
from anomalyzer.timeseries.result import SeriesResult
from anomalyzer.version import __version__

__all__ = [
    "AnomalyzerError",
    "DetectionResult",
    "ExploreReport",
    "Model",
    "SeriesModel",
    "SeriesResult",
    "__version__",
    "detect",
    "explore",
    "load",
    "load_series",
    "load_table",
    "read_table",
]
