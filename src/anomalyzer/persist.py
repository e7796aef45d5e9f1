"""Model files that cannot run code when loaded: ``save_model(model, path)`` and ``load(path)``.

A model file is a zip archive with two entries:

- ``manifest.json``: the format name and version, the versions of anomalyzer,
  numpy, scikit-learn, pandas and skops that wrote it, the model's settings
  (detector name and parameters, contamination, excluded columns, roles), the
  input schema, the preprocessor's whole state (plain JSON, see
  :meth:`~anomalyzer.data.Preprocessor.get_state`), the threshold, statistics
  of the training scores, analysts' labels (``feedback``, when there are any),
  the training sketches drift monitoring compares new data with
  (:mod:`anomalyzer.data.sketches`), and SHA-256 digests;
- ``detector.skops``: the fitted detector written with :mod:`skops.io`.

Why skops and not plain arrays: every detector is an sklearn estimator whose
learned state is numpy arrays, but some hold objects that are not arrays
(neighbour methods keep an index with a fitted ``NearestNeighbors`` and its
``KDTree``). skops rebuilds such objects from their array state without
pickle, and refuses any type not in an explicit list, so one mechanism covers
every registered detector and any array-only detector added later. Loading passes
skops only :data:`ALLOWED_TYPES` (our detector classes and the sklearn, numpy
and builtin types they hold), never ``trusted=True``; saving checks that the
file needs nothing beyond that list, so a model that could not be loaded back
is never written. No pickle is read or written anywhere: skops stores arrays
with ``numpy.save`` (object arrays are refused), the rest is JSON.

The digests tell a damaged or edited file from a good one: ``payload.sha256``
covers ``detector.skops`` and ``digest`` covers the manifest (without itself)
together with the payload. A random zip, a text file, a pickle, a truncated or
edited model file is refused with one sentence, as an :class:`AnomalyzerError`.
The digests catch accidents, not forgers; safety comes from the allowlist.

>>> import tempfile, pandas as pd
>>> from anomalyzer import Model
>>> df = pd.DataFrame({"x": [1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 9.0] * 3, "k": list("aab") * 7})
>>> model = Model("mad").fit(df)
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = save_model(model, f"{tmp}/m.azm")
...     again = load(f"{tmp}/m.azm")
>>> bool((again.score(df) == model.score(df)).all()), again.detector_name
(True, 'mad')
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from anomalyzer import detectors
from anomalyzer.data import Preprocessor
from anomalyzer.data.limits import check_zip_inflation, read_zip_entry
from anomalyzer.destinations import check_destination
from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.fitted import FittedSeries
from anomalyzer.version import __version__

if TYPE_CHECKING:
    from anomalyzer.model import Model
    from anomalyzer.timeseries.model import SeriesModel

__all__ = [
    "ALLOWED_TYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "SERIES_ALLOWED_TYPES",
    "load",
    "read_manifest",
    "save_model",
]

FORMAT = "anomalyzer-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOAD = "detector.skops"
# Quantiles of the training scores kept in the manifest: enough to place a new
# score in the training distribution (and to watch for drift) without the scores.
SCORE_QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0)
# Entries declaring more than this (uncompressed) are refused before reading; the
# declared size is only a first filter: every entry is also inflated within the
# limits of anomalyzer.data.limits, counting the bytes it really produces.
_MAX_ENTRY_BYTES = 8 << 30

# Helper classes of our detectors (the detector classes come from the registry).
_HELPER_TYPES = ("anomalyzer.detectors.neighbors.NeighborIndex",)
# sklearn and numpy types that detectors hold: fitted estimators, the Cython
# trees and metrics inside neighbour searches, and the array-only tree predictors
# of gradient boosting (the supervised detector).
_LIBRARY_TYPES = (
    "sklearn.neighbors._unsupervised.NearestNeighbors",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kde.KernelDensity",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.SEuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.mixture._gaussian_mixture.GaussianMixture",
    "sklearn.covariance._robust_covariance.MinCovDet",
    "sklearn.covariance._empirical_covariance.EmpiricalCovariance",
    "sklearn.decomposition._pca.PCA",
    "sklearn.cluster._kmeans.KMeans",
    "sklearn.cluster._kmeans.MiniBatchKMeans",
    "sklearn.svm._classes.OneClassSVM",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.float32",
    "numpy.int64",
    "numpy.int32",
    "numpy.bool_",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
)


def _detector_types() -> tuple[str, ...]:
    # Every registered detector, whether or not its optional extra is installed
    # here: a model fitted elsewhere can be scored without the extra.
    return tuple(s.import_path for s in detectors.specs("table"))


#: The only types a model file may contain; passed to ``skops.io.loads``.
ALLOWED_TYPES: tuple[str, ...] = (*_detector_types(), *_HELPER_TYPES, *_LIBRARY_TYPES)

#: A series model file (``"kind": "series"`` in its manifest) holds one series
#: detector per series; these are the only types its payload may contain: the
#: series detectors (the committee's members are registered detectors too),
#: and what a table model may hold, for the window detector's inner one.
SERIES_KIND = "series"
TABLE_KIND = "table"
# The model class of each kind, registered by the class itself (see model_kind), so
# this module sits below the models it saves instead of importing them.
_MODEL_CLASSES: dict[str, type] = {}
_T = TypeVar("_T", bound=type)


def model_kind(kind: str) -> Callable[[_T], _T]:
    """Class decorator: ``kind`` files are rebuilt as instances of the decorated class."""

    def register(cls: _T) -> _T:
        cls.kind = kind  # type: ignore[attr-defined]
        _MODEL_CLASSES[kind] = cls
        return cls

    return register


def _series_types() -> tuple[str, ...]:
    return tuple(s.import_path for s in detectors.specs("series"))


SERIES_ALLOWED_TYPES: tuple[str, ...] = (*_series_types(), *ALLOWED_TYPES)


# -- saving ------------------------------------------------------------------------------


def save_model(model: Model | SeriesModel, path: str | os.PathLike[str]) -> Path:
    """Write the fitted ``model`` to ``path`` (conventionally ``*.azm``) and return the path.

    The file is written next to its destination and moved into place, so a
    failed save never leaves half a file behind.
    """
    import skops.io as sio

    kind = getattr(type(model), "kind", None)
    if kind == SERIES_KIND:
        return _save_series(cast("SeriesModel", model), path)
    if kind != TABLE_KIND:
        raise AnomalyzerError(
            f"save_model needs an anomalyzer Model or SeriesModel, not a {type(model).__name__}."
        )
    return _save_table(cast("Model", model), path, sio)


def _save_table(model: Model, path: str | os.PathLike[str], sio: Any) -> Path:
    model._check_fitted()
    path = Path(path)
    _check_destination(path)
    detector = model.detector_
    class_path = _type_path(type(detector))
    name = _registry_name(class_path)
    payload = sio.dumps(detector, compression=zipfile.ZIP_DEFLATED)
    extra = sorted(set(sio.get_untrusted_types(data=payload)) - set(ALLOWED_TYPES))
    if extra:
        raise AnomalyzerError(
            f"Cannot save this model: its detector holds {', '.join(extra)}, which model files "
            "do not allow; use a detector from anomalyzer.detectors.available()."
        )
    manifest = _manifest(model, name, class_path, payload)
    _write_zip(path, manifest, payload)
    return path


def _check_destination(path: Path) -> None:
    check_destination(path, "model file")


def _registry_name(class_path: str) -> str:
    for s in detectors.specs("table"):
        if s.import_path == class_path:
            return s.name
    raise AnomalyzerError(
        f"Cannot save a model whose detector is {class_path}: model files hold only the "
        "detectors of anomalyzer.detectors.available()."
    )


def _manifest(model: Model, name: str, class_path: str, payload: bytes) -> dict[str, Any]:
    import pandas as pd
    import sklearn
    import skops

    scores = np.asarray(model.training_scores_, dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    quantiles = np.quantile(finite, SCORE_QUANTILES) if finite.size else [math.nan] * 12
    if isinstance(model.detector, str):
        params = _json_params(model.params, strict=True)
    else:  # built from an instance: its parameters rebuild it by name
        params = _json_params(model.detector_.get_params(deep=False), strict=False)
        params.pop("contamination", None)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": {
            "anomalyzer": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "skops": skops.__version__,
        },
        "model": {
            "detector": name,
            "contamination": model.contamination,
            "exclude": [str(c) for c in model.exclude],
            "roles": {str(k): str(v) for k, v in model.roles.items()},
            "random_state": model.random_state,
            "params": params,
            "label": model.label_,
        },
        "detector": {
            "name": name,
            "class": class_path,
            "params": _json_params(model.detector_.get_params(deep=False), strict=False),
        },
        "threshold": float(model.threshold_),
        "training": {
            "n_rows": int(model.n_rows_),
            "n_flagged": int((scores > model.threshold_).sum()),
            "score_mean": float(finite.mean()) if finite.size else None,
            "score_std": float(finite.std()) if finite.size else None,
            "score_quantiles": {
                f"{q:g}": float(v) for q, v in zip(SCORE_QUANTILES, quantiles, strict=True)
            },
        },
        "schema": model.schema.to_dict(),
        "preprocessor": model.preprocessor_.get_state(),
        # Column sketches, score sketch and encoded sample rows (plain JSON): drift monitoring.
        "sketch": getattr(model, "sketch_", None),
        "payload": {
            "name": PAYLOAD,
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        },
    }
    if getattr(model, "feedback_", None):
        manifest["feedback"] = [dict(record) for record in model.feedback_]
    manifest["digest"] = _digest(manifest, payload)
    return manifest


def _json_params(params: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        try:
            out[str(key)] = _plain(value)
        except TypeError:
            if strict:
                raise AnomalyzerError(
                    f"Cannot save this model: parameter {key}={value!r} is not a number, text "
                    "or list; model files hold plain parameter values only."
                ) from None
            out[str(key)] = repr(value)
    return out


def _plain(value: Any) -> Any:
    """``value`` as JSON data (numpy scalars to Python, tuples to lists), or TypeError."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def _canonical(manifest: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()


def _digest(manifest: Mapping[str, Any], payload: bytes) -> str:
    h = hashlib.sha256(_canonical(manifest))
    h.update(b"\0")
    h.update(payload)
    return h.hexdigest()


def _write_zip(path: Path, manifest: Mapping[str, Any], payload: bytes) -> None:
    text = json.dumps(manifest, indent=1, allow_nan=True).encode()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            zf.writestr(MANIFEST, text, compress_type=zipfile.ZIP_DEFLATED)
            # Already compressed by skops: stored as is.
            zf.writestr(PAYLOAD, payload, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write model file '{path}': {exc.strerror or exc}.") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# -- loading -----------------------------------------------------------------------------


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the model file at ``path``, checked against its digests."""
    return _open(Path(path))[0]


def load(path: str | os.PathLike[str]) -> Model | SeriesModel:
    """Read a model written by :func:`save_model`; nothing in the file is executed.

    A file that is not a model file, or one that was damaged or edited since it
    was written, is refused with an :class:`AnomalyzerError` naming the file.
    A model saved with other numpy or scikit-learn versions loads with a warning.
    """

    path = Path(path)
    manifest, payload = _open(path)
    shown = f"Model file '{path}'"
    if manifest.get("kind") == SERIES_KIND:
        return _load_series(manifest, payload, shown)
    detector = _read_payload(payload, ALLOWED_TYPES, shown, "its detector")
    try:
        model = _rebuild(manifest, detector)
    except AnomalyzerError as exc:
        raise AnomalyzerError(f"{shown} cannot be used: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnomalyzerError(
            f"{shown} has an incomplete manifest ({type(exc).__name__}: {_short(exc)}); "
            "save the model again."
        ) from None
    _warn_versions(shown, manifest.get("versions", {}))
    return model


def _open(path: Path) -> tuple[dict[str, Any], bytes]:
    """Manifest and payload of a model file, or one clear error about what is wrong."""
    shown = f"Model file '{path}'"
    if not path.exists():
        raise AnomalyzerError(f"{shown} was not found; check the path.")
    if path.is_dir():
        raise AnomalyzerError(f"'{path}' is a directory, not a model file; pass a .azm file.")
    not_model = (
        f"{shown} is not an anomalyzer model file (or it is truncated); "
        "pass a file written by `anomalyzer detect --save` or Model.save()."
    )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if MANIFEST not in names:
                raise AnomalyzerError(not_model)
            for info in zf.infolist():
                if info.file_size > _MAX_ENTRY_BYTES:
                    raise AnomalyzerError(
                        f"{shown} is not a model file: {info.filename} is too large."
                    )
            # Entries are inflated chunk by chunk and refused as soon as they grow
            # like a compression bomb: the sizes the header declares are not trusted.
            manifest = json.loads(read_zip_entry(zf, zf.getinfo(MANIFEST), shown).decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise AnomalyzerError(not_model)
            version = manifest.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise AnomalyzerError(
                    f"{shown} uses model format version {version!r}, newer than this anomalyzer "
                    f"reads ({FORMAT_VERSION}); upgrade anomalyzer to load it."
                )
            if PAYLOAD not in names:
                raise AnomalyzerError(f"{shown} is damaged: it has no {PAYLOAD}; save it again.")
            payload = read_zip_entry(zf, zf.getinfo(PAYLOAD), shown)
    except AnomalyzerError:
        raise
    except PermissionError:
        raise AnomalyzerError(f"{shown} cannot be opened (permission denied).") from None
    except MemoryError:
        raise AnomalyzerError(
            f"{shown} does not fit in the memory available; it was not loaded."
        ) from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,  # an unknown zip version or compression method
        UnicodeDecodeError,
        ValueError,
    ):
        # ValueError covers broken JSON (JSONDecodeError) and odd zip headers alike.
        raise AnomalyzerError(not_model) from None
    except OSError as exc:
        raise AnomalyzerError(f"{shown} cannot be read: {exc.strerror or exc}.") from None
    expected = manifest.get("payload", {})
    if (
        not isinstance(expected, dict)
        or expected.get("sha256") != hashlib.sha256(payload).hexdigest()
        or manifest.get("digest") != _digest(manifest, payload)
    ):
        raise AnomalyzerError(
            f"{shown} was modified or damaged after it was saved (its SHA-256 checksum does not "
            "match); it was not loaded."
        )
    return manifest, payload


def _rebuild(manifest: Mapping[str, Any], detector: Any) -> Model:
    expected = manifest["detector"]["class"]
    if not isinstance(detector, BaseDetector) or _type_path(type(detector)) != expected:
        raise AnomalyzerError(f"its detector is not the {expected} the manifest names.")
    settings = manifest["model"]
    preprocessor = Preprocessor.from_state(manifest["preprocessor"])
    # Built without Model.__init__: the fitted detector is restored as saved, so the
    # extras needed only to fit it (torch for the autoencoder) are not required here.
    cls: Any = _MODEL_CLASSES[TABLE_KIND]
    model = cls.__new__(cls)
    model.detector = str(settings["detector"])
    model.contamination = settings["contamination"]
    model.exclude = tuple(settings["exclude"])
    model.roles = dict(settings["roles"])
    model.random_state = settings["random_state"]
    model.params = dict(settings["params"])
    model.preprocessor_ = preprocessor
    model.detector_ = detector
    model.label_ = settings["label"]
    model.threshold_ = float(manifest["threshold"])
    model.training_scores_ = detector.decision_scores_
    model.n_rows_ = int(manifest["training"]["n_rows"])
    model.feedback_ = [dict(record) for record in manifest.get("feedback", [])]
    if manifest.get("sketch") is not None:  # files written before sketches have none
        model.sketch_ = dict(manifest["sketch"])
    return model


def _warn_versions(shown: str, saved: Mapping[str, Any]) -> None:
    import sklearn

    for name, here in (("numpy", np.__version__), ("scikit-learn", sklearn.__version__)):
        then = str(saved.get(name, ""))
        if then.split(".")[:2] != here.split(".")[:2]:
            warnings.warn(
                f"{shown} was saved with {name} {then or 'unknown'} and this is {here}; "
                "scores may differ slightly.",
                UserWarning,
                stacklevel=3,
            )


def _type_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


# -- series models -----------------------------------------------------------------------
#
# The manifest holds the settings and, per series, its key, grid step, time
# zone, channels, periods, threshold, notes and where its stream stands (the
# last timestamp and the points seen); the payload holds the fitted detectors
# and each series' last points (values and times as int64 nanoseconds), which
# the reasons of streamed points are measured against. The points the model
# was fitted on are not kept: the file is for scoring and streaming.


def _save_series(model: SeriesModel, path: str | os.PathLike[str]) -> Path:
    import skops.io as sio

    model._check_fitted()
    path = Path(path)
    _check_destination(path)
    series = list(model.series_.values())
    state = {
        "detectors": [s.detector for s in series],
        "tail_values": [_array(s.tail_values) for s in series],
        "tail_index": [_ns(s.tail_index) for s in series],
    }
    payload = sio.dumps(state, compression=zipfile.ZIP_DEFLATED)
    extra = sorted(set(sio.get_untrusted_types(data=payload)) - set(SERIES_ALLOWED_TYPES))
    if extra:
        raise AnomalyzerError(
            f"Cannot save this model: it holds {', '.join(extra)}, which model files do not "
            "allow; use a detector from anomalyzer.timeseries.available()."
        )
    manifest = _series_manifest(model, series, payload)
    _write_zip(path, manifest, payload)
    return path


def _series_manifest(
    model: SeriesModel, series: list[FittedSeries], payload: bytes
) -> dict[str, Any]:
    import pandas as pd
    import sklearn
    import skops

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": SERIES_KIND,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": {
            "anomalyzer": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "skops": skops.__version__,
        },
        "model": {
            "detector": model.detector,
            "contamination": model.contamination,
            "causal": model.causal,
            "fill": model.fill,
            "freq": None if model.freq is None else str(model.freq),
            "params": _json_params(model.params, strict=True),
            "time": model.time_,
            "group": model.group_,
            "label": model.label_,
            "channels": [str(c) for c in model.channels_],
            "n_rows": int(model.n_rows_),
            "notes": [str(n) for n in model.notes],
        },
        "series": [
            {
                "key": _json_key(s.key),
                "freq_ns": int(pd.Timedelta(s.freq).value),
                "tz": None if s.index.tz is None else str(s.index.tz),
                "channels": [str(c) for c in s.channels],
                "periods": [int(p) for p in s.periods],
                "threshold": s.threshold,
                "notes": [str(n) for n in s.notes],
                "last": None if s.last is None else pd.Timestamp(s.last).isoformat(),
                "seen": int(s.seen),
            }
            for s in series
        ],
        "payload": {
            "name": PAYLOAD,
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        },
    }
    manifest["digest"] = _digest(manifest, payload)
    return manifest


def _read_payload(payload: bytes, allowed: Any, shown: str, what: str) -> Any:
    """The skops payload rebuilt from the allowlisted types only, or one clear error."""
    # The payload is itself a zip (skops's), inflated whole by skops: its entries are
    # first inflated and counted without being kept, so a bomb inside is refused too.
    check_zip_inflation(payload, shown)
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(payload, trusted=list(allowed))
    except UntrustedTypesFoundException as exc:
        raise AnomalyzerError(
            f"{shown} holds types that model files may not contain ({_short(exc)}); "
            "it was not loaded."
        ) from None
    except Exception as exc:  # anything skops cannot rebuild is damage, whatever its kind
        raise AnomalyzerError(
            f"{shown} is damaged: {what} cannot be read ({type(exc).__name__}); "
            "save the model again."
        ) from None


def _load_series(manifest: Mapping[str, Any], payload: bytes, shown: str) -> SeriesModel:

    state = _read_payload(payload, SERIES_ALLOWED_TYPES, shown, "its detectors")
    try:
        model = _rebuild_series(manifest, state)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise AnomalyzerError(
            f"{shown} has an incomplete manifest ({type(exc).__name__}: {_short(exc)}); "
            "save the model again."
        ) from None
    _warn_versions(shown, manifest.get("versions", {}))
    return model


def _rebuild_series(manifest: Mapping[str, Any], state: Mapping[str, Any]) -> SeriesModel:
    import pandas as pd

    from anomalyzer.timeseries.base import SeriesDetector

    settings = manifest["model"]
    # Built without SeriesModel.__init__: the fitted detectors are restored as saved.
    cls: Any = _MODEL_CLASSES[SERIES_KIND]
    model = cls.__new__(cls)
    model.detector = str(settings["detector"])
    model.contamination = settings["contamination"]
    model.causal = bool(settings["causal"])
    model.fill = settings["fill"]
    model.freq = settings["freq"]
    model.n_jobs = None
    model.params = dict(settings["params"])
    model.time_ = settings["time"]
    model.group_ = settings["group"]
    model.label_ = settings["label"]
    model.channels_ = list(settings["channels"])
    model.n_rows_ = int(settings["n_rows"])
    model.notes_ = list(settings["notes"])
    model.series_ = {}
    entries = manifest["series"]
    detectors, tails, stamps = state["detectors"], state["tail_values"], state["tail_index"]
    if not (len(entries) == len(detectors) == len(tails) == len(stamps)):
        raise ValueError("the manifest and the payload list different numbers of series")
    for entry, det, tail, ns in zip(entries, detectors, tails, stamps, strict=True):
        if det is not None and not isinstance(det, SeriesDetector):
            raise TypeError(f"a series holds a {type(det).__name__}, not a series detector")
        tz = entry["tz"]
        index = pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]"))
        if tz is not None:
            index = index.tz_localize("UTC").tz_convert(tz)
        last = entry["last"]
        key = entry["key"]
        model.series_[key] = FittedSeries(
            key=key,
            detector=det,
            index=index,
            freq=pd.Timedelta(int(entry["freq_ns"]), unit="ns"),
            channels=list(entry["channels"]),
            notes=list(entry["notes"]),
            periods=[int(p) for p in entry["periods"]],
            last=None if last is None else pd.Timestamp(last),
            seen=int(entry["seen"]),
            tail_values=None if tail is None else np.asarray(tail, dtype=np.float64),
            tail_index=index,
        )
    return model


def _array(values: Any) -> Any:
    return None if values is None else np.ascontiguousarray(values, dtype=np.float64)


def _ns(index: Any) -> Any:
    """Times as int64 nanoseconds since the epoch (UTC for zone-aware ones)."""
    if index is None:
        return None
    return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)


def _json_key(key: Any) -> Any:
    """A group key as JSON: numbers, text, booleans and None as they are, others as text."""
    if isinstance(key, np.generic):
        key = key.item()
    if key is None or isinstance(key, bool | int | float | str):
        return key
    return str(key)
