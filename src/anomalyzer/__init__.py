"""anomalyzer: find what does not fit in tables and time series, and say why."""

from anomalyzer.errors import AnomalyzerError

__version__ = "0.1.0"
__all__ = ["AnomalyzerError", "__version__"]
