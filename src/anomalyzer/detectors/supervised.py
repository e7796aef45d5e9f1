"""Detectors that learn from labels: ``Supervised`` and ``SemiSupervised``.

Both take ``fit(X, y)`` with ``y`` = 1 for a known anomaly and 0 for a known
normal row (``Model.fit(data, label=...)`` passes it on); a missing label (NaN
or None) marks a row nobody has judged yet, which is scored but not learned
from, as after a few hundred labels from an analyst. Otherwise they keep the
contract of every detector: higher score = more anomalous, new rows scored
without refitting, ``threshold_`` from ``contamination`` on the training scores.

``Supervised`` follows XGBOD (Zhao and Hryniewicki, 2018): each row is described
by its features *and* by the scores a few fast, diverse unsupervised detectors
give it, and a gradient-boosted tree classifier learns from the labels which
combination of the two marks an anomaly. The unsupervised scores carry what a
classifier alone sees poorly, "how unusual is this row overall", and let it
generalise to anomalies a little unlike the labelled ones.

``SemiSupervised`` is novelty detection: an unsupervised detector fitted on the
rows labelled normal only, so that anomalies do not blur what normal looks like.
Labelled anomalies, when there are any, raise the score of rows close to them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.labels import to_binary
from anomalyzer.thresholds import threshold_from_contamination
from anomalyzer.validation import check_array, check_contamination, check_float, check_int

#: Unsupervised detectors whose scores ``Supervised`` adds to the features:
#: fast, and each from a different family (isolation, global and local
#: proximity, per-feature histograms and tails), so their mistakes differ.
DEFAULT_BASE_DETECTORS: tuple[str, ...] = ("iforest", "knn", "lof", "hbos", "ecod")

# Early stopping holds out part of the training rows; below this many
# anomalies in that part its loss is too noisy to stop on.
_MIN_VALIDATION_ANOMALIES = 10
_VALIDATION_FRACTION = 0.2
# Weight of the unsupervised consensus (in [0, 1]) added to the log-odds: it
# orders rows the classifier scores alike and is far below any real gap.
_TIE_BREAK = 1e-6
# Below this many rows the classifier runs on one thread: the cost of
# starting threads for each of its rounds exceeds the work they share.
_PARALLEL_ROWS = 20_000
# Normal rows sampled to measure the typical spacing between normal rows.
_SPACING_SAMPLE = 10_000


def check_labels(y: Any, n_rows: int, detector: str) -> np.ndarray:
    """Labels as 0/1 integers, -1 for a row without one, or a clear error naming ``detector``.

    >>> check_labels([0, 1, 0], 3, "semi").tolist()
    [0, 1, 0]
    >>> check_labels(["normal", None, "anomaly"], 3, "semi").tolist()
    [0, -1, 1]
    >>> check_labels(None, 3, "semi")
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: The 'semi' detector learns from labels; pass label= to fit (1 = anomaly, 0 = normal, one per row).
    """
    if y is None:
        raise AnomalyzerError(
            f"The '{detector}' detector learns from labels; pass label= to fit "
            "(1 = anomaly, 0 = normal, one per row)."
        )
    values = np.asarray(y)
    if values.ndim != 1 or values.shape[0] != n_rows:
        raise AnomalyzerError(
            f"The '{detector}' detector got labels of shape {values.shape} for {n_rows} row(s); "
            "give one label per row."
        )
    missing = pd.isna(pd.Series(values, dtype=object)).to_numpy()
    if missing.all():
        raise AnomalyzerError(
            f"The '{detector}' detector got no labelled row; label some rows "
            "(1 = anomaly, 0 = normal) and leave the others missing."
        )
    out = np.full(n_rows, -1, dtype=np.int64)
    out[~missing] = to_binary(values[~missing], name="y")
    return out


def _seed(random_state: int | None) -> None:
    if random_state is not None:
        check_int("random_state", random_state, minimum=0)


class _LabelledDetector(BaseDetector):
    """Validation shared by the detectors that learn from labels.

    Explanations are the base class's occlusion: a feature's share is how far
    the whole score (unsupervised scores included) drops when it takes its
    typical value.
    """

    #: ``Model.fit(data, label=...)`` passes the labels to ``fit``.
    _uses_labels = True
    #: The registry name, for error messages.
    _name = ""

    random_state: int | None

    def fit(self, X: Any, y: Any = None) -> _LabelledDetector:
        """Learn from rows ``X`` and their labels ``y`` (1 = anomaly, 0 = normal)."""
        check_contamination(self.contamination)
        self._validate_params()
        X = check_array(X, min_rows=self._min_rows)
        y = check_labels(y, X.shape[0], self._name)
        self.n_features_in_ = X.shape[1]
        self.feature_medians_ = np.median(X, axis=0)
        self.decision_scores_ = np.asarray(self._fit_labelled(X, y), dtype=np.float64)
        self.threshold_ = threshold_from_contamination(self.decision_scores_, self.contamination)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on ``X`` and ``y`` and return the flags of the rows of ``X``."""
        return (self.fit(X, y).decision_scores_ > self.threshold_).astype(np.int64)

    def _fit(self, X: np.ndarray) -> None:
        # Reached only by bypassing fit(X, y): the labels are not optional.
        check_labels(None, X.shape[0], self._name)

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Fit on labelled rows and return the scores of the training rows."""
        raise NotImplementedError


def _build(name: str, random_state: int | None) -> BaseDetector:
    from anomalyzer import detectors

    params: dict[str, Any] = {}
    if detectors.accepts(name, "random_state"):
        params["random_state"] = random_state
    return detectors.make(name, **params)


def _check_base_name(param: str, name: Any) -> str:
    from anomalyzer import detectors

    if not isinstance(name, str):
        raise AnomalyzerError(f"{param} must name detectors of the registry, got {name!r}.")
    found = detectors.spec(name)  # unknown names get the registry's error
    if found.labels:
        raise AnomalyzerError(
            f"{param} must name unsupervised detectors, but '{found.name}' needs labels itself."
        )
    return found.name


def _augment(X: np.ndarray, scores: list[np.ndarray]) -> np.ndarray:
    """The features followed by one column of scores per unsupervised detector."""
    return np.column_stack([X, *scores])


def _threads(n_rows: int) -> AbstractContextManager[Any]:
    """One OpenMP thread for the classifier on small data, all of them on large."""
    return threadpool_limits(1, user_api="openmp") if n_rows < _PARALLEL_ROWS else nullcontext()


def _min_leaf(n_anomalies: int) -> int:
    """Fewest rows per leaf: scikit-learn's 20, less when anomalies are fewer than 40.

    Leaves of 20 rows on data with a handful of anomalies could never hold
    mostly anomalies, so the trees could not single them out at all.

    >>> _min_leaf(6), _min_leaf(1000)
    (3, 20)
    """
    return int(np.clip(n_anomalies // 2, 1, 20))


class Supervised(_LabelledDetector):
    """Gradient-boosted trees on the features plus unsupervised detector scores (XGBOD).

    ``fit(X, y)``: the detectors named in ``base_detectors`` are fitted on the
    training rows without labels, and each row gets their scores as extra
    features (training rows their training scores, which neighbour methods
    compute leaving the row out, new rows ``decision_function``: both as if
    the row were new). A ``HistGradientBoostingClassifier`` learns ``y`` from
    the result. The score is the log-odds of its anomaly probability
    (:meth:`predict_proba` gives the probability itself): the same order,
    without the rounding to exactly 1 that ties confident rows. Rows the trees
    cannot tell apart are ordered by the unsupervised detectors' consensus.

    Each split considers a random half of the columns (``max_features``), so
    that trees do not all cut on the same one: with few labelled anomalies the
    ensemble stays smooth instead of a single step. Classes keep their natural
    weights (``class_weight=None``): the scores are ranked, not thresholded at
    0.5, and on ADBench's data sets up-weighting the few anomalies
    (``"balanced"``) over-fits them and ranks worse. On large data every
    anomaly is kept but at most ``max_normals`` normal rows (a random sample,
    weighted up to stand for all of them), which bounds the cost of the
    unsupervised detectors and of the classifier. Boosting stops early on a
    stratified held-out fifth of the training rows when that part holds enough
    anomalies to judge by; otherwise it runs ``max_iter`` rounds.

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 3)), rng.normal(4.0, 1.0, size=(30, 3))]
    >>> y = np.r_[np.zeros(300), np.ones(30)]
    >>> det = Supervised(random_state=0).fit(X, y)
    >>> det.predict_proba([[0.0, 0.0, 0.0], [4.0, 4.0, 4.0]])[:, 1].round(2).tolist()
    [0.0, 1.0]
    >>> det.predict([[0.0, 0.0, 0.0], [4.0, 4.0, 4.0]]).tolist()
    [0, 1]
    >>> det.augmented_features_[-5:]
    ['iforest', 'knn', 'lof', 'hbos', 'ecod']
    """

    _name = "supervised"

    def __init__(
        self,
        base_detectors: tuple[str, ...] = DEFAULT_BASE_DETECTORS,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 31,
        max_features: float = 0.5,
        class_weight: str | None = None,
        max_normals: int = 50_000,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.base_detectors = base_detectors
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_features = max_features
        self.class_weight = class_weight
        self.max_normals = max_normals
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        if isinstance(self.base_detectors, str):
            raise AnomalyzerError(
                "base_detectors must be a list of detector names, e.g. ('iforest', 'knn'), "
                f"got the string {self.base_detectors!r}."
            )
        names = [_check_base_name("base_detectors", n) for n in self.base_detectors]
        if len(set(names)) != len(names):
            raise AnomalyzerError(f"base_detectors names a detector twice: {names}.")
        check_float("learning_rate", self.learning_rate, low=0)
        check_int("max_iter", self.max_iter)
        check_int("max_leaf_nodes", self.max_leaf_nodes, minimum=2)
        if check_float("max_features", self.max_features, low=0) > 1:
            raise AnomalyzerError(
                f"max_features must be a share of the features in (0, 1], got {self.max_features!r}."
            )
        check_int("max_normals", self.max_normals)
        if self.class_weight not in ("balanced", None):
            raise AnomalyzerError(
                f"class_weight must be 'balanced' or None, got {self.class_weight!r}."
            )
        _seed(self.random_state)

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        n_anomalies = int((y == 1).sum())
        n_labelled = int((y >= 0).sum())
        if n_anomalies in (0, n_labelled):
            kind = "normal" if n_anomalies == 0 else "anomalous"
            raise AnomalyzerError(
                f"The 'supervised' detector learns from labels of both kinds, but all "
                f"{n_labelled} labelled rows are {kind}; pass label= with anomalies and normal "
                "rows to fit, or use an unsupervised detector."
            )
        rows, normal_weight = self._training_rows(y)
        X_fit, y_fit = X[rows], y[rows]
        self.base_detectors_ = [
            _build(name, self.random_state).fit(X_fit) for name in self.base_detectors
        ]
        self.augmented_features_ = [f"x{j}" for j in range(X.shape[1])] + [
            _check_base_name("base_detectors", name) for name in self.base_detectors
        ]
        base_scores = [det.decision_scores_ for det in self.base_detectors_]
        self.reference_scores_ = [np.sort(s) for s in base_scores]
        Z = _augment(X_fit, base_scores)
        weight = np.where(y_fit == 1, 1.0, normal_weight)
        if self.class_weight == "balanced":
            weight[y_fit == 1] *= weight[y_fit == 0].sum() / n_anomalies
        weight *= weight.size / weight.sum()
        # Early stopping needs a held-out part with enough anomalies in it.
        stop_early = n_anomalies * _VALIDATION_FRACTION >= _MIN_VALIDATION_ANOMALIES
        classifier = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            max_features=self.max_features,
            min_samples_leaf=_min_leaf(n_anomalies),
            early_stopping=stop_early,
            validation_fraction=_VALIDATION_FRACTION,
            random_state=self.random_state,
        )
        with _threads(Z.shape[0]):
            self.classifier_ = classifier.fit(Z, y_fit, sample_weight=weight)
        self.n_training_rows_ = int(rows.size)
        scores = np.empty(X.shape[0], dtype=np.float64)
        scores[rows] = self._combine(Z, base_scores)
        rest = np.setdiff1d(np.arange(X.shape[0]), rows, assume_unique=True)
        if rest.size:
            scores[rest] = self._score(X[rest])
        return scores

    def _training_rows(self, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Rows the model learns from (all anomalies, at most ``max_normals`` normals), their weight."""
        normals = np.flatnonzero(y == 0)
        if normals.size <= self.max_normals:
            return np.flatnonzero(y >= 0), 1.0
        rng = np.random.default_rng(self.random_state)
        kept = rng.choice(normals, size=self.max_normals, replace=False)
        rows = np.sort(np.concatenate([np.flatnonzero(y == 1), kept]))
        return rows, normals.size / self.max_normals

    def predict_proba(self, X: Any) -> np.ndarray:
        """The classifier's probabilities of normal and anomaly, shape ``(n_rows, 2)``."""
        check_is_fitted(self, "threshold_")
        X = check_array(X, n_features=self.n_features_in_)
        Z = _augment(X, [det.decision_function(X) for det in self.base_detectors_])
        with _threads(Z.shape[0]):
            return self.classifier_.predict_proba(Z)

    def _combine(self, Z: np.ndarray, base_scores: list[np.ndarray]) -> np.ndarray:
        # Log-odds keep the order of the probabilities without their rounding
        # to exactly 0 or 1. Trees still give many rows the same value on small
        # data (every tree cuts at the same place); the unsupervised consensus
        # orders those rows, and is too small to reorder any others.
        consensus = np.zeros(Z.shape[0])
        for reference, scores in zip(self.reference_scores_, base_scores, strict=True):
            consensus += np.searchsorted(reference, scores, side="right") / reference.size
        consensus /= max(len(base_scores), 1)
        with _threads(Z.shape[0]):
            log_odds = self.classifier_.decision_function(Z)
        return log_odds + _TIE_BREAK * consensus

    def _score(self, X: np.ndarray) -> np.ndarray:
        base_scores = [det.decision_function(X) for det in self.base_detectors_]
        return self._combine(_augment(X, base_scores), base_scores)


class SemiSupervised(_LabelledDetector):
    """An unsupervised detector fitted on the rows labelled normal, boosted near known anomalies.

    ``base`` (a registry name) learns what normal looks like from the rows with
    ``y == 0`` only and scores every row. The default is ``"knn"``: the
    distance to the k-th nearest normal row is the classic novelty detector
    when the normal rows are clean, and unlike detectors that assume a share of
    contamination it makes no use of a mix it no longer sees.

    The base scores are put on a robust z scale of the normal training rows
    (median and scaled MAD; a monotone change, the ranking is the base's). When
    anomalies are labelled, a row near one of them gets up to ``boost`` robust
    standard deviations more: ``boost * exp(-(d / h) ** 2)``, with ``d`` the
    distance to the nearest labelled anomaly and ``h`` the median distance
    between a normal row and its nearest normal neighbour (the spacing of normal
    data). A row on top of a known anomaly rises by ``boost``; one a few
    spacings away, or any row when no anomaly is labelled, keeps its base score.
    Anomalies unlike every labelled one are still found by the base score.
    ``boost=0`` ignores the labelled anomalies.

    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 2)), [[5.0, 5.0], [5.2, 4.9]]]
    >>> y = np.r_[np.zeros(300), [1, 1]]
    >>> det = SemiSupervised(random_state=0).fit(X, y)
    >>> a, b, c = det.decision_function([[0.0, 0.0], [5.1, 5.0], [-5.1, -5.0]])
    >>> bool(a < c < b)
    True
    """

    _name = "semi"

    def __init__(
        self,
        base: str = "knn",
        boost: float = 3.0,
        contamination: float | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.base = base
        self.boost = boost
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        _check_base_name("base", self.base)
        ok = isinstance(self.boost, int | float) and not isinstance(self.boost, bool)
        if not (ok and np.isfinite(self.boost) and self.boost >= 0):
            raise AnomalyzerError(f"boost must be a number >= 0, got {self.boost!r}.")
        _seed(self.random_state)

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        normal, anomalous = X[y == 0], X[y == 1]
        if normal.shape[0] < 2:
            raise AnomalyzerError(
                f"The 'semi' detector learns what is normal from the rows labelled normal, "
                f"but {normal.shape[0]} row(s) are; pass label= with at least 2 normal rows."
            )
        self.base_ = _build(self.base, self.random_state).fit(normal)
        reference = self.base_.decision_scores_
        self.center_ = float(np.median(reference))
        scale = 1.4826 * float(np.median(np.abs(reference - self.center_)))
        if not scale > 0:
            scale = float(reference.std())
        self.scale_ = scale if scale > 0 else 1.0
        self.n_anomalies_ = int(anomalous.shape[0])
        if self.n_anomalies_ and self.boost > 0:
            self.spacing_ = self._normal_spacing(normal)
            self.anomaly_index_ = NearestNeighbors(n_neighbors=1).fit(anomalous)
        scores = np.empty(X.shape[0], dtype=np.float64)
        scores[y == 0] = self._standardise(reference) + self._lift(normal)
        if self.n_anomalies_:
            # Each labelled anomaly leaves itself out of the anomalies it is near.
            scores[y == 1] = self._standardise(self.base_.decision_function(anomalous)) + (
                self._lift(anomalous, leave_out=True)
            )
        if (y < 0).any():
            scores[y < 0] = self._score(X[y < 0])
        return scores

    def _normal_spacing(self, normal: np.ndarray) -> float:
        """Median distance from a normal row to its nearest other normal row (sampled)."""
        rng = np.random.default_rng(self.random_state)
        if normal.shape[0] > _SPACING_SAMPLE:
            normal = normal[rng.choice(normal.shape[0], size=_SPACING_SAMPLE, replace=False)]
        dist, _ = NearestNeighbors(n_neighbors=1).fit(normal).kneighbors()
        positive = dist[:, 0][dist[:, 0] > 0]
        # Every normal row repeated: no spacing to measure, fall back to unit scale.
        return float(np.median(positive)) if positive.size else 1.0

    def _standardise(self, scores: np.ndarray) -> np.ndarray:
        return (scores - self.center_) / self.scale_

    def _lift(self, X: np.ndarray, leave_out: bool = False) -> np.ndarray:
        if not (self.n_anomalies_ and self.boost > 0):
            return np.zeros(X.shape[0])
        if leave_out:
            if self.n_anomalies_ < 2:
                return np.zeros(X.shape[0])
            dist, _ = self.anomaly_index_.kneighbors()
        else:
            dist, _ = self.anomaly_index_.kneighbors(X)
        return self.boost * np.exp(-((dist[:, 0] / self.spacing_) ** 2))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._standardise(self.base_.decision_function(X)) + self._lift(X)
