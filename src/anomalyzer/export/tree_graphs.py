"""Detectors that become ``TreeEnsemble`` nodes: the isolation forest, and ECOD's lookups.

``ai.onnx.ml.TreeEnsemble`` (opset 5) walks trees with float64 splits and sums
float64 leaf weights, which is what both detectors need:

- :class:`~anomalyzer.detectors.iforest.IForest` keeps its trees flattened; each
  one becomes a tree of the ensemble whose leaves weigh the path length of a
  row that ends there, so the ensemble's sum is the total path length.
- :class:`~anomalyzer.detectors.copula.ECOD` reads tail probabilities off the
  sorted training values by binary search. A balanced tree over a feature's
  distinct values is that search: one tree per feature and tail, with the
  ``-log`` tail probability of each interval as leaf weight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import numpy_helper

from anomalyzer.detectors.iforest import (
    _CHILD_SHIFT,
    _FEATURE_MASK,
    IForest,
    average_path_length,
)
from anomalyzer.export.graph import ML_DOMAIN, GraphBuilder

# TreeEnsemble node modes.
_LEQ = 0
_LT = 1


class _Forest:
    """Node and leaf lists in the layout of ``TreeEnsemble``."""

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.split: list[float] = []
        self.mode: list[int] = []
        self.true_id: list[int] = []
        self.true_leaf: list[int] = []
        self.false_id: list[int] = []
        self.false_leaf: list[int] = []
        self.leaf_target: list[int] = []
        self.leaf_weight: list[float] = []
        self.roots: list[int] = []

    def leaf(self, target: int, weight: float) -> int:
        self.leaf_target.append(target)
        self.leaf_weight.append(weight)
        return len(self.leaf_weight) - 1

    def node(self, feature: int, split: float, mode: int) -> int:
        self.feature.append(feature)
        self.split.append(split)
        self.mode.append(mode)
        for column in (self.true_id, self.true_leaf, self.false_id, self.false_leaf):
            column.append(0)
        return len(self.feature) - 1

    def link(self, node: int, branch: bool, child: int, is_leaf: bool) -> None:
        ids, leafs = (self.true_id, self.true_leaf) if branch else (self.false_id, self.false_leaf)
        ids[node], leafs[node] = child, int(is_leaf)

    def emit(self, b: GraphBuilder, X: str, n_targets: int) -> str:
        """Add the ensemble (sum over trees, no transform); returns ``[N, n_targets]``."""
        return b.op(
            "TreeEnsemble",
            X,
            domain=ML_DOMAIN,
            aggregate_function=1,  # SUM
            post_transform=0,
            n_targets=n_targets,
            tree_roots=self.roots,
            nodes_featureids=self.feature,
            nodes_splits=numpy_helper.from_array(np.asarray(self.split, dtype=np.float64)),
            nodes_modes=numpy_helper.from_array(np.asarray(self.mode, dtype=np.uint8)),
            nodes_truenodeids=self.true_id,
            nodes_trueleafs=self.true_leaf,
            nodes_falsenodeids=self.false_id,
            nodes_falseleafs=self.false_leaf,
            leaf_targetids=self.leaf_target,
            leaf_weights=numpy_helper.from_array(np.asarray(self.leaf_weight, dtype=np.float64)),
        )


def iforest_graph(b: GraphBuilder, det: IForest, X: str) -> str:
    """``2 ** (-mean path length / c(max_samples))`` with the forest as a ``TreeEnsemble``."""
    forest = _Forest()
    node_links = det.tree_node_
    left = (node_links >> _CHILD_SHIFT).astype(np.int64)
    feature = (node_links & _FEATURE_MASK).astype(np.int64)
    threshold, value = det.tree_threshold_, det.tree_value_
    # A tree whose root is a leaf (a constant subsample) adds a constant.
    constant = 0.0

    def is_leaf(k: int) -> bool:
        return bool(left[k] == k)

    def add(k: int) -> tuple[int, bool]:
        if is_leaf(k):
            return forest.leaf(0, float(value[k])), True
        # Native walk: x <= threshold goes to the left child, x > threshold to the right.
        node = forest.node(int(feature[k]), float(threshold[k]), _LEQ)
        for branch, child in ((True, int(left[k])), (False, int(left[k]) + 1)):
            child_id, child_leaf = add(child)
            forest.link(node, branch, child_id, child_leaf)
        return node, False

    for root in det.tree_roots_:
        if is_leaf(int(root)):
            constant += float(value[root])
            continue
        node, _ = add(int(root))
        forest.roots.append(node)
    n_trees = float(len(det.tree_roots_))
    if forest.roots:
        total = b.flat(forest.emit(b, X, 1))
    else:
        total = b.row_sum(b.op("Mul", X, b.const(np.array(0.0))))
    if constant:
        total = b.op("Add", total, b.const(np.array(constant)))
    depth = b.op("Div", total, b.const(np.array(n_trees)))
    exponent = b.op(
        "Neg", b.op("Div", depth, b.const(np.array(average_path_length(det.max_samples_))))
    )
    return b.op("Pow", b.const(np.array(2.0)), exponent)


def _interval_tree(
    forest: _Forest, feature: int, splits: np.ndarray, mode: int, target: int, weights: np.ndarray
) -> None:
    """A balanced tree sending ``x`` to leaf ``i`` of ``weights`` (``len(splits) + 1`` of them).

    With ``mode`` LT leaf ``i`` holds ``splits[i-1] <= x < splits[i]`` (``i`` splits
    at most ``x``); with LEQ it holds ``splits[i-1] < x <= splits[i]`` (``i`` below ``x``).
    """

    def add(lo: int, hi: int) -> tuple[int, bool]:
        if lo > hi:
            return forest.leaf(target, float(weights[lo])), True
        mid = (lo + hi) // 2
        node = forest.node(feature, float(splits[mid]), mode)
        for branch, (a, z) in ((True, (lo, mid - 1)), (False, (mid + 1, hi))):
            child, leaf = add(a, z)
            forest.link(node, branch, child, leaf)
        return node, False

    root, leaf = add(0, len(splits) - 1)
    if leaf:  # no split at all cannot happen: every feature has a value
        raise AssertionError("empty interval tree")
    forest.roots.append(root)


def _tail_terms(b: GraphBuilder, det: Any, X: str) -> tuple[str, str]:
    """Per-feature ``-log`` left and right tail probabilities of new rows, each (N, d)."""
    n = det.n_train_
    d = len(det.values_)
    forest = _Forest()
    for j, (values, cum) in enumerate(zip(det.values_, det.cum_counts_, strict=True)):
        # Leaf i of the LT tree: i distinct values <= x, so cum[i] training values.
        at_most = cum.astype(np.float64)
        left_terms = np.log(n + 1) - np.log1p(at_most)
        _interval_tree(forest, j, values, _LT, j, left_terms)
        # Leaf i of the LEQ tree: i distinct values < x, so n - cum[i] values >= x.
        at_least = n - cum.astype(np.float64)
        right_terms = np.log(n + 1) - np.log1p(at_least)
        _interval_tree(forest, j, values, _LEQ, d + j, right_terms)
    terms = forest.emit(b, X, 2 * d)
    left = b.op(
        "Slice", terms, b.const(np.array([0])), b.const(np.array([d])), b.const(np.array([1]))
    )
    right = b.op(
        "Slice", terms, b.const(np.array([d])), b.const(np.array([2 * d])), b.const(np.array([1]))
    )
    return left, right


def ecod_graph(b: GraphBuilder, det: Any, X: str) -> str:
    """ECOD: per feature the larger of the two tails, summed over the features."""
    left, right = _tail_terms(b, det, X)
    return b.row_sum(b.op("Max", left, right))


def copod_graph(b: GraphBuilder, det: Any, X: str) -> str:
    """COPOD: per feature the larger of the skewness-side tail and the mean of both, summed."""
    left, right = _tail_terms(b, det, X)
    sign = np.sign(det.skewness_)
    # The skewness side: left for sign < 0, right for sign > 0, both for 0 (exact 0/1 weights).
    on_left = b.op("Mul", left, b.const((sign <= 0).astype(np.float64)))
    on_right = b.op("Mul", right, b.const((sign >= 0).astype(np.float64)))
    skew_side = b.op("Add", on_left, on_right)
    mean = b.op("Div", b.op("Add", left, right), b.const(np.array(2.0)))
    return b.row_sum(b.op("Max", skew_side, mean))
