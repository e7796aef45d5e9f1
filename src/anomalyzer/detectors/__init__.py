"""The registry of detectors: ``available()`` lists names, ``make(name)`` builds one.

>>> from anomalyzer import detectors
>>> "iforest" in detectors.available()
True
>>> detectors.make("iforest", n_estimators=50).n_estimators
50
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

__all__ = ["BaseDetector", "DetectorSpec", "available", "describe", "make", "spec"]


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
                 "Copula-based outlier detection: empirical copula tail probabilities."),
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

_BY_NAME = {s.name: s for s in _SPECS}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available(labels: bool = False) -> list[str]:
    """Names of the detectors that can be built here (optional extras installed).

    Detectors that learn from labels are listed only with ``labels=True``.

    >>> "supervised" in available(), "supervised" in available(labels=True)
    (False, True)
    """
    return [
        s.name
        for s in _SPECS
        if all(_installed(m) for m in s.requires) and (labels or not s.labels)
    ]


def spec(name: str) -> DetectorSpec:
    """The registry entry for ``name``, or a clear error listing the valid names."""
    key = str(name).strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise AnomalyzerError(
        f"Unknown detector '{name}'; choose one of: {', '.join(available())}.{hint}"
    )


def describe(labels: bool = True) -> dict[str, str]:
    """One line per available detector (those that learn from labels too), for listings."""
    names = set(available(labels=labels))
    return {s.name: s.summary for s in _SPECS if s.name in names}


def detector_class(name: str) -> type[BaseDetector]:
    """The class behind ``name`` (imported on first use)."""
    s = spec(name)
    missing = [m for m in s.requires if not _installed(m)]
    if missing:
        raise AnomalyzerError(
            f"Detector '{s.name}' needs {', '.join(missing)}, which is not installed; "
            f"install it with: pip install 'anomalyzer[{missing[0]}]'."
        )
    module = importlib.import_module(f"anomalyzer.detectors.{s.module}")
    return getattr(module, s.cls)


def make(name: str, **params: Any) -> BaseDetector:
    """Build the detector ``name`` with ``params``; unknown parameters are named in the error."""
    cls = detector_class(name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise AnomalyzerError(
            f"Detector '{spec(name).name}' has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(accepted))}."
        )
    return cls(**params)


def accepts(name: str, param: str) -> bool:
    """Whether detector ``name`` takes the parameter ``param`` (e.g. ``random_state``)."""
    cls = detector_class(name)
    return param in inspect.signature(cls.__init__).parameters
