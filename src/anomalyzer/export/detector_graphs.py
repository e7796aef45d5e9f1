"""Each exportable detector as ONNX nodes from the feature matrix ``X`` to a score per row.

Converters follow the detectors' own float64 arithmetic step by step, so that
the exported scores agree with ``decision_function`` to rounding:

- per-feature statistics (``zscore``, ``mad``, ``iqr``) and the quadratic forms
  (``pca``, ``mahalanobis``) are element-wise operations and matrix products;
- ``gmm`` standardises the row and hands the fitted scikit-learn mixture to
  skl2onnx (its ``score_samples``, in float64);
- histograms (``hbos``, ``loda``) compute the bin index as the detector does and
  look its height up with ``Gather``;
- the one-class SVM (``ocsvm``) sums its RBF kernels over the support vectors;
- ``knn`` keeps its reference rows: ``TopK`` on squared distances picks
  candidates, whose exact distances are then sorted again, so that rounding in
  the fast expansion cannot change which distance is the k-th;
- ``cblof`` measures the distance to each large cluster's centre;
- ``iforest`` and ``ecod`` are trees (:mod:`anomalyzer.export.tree_graphs`);
- ``auto`` puts its members' graphs side by side and combines them with its
  fitted scalers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from anomalyzer.detectors.auto import _CLIP as _AUTO_CLIP
from anomalyzer.detectors.auto import _DISTANCE_MEMBERS as _AUTO_DISTANCE_MEMBERS
from anomalyzer.detectors.auto import Auto
from anomalyzer.detectors.clustering import CBLOF
from anomalyzer.detectors.copula import COPOD, ECOD
from anomalyzer.detectors.density import GMM
from anomalyzer.detectors.hbos import HBOS
from anomalyzer.detectors.iforest import IForest
from anomalyzer.detectors.linear import PCA, Mahalanobis
from anomalyzer.detectors.loda import _TOL as _LODA_TOL
from anomalyzer.detectors.loda import LODA
from anomalyzer.detectors.neighbors import KNN
from anomalyzer.detectors.ocsvm import OCSVM
from anomalyzer.detectors.statistical import IQR, MAD, ZScore
from anomalyzer.errors import AnomalyzerError
from anomalyzer.export.graph import OPSET, GraphBuilder
from anomalyzer.export.tree_graphs import copod_graph, ecod_graph, iforest_graph

# Extra candidates taken by the fast squared-distance TopK of knn before the
# exact distances pick the k nearest.
_KNN_MARGIN = 8

Converter = Callable[[GraphBuilder, Any, str], str]


def _axis(b: GraphBuilder, *axes: int) -> str:
    return b.const(np.array(axes))


def _univariate(b: GraphBuilder, X: str, centre: np.ndarray, scale: np.ndarray) -> str:
    """``|X - centre| / scale`` per feature."""
    return b.op("Div", b.op("Abs", b.op("Sub", X, b.const(centre))), b.const(scale))


def _row_max(b: GraphBuilder, value: str) -> str:
    return b.op("ReduceMax", value, _axis(b, 1), keepdims=0)


def zscore_graph(b: GraphBuilder, det: ZScore, X: str) -> str:
    return _row_max(b, _univariate(b, X, det.mean_, det.scale_))


def mad_graph(b: GraphBuilder, det: MAD, X: str) -> str:
    return _row_max(b, _univariate(b, X, det.median_, det.scale_))


def iqr_graph(b: GraphBuilder, det: IQR, X: str) -> str:
    iqr = b.const(det.iqr_)
    outside = b.op(
        "Div",
        b.op("Max", b.op("Sub", b.const(det.lower_), X), b.op("Sub", X, b.const(det.upper_))),
        iqr,
    )
    inside = b.op("Div", b.op("Abs", b.op("Sub", X, b.const(det.median_))), iqr)
    k = b.const(np.array(float(det.k)))
    deviation = b.op(
        "Where",
        b.op("Greater", outside, b.const(np.array(0.0))),
        b.op("Add", k, outside),
        b.op("Min", inside, k),
    )
    return _row_max(b, deviation)


def quadratic_graph(b: GraphBuilder, det: PCA | Mahalanobis, X: str) -> str:
    """``sum_k w_k (v_k . z)^2`` with ``z`` the standardised row."""
    Z = b.op("Div", b.op("Sub", X, b.const(det.centre_)), b.const(det.scale_))
    Y = b.op("MatMul", Z, b.const(np.ascontiguousarray(det.components_.T)))
    return b.flat(b.op("MatMul", b.op("Mul", Y, Y), b.const(det.weights_[:, None])))


def _histogram_terms(
    b: GraphBuilder, Z: str, low: np.ndarray, width: np.ndarray, table: np.ndarray, tol: float
) -> str:
    """``-log`` height of each value's bin, as :func:`histogram_neg_log_density` reads it."""
    n_cols, n_entries = table.shape
    n_bins = n_entries - 1
    pos = b.op("Mul", b.op("Sub", Z, b.const(low)), b.const(1.0 / width))
    outside = b.op(
        "Or",
        b.op("Less", pos, b.const(np.array(-float(tol)))),
        b.op("Greater", pos, b.const(np.array(n_bins + float(tol)))),
    )
    clipped = b.op("Clip", pos, b.const(np.array(0.0)), b.const(np.array(n_bins - 0.5)))
    index = b.op("Cast", clipped, to=7)  # 7: INT64, truncates like astype(intp)
    index = b.op("Where", outside, b.const(np.array(n_bins)), index)
    index = b.op("Add", index, b.const(np.arange(n_cols) * n_entries))
    return b.op("Gather", b.const(np.ascontiguousarray(table).ravel()), index)


def hbos_graph(b: GraphBuilder, det: HBOS, X: str) -> str:
    terms = _histogram_terms(b, X, det.bin_low_, det.bin_width_, det.neg_log_height_, det.tol)
    return b.row_sum(terms)


def loda_graph(b: GraphBuilder, det: LODA, X: str) -> str:
    weights = (det.projections_ / det.scale_).T
    offset = (det.mean_ / det.scale_) @ det.projections_.T
    Z = b.op("Sub", b.op("MatMul", X, b.const(weights)), b.const(offset))
    terms = _histogram_terms(b, Z, det.bin_low_, det.bin_width_, det.neg_log_density_, _LODA_TOL)
    return b.op("ReduceMean", terms, _axis(b, 1), keepdims=0)


def gmm_graph(b: GraphBuilder, det: GMM, X: str) -> str:
    """``-log`` mixture density (skl2onnx's ``score_samples`` of the mixture) plus the Jacobian."""
    from skl2onnx import to_onnx

    g = det.mixture_
    Z = b.op("Div", b.op("Sub", X, b.const(det.mean_)), b.const(det.scale_))
    # A float64 example makes skl2onnx compute in float64 throughout.
    example = np.zeros((1, g.means_.shape[1]), dtype=np.float64)
    proto = to_onnx(g, example, options={id(g): {"score_samples": True}}, target_opset=OPSET)
    log_density = b.flat(b.splice(proto, {proto.graph.input[0].name: Z}, "score_samples"))
    return b.op("Add", b.op("Neg", log_density), b.const(np.array(det.log_jacobian_)))


def _squared_norms(b: GraphBuilder, A: str) -> str:
    return b.op("ReduceSum", b.op("Mul", A, A), _axis(b, 1), keepdims=1)


def ocsvm_graph(b: GraphBuilder, det: OCSVM, X: str) -> str:
    """Minus ``sum_i a_i exp(-gamma |z - s_i|^2) + intercept``, as the detector computes it."""
    sv = det.support_vectors_
    Z = b.op("Div", b.op("Sub", X, b.const(det.center_)), b.const(det.scale_))
    cross = b.op("MatMul", Z, b.const(np.ascontiguousarray(sv.T)))
    sq = b.op(
        "Sub",
        b.op("Add", _squared_norms(b, Z), b.const((sv**2).sum(axis=1)[None, :])),
        b.op("Mul", b.const(np.array(2.0)), cross),
    )
    sq = b.op("Max", sq, b.const(np.array(0.0)))
    kernel = b.op("Exp", b.op("Mul", b.const(np.array(-det.gamma_)), sq))
    decision = b.op(
        "Add",
        b.op("MatMul", kernel, b.const(det.dual_coef_[:, None])),
        b.const(np.array(det.intercept_)),
    )
    return b.op("Neg", b.flat(decision))


def knn_graph(b: GraphBuilder, det: KNN, X: str) -> str:
    """Distance to the k-th nearest reference row (or the mean or median of the k)."""
    index = det.index_
    reference = np.ascontiguousarray(index.points[index.inverse])
    m = reference.shape[0]
    k = int(det.n_neighbors_)
    q = min(k + _KNN_MARGIN, m)
    R = b.const(reference)
    # |r|^2 - 2 x.r orders the reference rows as |x - r|^2 does (|x|^2 is the
    # same for every r), in one Gemm.
    approx = b.op(
        "Gemm",
        X,
        b.const(np.ascontiguousarray(-2.0 * reference.T)),
        b.const((reference**2).sum(axis=1)[None, :]),
    )
    _, candidates = b.op("TopK", approx, b.const(np.array([q])), n_out=2, axis=1, largest=0)
    near = b.op("Gather", R, candidates)  # (N, q, d)
    gaps = b.op("Sub", b.op("Unsqueeze", X, _axis(b, 1)), near)
    exact = b.op("Sqrt", b.op("ReduceSum", b.op("Mul", gaps, gaps), _axis(b, 2), keepdims=0))
    dist, _ = b.op("TopK", exact, b.const(np.array([k])), n_out=2, axis=1, largest=0, sorted=1)
    if det.method == "largest":
        return b.flat(
            b.op("Slice", dist, b.const(np.array([k - 1])), b.const(np.array([k])), _axis(b, 1))
        )
    if det.method == "mean":
        return b.op("ReduceMean", dist, _axis(b, 1), keepdims=0)
    middle = [k // 2] if k % 2 else [k // 2 - 1, k // 2]
    return b.op(
        "ReduceMean",
        b.op("Gather", dist, b.const(np.array(middle)), axis=1),
        _axis(b, 1),
        keepdims=0,
    )


def cblof_graph(b: GraphBuilder, det: CBLOF, X: str) -> str:
    """Distance to the nearest centre of a large cluster."""
    centres = det.cluster_centers_[det.large_clusters_]
    gaps = b.op("Sub", b.op("Unsqueeze", X, _axis(b, 1)), b.const(centres[None, :, :]))
    squares = b.op("ReduceSum", b.op("Mul", gaps, gaps), _axis(b, 2), keepdims=0)
    return b.op("Sqrt", b.op("ReduceMin", squares, _axis(b, 1), keepdims=0))


def auto_graph(b: GraphBuilder, det: Auto, X: str) -> str:
    """Weighted mean of the members' scores, each on the robust scale learned at fit, bounded.

    Distance members see the tail-compressed columns, as in :class:`Auto`.
    """
    compressed = _tail_compressed(b, det, X)
    scaled = []
    for (name, member), (log, offset, centre, scale, _) in zip(
        det.members_, det.scalers_, strict=True
    ):
        view = compressed if name in _AUTO_DISTANCE_MEMBERS else X
        score = detector_graph(b, member, view)
        if log:
            floor = b.const(np.array(np.finfo(np.float64).tiny))
            shifted = b.op("Add", score, b.const(np.array(float(offset))))
            score = b.op("Log", b.op("Max", shifted, floor))
        z = b.op("Div", b.op("Sub", score, b.const(np.array(centre))), b.const(np.array(scale)))
        if det.combine != "mean_z":
            z = b.op("Clip", z, b.const(np.array(-_AUTO_CLIP)), b.const(np.array(_AUTO_CLIP)))
        scaled.append(b.column(z))
    stacked = b.op("Concat", *scaled, axis=1) if len(scaled) > 1 else scaled[0]
    weights = b.const(np.asarray(det.weights_, dtype=np.float64))
    return b.op("MatMul", stacked, weights)


def _tail_compressed(b: GraphBuilder, det: Auto, X: str) -> str:
    """``X`` with :func:`~anomalyzer.detectors.auto.compress_tails` applied to its columns."""
    cols = np.asarray(det.tail_columns_, dtype=np.int64)
    if cols.size == 0:
        return X
    d = int(det.n_features_in_)
    mask, origin, scale = np.zeros(d), np.zeros(d), np.ones(d)
    mask[cols], origin[cols], scale[cols] = 1.0, det.tail_origins_, det.tail_scales_
    u = b.op("Sub", X, b.const(origin))
    s = b.const(scale)
    squeezed = b.op("Log", b.op("Add", b.const(np.array(1.0)), b.op("Div", b.op("Abs", u), s)))
    c = b.op("Mul", b.op("Mul", b.op("Sign", u), s), squeezed)
    # Untouched columns pass through exactly: 0 * c + 1 * X.
    kept = b.op("Mul", X, b.const(1.0 - mask))
    return b.op("Add", b.op("Mul", c, b.const(mask)), kept)


# Exact classes only: a subclass may score differently (COPOD scores as ECOD does).
_CONVERTERS: dict[type, Converter] = {
    ZScore: zscore_graph,
    MAD: mad_graph,
    IQR: iqr_graph,
    HBOS: hbos_graph,
    ECOD: ecod_graph,
    COPOD: copod_graph,
    IForest: iforest_graph,
    KNN: knn_graph,
    OCSVM: ocsvm_graph,
    GMM: gmm_graph,
    CBLOF: cblof_graph,
    PCA: quadratic_graph,
    Mahalanobis: quadratic_graph,
    LODA: loda_graph,
    Auto: auto_graph,
}
_CLASS_NAMES = {cls.__name__ for cls in _CONVERTERS}


def exportable() -> list[str]:
    """Names of the detectors that export to ONNX (``auto`` when all its members do).

    >>> "iforest" in exportable(), "lof" in exportable()
    (True, False)
    """
    from anomalyzer import detectors

    return [n for n in detectors.available() if detectors.spec(n).cls in _CLASS_NAMES]


def check_exportable(det: Any) -> None:
    """Raise one sentence naming the detectors that export when ``det`` (or a member) does not."""
    members = [m for _, m in det.members_] if type(det) is Auto else []
    for member in [det, *members]:
        if type(member) not in _CONVERTERS:
            part = " (a member of auto)" if member is not det else ""
            raise AnomalyzerError(
                f"Detector {_name_of(member)!r}{part} cannot be exported to ONNX; "
                f"these can: {', '.join(exportable())}."
            )


def detector_graph(b: GraphBuilder, det: Any, X: str) -> str:
    """Add the nodes scoring ``X`` with the fitted ``det``; returns the ``[N]`` score."""
    check_exportable(det)
    return _CONVERTERS[type(det)](b, det, X)


def _name_of(det: Any) -> str:
    from anomalyzer import detectors

    names = {detectors.spec(n).cls: n for n in detectors.available(labels=True)}
    return names.get(type(det).__name__, type(det).__name__)
