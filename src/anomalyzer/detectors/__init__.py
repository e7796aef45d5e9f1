"""The one registry of detectors, table and series: ``available()`` lists names, ``make(name)`` builds one.

Each entry has a ``kind``: ``"table"`` detectors score rows of a feature
matrix, ``"series"`` detectors score the points of a regular series (and
stream). Both share the contract of :class:`~anomalyzer.detectors.base.BaseDetector`
(``fit``, ``decision_function``, ``decision_scores_``, ``threshold_``,
``predict``, ``explain``, scikit-learn parameters); series detectors add
causal state, ``update`` and bands. ``anomalyzer.timeseries.available()`` and
``make()`` are this registry's series entries.

>>> from anomalyzer import detectors
>>> "iforest" in detectors.available()
True
>>> detectors.make("iforest", n_estimators=50).n_estimators
50
>>> detectors.make("rolling_z", window=50).window
50
>>> detectors.spec("auto", kind="series").cls
'SeriesAuto'
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from typing import Any

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError

__all__ = [
    "BaseDetector",
    "DetectorSpec",
    "available",
    "describe",
    "make",
    "name_of",
    "spec",
    "specs",
]


@dataclass(frozen=True)
class DetectorSpec:
    """Where a detector lives, what it needs, and one line on what it does."""

    name: str
    module: str
    cls: str
    family: str
    summary: str
    requires: tuple[str, ...] = field(default=())
    #: Learns from labels: ``fit(X, y)`` needs ``y`` (1 = anomaly, 0 = normal).
    labels: bool = False
    #: ``"table"`` (rows of a feature matrix) or ``"series"`` (points of a series).
    kind: str = "table"
    #: Series detectors whose ``period`` takes one period, not a list.
    single_period: bool = False
    #: Series detectors whose scores are distances between windows, not residuals
    #: in robust standard deviations.
    distance: bool = False

    @property
    def import_path(self) -> str:
        """The dotted path of the class, as model files record it."""
        package = "detectors" if self.kind == "table" else "timeseries"
        return f"anomalyzer.{package}.{self.module}.{self.cls}"


_SPECS: tuple[DetectorSpec, ...] = (
    DetectorSpec("auto", "auto", "Auto", "ensembles",
                 "A committee chosen from the data's shape, scores robustly scaled and averaged."),
    DetectorSpec("zscore", "statistical", "ZScore", "statistical",
                 "Largest absolute z-score over the features (mean and standard deviation)."),
    DetectorSpec("mad", "statistical", "MAD", "statistical",
                 "Largest robust z-score over the features (median and median absolute deviation)."),
    DetectorSpec("iqr", "statistical", "IQR", "statistical",
                 "Distance outside Tukey's fences, in interquartile ranges, over the features."),
    DetectorSpec("hbos", "hbos", "HBOS", "statistical",
                 "Histogram-based outlier score: sum of per-feature negative log densities."),
    DetectorSpec("ecod", "copula", "ECOD", "statistical",
                 "Empirical-CDF outlier detection: per-feature tail probabilities, no parameters."),
    DetectorSpec("copod", "copula", "COPOD", "statistical",
                 "Copula-based outlier detection: skewness-side or mean tail, per feature (as PyOD)."),
    DetectorSpec("iforest", "iforest", "IForest", "trees",
                 "Isolation forest: rows isolated by few random splits are anomalous."),
    DetectorSpec("lof", "neighbors", "LOF", "proximity",
                 "Local outlier factor: density relative to the row's neighbours."),
    DetectorSpec("knn", "neighbors", "KNN", "proximity",
                 "Distance to the k-th nearest neighbour among normal data."),
    DetectorSpec("ocsvm", "ocsvm", "OCSVM", "linear",
                 "One-class SVM with an RBF kernel (approximated with random features on big data)."),
    DetectorSpec("gmm", "density", "GMM", "density",
                 "Gaussian mixture: negative log-likelihood under a mixture fitted to the data."),
    DetectorSpec("kde", "density", "KDE", "density",
                 "Kernel density estimate: negative log density around each row."),
    DetectorSpec("cblof", "clustering", "CBLOF", "clustering",
                 "Cluster-based local outlier factor: distance to the nearest large cluster."),
    DetectorSpec("dbscan", "clustering", "DBSCAN", "clustering",
                 "Density-based clustering: distance to the nearest core point."),
    DetectorSpec("pca", "linear", "PCA", "linear",
                 "Reconstruction error outside the principal subspace, weighted by variance."),
    DetectorSpec("mahalanobis", "linear", "Mahalanobis", "linear",
                 "Mahalanobis distance under a robust (minimum covariance determinant) covariance."),
    DetectorSpec("loda", "loda", "LODA", "ensembles",
                 "Lightweight on-line detector of anomalies: histograms on random projections."),
    DetectorSpec("autoencoder", "autoencoder", "AutoEncoder", "neural",
                 "Neural autoencoder (PyTorch): reconstruction error per row.",
                 requires=("torch",)),
    DetectorSpec("supervised", "supervised", "Supervised", "supervised",
                 "Gradient-boosted trees on the features plus unsupervised scores (XGBOD); needs labels.",
                 labels=True),
    DetectorSpec("semi", "supervised", "SemiSupervised", "supervised",
                 "Novelty detection: kNN fitted on rows labelled normal, boosted near known anomalies.",
                 labels=True),
)  # fmt: skip

_SERIES_SPECS: tuple[DetectorSpec, ...] = tuple(
    DetectorSpec(name, module, cls, "series", summary, kind="series",
                 single_period=bool(extra.get("single_period", False)),
                 distance=bool(extra.get("distance", False)),
                 requires=("torch",) if extra.get("torch", False) else ())
    for name, module, cls, summary, extra in (
        ("auto", "auto", "SeriesAuto", "a committee chosen from the series' profile (default)", {}),
        ("rolling_z", "rolling", "RollingZ", "spikes and dips: rolling robust z", {}),
        ("stl", "decomposition", "SeasonalDecomposition", "points off their season: STL + ESD", {}),
        ("forecast", "forecast", "ForecastBand", "points outside a Holt-Winters forecast band",
         {"single_period": True}),
        ("level_shift", "changes", "LevelShift", "sudden changes of level", {}),
        ("variance_change", "changes", "VarianceChange", "changes of volatility, stuck values", {}),
        ("matrix_profile", "matrix_profile", "MatrixProfile",
         "odd shapes: matrix-profile discords", {"distance": True}),
        ("window", "windows", "WindowDetector", "any table detector over sliding windows",
         {"distance": True}),
        ("neural", "neural", "NeuralForecast",
         "points off a learned forecast: a temporal convolution network (needs torch)",
         {"torch": True}),
    )
)  # fmt: skip
_ALL: tuple[DetectorSpec, ...] = _SPECS + _SERIES_SPECS
_KINDS = ("table", "series")
_BY_KEY = {(s.kind, s.name): s for s in _ALL}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise AnomalyzerError(f"kind is {kind!r}; use 'table' or 'series'.")
    return kind


def specs(kind: str = "table") -> tuple[DetectorSpec, ...]:
    """Every registry entry of ``kind``, whether or not its extra is installed here."""
    _check_kind(kind)
    return tuple(s for s in _ALL if s.kind == kind)


def available(labels: bool = False, kind: str = "table") -> list[str]:
    """Names of the detectors of ``kind`` that can be built here (optional extras installed).

    Detectors that learn from labels are listed only with ``labels=True``.

    >>> "supervised" in available(), "supervised" in available(labels=True)
    (False, True)
    >>> available(kind="series")[:2]
    ['auto', 'rolling_z']
    """
    return [
        s.name
        for s in specs(kind)
        if all(_installed(m) for m in s.requires) and (labels or not s.labels)
    ]


def spec(name: str, kind: str | None = None) -> DetectorSpec:
    """The registry entry for ``name`` of ``kind``, or a clear error listing the valid names.

    Without ``kind``, a table detector of that name, else a series detector.
    """
    key = str(name).strip().lower()
    if kind is None:
        kind = "table" if ("table", key) in _BY_KEY or ("series", key) not in _BY_KEY else "series"
    if (_check_kind(kind), key) in _BY_KEY:
        return _BY_KEY[kind, key]
    names = [s.name for s in specs(kind)]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    what = "detector" if kind == "table" else "time-series detector"
    raise AnomalyzerError(
        f"Unknown {what} '{name}'; choose one of: {', '.join(available(kind=kind))}.{hint}"
    )


def describe(labels: bool = True, kind: str = "table") -> dict[str, str]:
    """One line per available detector of ``kind`` (those that learn from labels too), for listings."""
    names = set(available(labels=labels, kind=kind))
    return {s.name: s.summary for s in specs(kind) if s.name in names}


def detector_class(name: str, kind: str | None = None) -> type[Any]:
    """The class behind ``name`` (imported on first use)."""
    s = spec(name, kind)
    missing = [m for m in s.requires if not _installed(m)]
    if missing:
        raise AnomalyzerError(
            f"Detector '{s.name}' needs {', '.join(missing)}, which is not installed; "
            f"install it with: pip install 'anomalyzer[{missing[0]}]'."
        )
    module, _, cls = s.import_path.rpartition(".")
    return getattr(importlib.import_module(module), cls)


def make(name: str, kind: str | None = None, **params: Any) -> Any:
    """Build the detector ``name`` of ``kind`` with ``params``; unknown parameters are named in the error."""
    cls = detector_class(name, kind)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise AnomalyzerError(
            f"Detector '{spec(name, kind).name}' has no parameter "
            f"{', '.join(map(repr, unknown))}; its parameters are: {', '.join(sorted(accepted))}."
        )
    return cls(**params)


def accepts(name: str, param: str, kind: str | None = None) -> bool:
    """Whether detector ``name`` takes the parameter ``param`` (e.g. ``random_state``)."""
    cls = detector_class(name, kind)
    return param in inspect.signature(cls.__init__).parameters


def name_of(detector: Any) -> str:
    """The registry name of a detector instance (its class name when not registered).

    >>> name_of(make("iforest")), name_of(make("auto", kind="series"))
    ('iforest', 'auto')
    """
    path = f"{type(detector).__module__}.{type(detector).__qualname__}"
    for s in _ALL:
        if s.import_path == path:
            return s.name
    return type(detector).__name__
