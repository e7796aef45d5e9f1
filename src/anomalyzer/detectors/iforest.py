"""Isolation forest: rows that a few random splits cut off from the rest are anomalous.

Liu, Ting and Zhou (2008) grow each tree on a small random subsample: pick a
feature at random, split at a uniform random value between its smallest and
largest value in the node, and repeat until every row stands alone or the tree
reaches ``ceil(log2(max_samples))`` levels. An anomaly, few and different, ends
up alone near the root; a row inside a dense cloud needs many splits. The score
is the paper's ``s(x) = 2 ** (-E[h(x)] / c(max_samples))``, where ``h(x)`` is the
depth at which a tree leaves ``x`` (plus ``c(size)``, the expected depth still
to go, for a leaf that holds more than one training row) and ``c(n)`` the
average depth of an unsuccessful search in a binary search tree of ``n`` keys.
Scores lie in (0, 1]: close to 1 is clearly anomalous, while ordinary rows score
around or below 0.5 (uniform random cuts isolate the dense core of the data late).

Growing trees on 256 rows is cheap; the cost is walking every row down every
tree. The trees are therefore stored flattened in a few contiguous arrays and
walked by a compiled loop that runs over rows in parallel and releases the GIL.

The explanation splits each tree's *path shortfall* ``c(max_samples) - h(x)``
(how many levels sooner than ``c(max_samples)`` the tree isolates ``x``) among
the features on the path. A split on feature ``f`` that takes ``x`` from a node
of ``m`` training rows into a child of ``k`` rows spends one level but cuts the
expected depth still to go from ``c(m)`` to ``c(k)``, so it credits ``f`` with
``c(m) - c(k) - 1``. Along a path these terms add up exactly to the shortfall,
so a feature that splits a row off early, in one lopsided cut, gets most of the
credit. It costs one walk down the trees, where occlusion costs one scoring per
feature, and it needs no typical value to swap in (a swapped-in value can make
a row that never occurs and scores oddly).

>>> rng = np.random.default_rng(0)
>>> X = np.r_[rng.normal(size=(300, 3)), [[0.0, 9.0, 0.0]]]
>>> det = IForest(random_state=0).fit(X)
>>> int(np.argmax(det.decision_scores_))
300
>>> int(np.argmax(det.explain(X[-1:])))
1
"""

from __future__ import annotations

import numbers
from typing import Any

import numba
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from anomalyzer.compiled import jit, launch
from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_array, check_int

_EULER_GAMMA = 0.5772156649015329
# Rows that walk the trees together in the scoring loop (see _total_path_lengths).
_BLOCK = 128
# A node's split feature sits in the low 32 bits of its entry in the node array and
# its left child in the high 32 bits, so that a step down a tree loads one integer.
_FEATURE_MASK = np.uint64(0xFFFFFFFF)
_CHILD_SHIFT = np.uint64(32)
# Upper bound on node slots allocated at once while growing trees (a batch of trees
# is grown in parallel into scratch arrays of this many nodes, then compacted).
_BUILD_NODES = 1 << 22


# -- compiled kernels ---------------------------------------------------------


@jit(nogil=True)
def _c(n: int) -> float:  # pragma: no cover - compiled
    """Average depth of an unsuccessful search among ``n`` keys (0 for n <= 1)."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (np.log(n - 1.0) + _EULER_GAMMA) - 2.0 * (n - 1.0) / n


@jit(nogil=True)
def _next_uniform(state: np.ndarray) -> float:  # pragma: no cover - compiled
    """SplitMix64 step: a uniform float in [0, 1) and an updated ``state[0]``.

    A private generator per tree (instead of numba's thread-local one) keeps the
    forest identical whatever the number of threads and whichever thread grows
    which tree.
    """
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit(nogil=True)
def _next_below(state: np.ndarray, k: int) -> int:  # pragma: no cover - compiled
    """A uniform integer in [0, k)."""
    return min(int(_next_uniform(state) * k), k - 1)


@jit(nogil=True)
def _sample(n: int, k: int, state: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``k`` distinct integers from [0, n) by Floyd's algorithm (exactly k draws)."""
    taken = np.zeros(n, dtype=np.bool_)
    out = np.empty(k, dtype=np.int64)
    for i, j in enumerate(range(n - k, n)):
        t = _next_below(state, j + 1)
        if taken[t]:
            t = j
        taken[t] = True
        out[i] = t
    return out


@jit(nogil=True)
def _grow_tree(
    X: np.ndarray,
    n_samples: int,
    n_features: int,
    max_depth: int,
    seed: np.uint64,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    value: np.ndarray,
    gain: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Grow one isolation tree into the given node arrays; return its number of nodes.

    Node 0 is the root; the children of an inner node are ``left`` and
    ``left + 1``. ``gain[child]`` is the explanation credit of the split into
    ``child`` (see the module docstring).
    """
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    rows = _sample(X.shape[0], n_samples, state)
    feats = _sample(X.shape[1], n_features, state)
    # The subsample, contiguous: every split scans one of its columns.
    sub = np.empty((n_features, n_samples))
    for j in range(n_features):
        for i in range(n_samples):
            sub[j, i] = X[rows[i], feats[j]]
    order = np.arange(n_samples)
    # Candidate features in a running permutation: drawing from its front part
    # without replacement needs no reset between nodes.
    cand = np.arange(n_features)
    stack_node = np.empty(max_depth + 2, dtype=np.int64)
    stack_start = np.empty(max_depth + 2, dtype=np.int64)
    stack_end = np.empty(max_depth + 2, dtype=np.int64)
    stack_depth = np.empty(max_depth + 2, dtype=np.int64)
    stack_node[0], stack_start[0], stack_end[0], stack_depth[0] = 0, 0, n_samples, 0
    top, n_nodes = 1, 1
    gain[0] = 0.0
    while top > 0:
        top -= 1
        node, start, end, depth = (
            stack_node[top],
            stack_start[top],
            stack_end[top],
            stack_depth[top],
        )
        size = end - start
        split_feature, split_value = -1, 0.0
        if depth < max_depth and size > 1:
            # Draw features until one varies in the node, as scikit-learn does:
            # a constant feature cannot split, and skipping it keeps the tree
            # from stopping early on data with many constant columns.
            remaining = n_features
            while remaining > 0:
                r = _next_below(state, remaining)
                f = cand[r]
                cand[r] = cand[remaining - 1]
                cand[remaining - 1] = f
                remaining -= 1
                lo = hi = sub[f, order[start]]
                for p in range(start + 1, end):
                    v = sub[f, order[p]]
                    if v < lo:
                        lo = v
                    elif v > hi:
                        hi = v
                if hi > lo:
                    split_value = lo + _next_uniform(state) * (hi - lo)
                    if split_value >= hi:  # rounding; both sides must stay non-empty
                        split_value = lo
                    split_feature = f
                    break
        if split_feature < 0:
            # A leaf points to itself past a split no row can pass (x > inf is
            # false for finite x), so a walk can run a fixed number of levels.
            feature[node] = 0
            threshold[node] = np.inf
            left[node] = node
            value[node] = depth + _c(size)
            continue
        # Partition the node's rows: values <= split_value to the left.
        i, k = start, end - 1
        while i <= k:
            if sub[split_feature, order[i]] <= split_value:
                i += 1
            else:
                order[i], order[k] = order[k], order[i]
                k -= 1
        child = n_nodes
        n_nodes += 2
        feature[node] = feats[split_feature]
        threshold[node] = split_value
        left[node] = child
        parent_c = _c(size)
        gain[child] = parent_c - _c(i - start) - 1.0
        gain[child + 1] = parent_c - _c(end - i) - 1.0
        stack_node[top], stack_start[top], stack_end[top], stack_depth[top] = (
            child + 1,
            i,
            end,
            depth + 1,
        )
        stack_node[top + 1], stack_start[top + 1], stack_end[top + 1], stack_depth[top + 1] = (
            child,
            start,
            i,
            depth + 1,
        )
        top += 2
    return n_nodes


@jit(parallel=True, nogil=True)
def _grow_trees(
    X: np.ndarray,
    seeds: np.ndarray,
    n_samples: int,
    n_features: int,
    max_depth: int,
    max_nodes: int,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """Grow one tree per seed, in parallel, each into its own row of node arrays."""
    n_trees = seeds.shape[0]
    feature = np.zeros((n_trees, max_nodes), dtype=np.int32)
    threshold = np.zeros((n_trees, max_nodes))
    left = np.zeros((n_trees, max_nodes), dtype=np.int32)
    value = np.zeros((n_trees, max_nodes))
    gain = np.zeros((n_trees, max_nodes))
    n_nodes = np.zeros(n_trees, dtype=np.int64)
    for t in numba.prange(n_trees):
        n_nodes[t] = _grow_tree(
            X,
            n_samples,
            n_features,
            max_depth,
            seeds[t],
            feature[t],
            threshold[t],
            left[t],
            value[t],
            gain[t],
        )
    return feature, threshold, left, value, gain, n_nodes


@jit(parallel=True, nogil=True)
def _total_path_lengths(
    X: np.ndarray,
    roots: np.ndarray,
    node: np.ndarray,
    threshold: np.ndarray,
    value: np.ndarray,
    max_depth: int,
) -> np.ndarray:  # pragma: no cover - compiled
    """Sum over the trees of each row's path length h(x), leaf correction included.

    A block of rows walks each tree in lockstep, one level at a time for
    exactly ``max_depth`` levels (leaves point to themselves). The walks of a
    block are independent, so the processor overlaps their memory loads, and
    there is no data-dependent branch to mispredict. Indices are unsigned so
    that no negative-index wraparound is compiled into the inner loop. Each row
    still adds its trees in the same order, so its score does not depend on the
    batch it comes in.
    """
    n, d = X.shape
    flat = X.reshape(-1)
    stride = np.uint64(d)
    out = np.empty(n)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        lo = b * _BLOCK
        m = min(n, lo + _BLOCK) - lo
        first_row = np.uint64(lo * d)
        at = np.empty(m, dtype=np.uint64)
        total = np.zeros(m)
        for t in range(roots.shape[0]):
            at[:] = roots[t]
            for _ in range(max_depth):
                row = first_row
                for r in range(m):
                    k = at[r]
                    link = node[k]
                    x = flat[row + (link & _FEATURE_MASK)]
                    at[r] = (link >> _CHILD_SHIFT) + np.uint64(x > threshold[k])
                    row += stride
            for r in range(m):
                total[r] += value[at[r]]
        out[lo : lo + m] = total
    return out


@jit(parallel=True, nogil=True)
def _leaf_nodes(
    X: np.ndarray, roots: np.ndarray, node: np.ndarray, threshold: np.ndarray, max_depth: int
) -> np.ndarray:  # pragma: no cover - compiled
    """Per row and tree, the index of the leaf the row reaches (the forest's lockstep walk)."""
    n, d = X.shape
    flat = X.reshape(-1)
    stride = np.uint64(d)
    n_trees = roots.shape[0]
    out = np.empty((n, n_trees), dtype=np.int32)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        lo = b * _BLOCK
        m = min(n, lo + _BLOCK) - lo
        first_row = np.uint64(lo * d)
        at = np.empty(m, dtype=np.uint64)
        for t in range(n_trees):
            at[:] = roots[t]
            for _ in range(max_depth):
                row = first_row
                for r in range(m):
                    k = at[r]
                    link = node[k]
                    x = flat[row + (link & _FEATURE_MASK)]
                    at[r] = (link >> _CHILD_SHIFT) + np.uint64(x > threshold[k])
                    row += stride
            for r in range(m):
                out[lo + r, t] = np.int32(at[r])
    return out


@jit(parallel=True, nogil=True)
def _path_attributions(
    X: np.ndarray,
    roots: np.ndarray,
    node: np.ndarray,
    threshold: np.ndarray,
    gain: np.ndarray,
    max_depth: int,
) -> np.ndarray:  # pragma: no cover - compiled
    """Per row and feature, the mean over trees of the path shortfall credited to it.

    The same lockstep walk as :func:`_total_path_lengths`; a step that stays
    on a leaf credits nothing.
    """
    n, d = X.shape
    flat = X.reshape(-1)
    stride = np.uint64(d)
    out = np.zeros((n, d))
    credit = out.reshape(-1)
    n_trees = roots.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        lo = b * _BLOCK
        m = min(n, lo + _BLOCK) - lo
        first_row = np.uint64(lo * d)
        at = np.empty(m, dtype=np.uint64)
        for t in range(n_trees):
            at[:] = roots[t]
            for _ in range(max_depth):
                row = first_row
                for r in range(m):
                    k = at[r]
                    link = node[k]
                    cell = row + (link & _FEATURE_MASK)
                    nxt = (link >> _CHILD_SHIFT) + np.uint64(flat[cell] > threshold[k])
                    credit[cell] += gain[nxt] * (nxt != k)
                    at[r] = nxt
                    row += stride
        for i in range(lo * d, (lo + m) * d):
            credit[i] /= n_trees
    return out


def average_path_length(n: int) -> float:
    """``c(n)``: average depth of an unsuccessful search in a binary search tree of ``n`` keys.

    It normalises path lengths in the score, and completes the path of a leaf
    that still holds several rows.

    >>> average_path_length(1), average_path_length(2), round(average_path_length(256), 3)
    (0.0, 1.0, 10.245)
    """
    return float(_c(int(n)))


# -- the detector -------------------------------------------------------------


class IForest(BaseDetector):
    """Isolation forest (Liu, Ting and Zhou 2008); score ``2 ** (-E[h(x)] / c(max_samples))``.

    Parameters
    ----------
    n_estimators:
        Number of trees.
    max_samples:
        Rows drawn (without replacement) to grow each tree: ``"auto"`` for
        ``min(256, n_rows)``, an integer (at most the number of rows; larger
        values use all rows), or a fraction of the rows in (0, 1].
    max_features:
        Features each tree may split on, drawn per tree: an integer (at most
        the number of features) or a fraction in (0, 1].
    contamination:
        Share of anomalies, or ``"auto"`` to read it off the scores.
    random_state:
        Seed (or ``numpy.random.RandomState``) that fixes the subsamples and splits.

    Attributes
    ----------
    max_samples_, max_features_, max_depth_:
        The resolved subsample size, features per tree, and depth limit.
    tree_roots_:
        Index of each tree's root in the flattened node arrays.
    tree_node_:
        Per node of all trees, the left child in the high 32 bits (the right
        child follows it; a leaf is its own child) and the split feature in
        the low 32 bits.
    tree_threshold_, tree_value_, tree_gain_:
        Per node, the split value (``inf`` at a leaf), the path length of a row
        that ends there (depth plus ``c(size)``; leaves only), and the
        explanation credit of the split that leads into it.

    >>> rng = np.random.default_rng(1)
    >>> X = np.r_[rng.normal(size=(500, 2)), [[6.0, 6.0]]]
    >>> det = IForest(n_estimators=50, random_state=0).fit(X)
    >>> bool(det.decision_scores_[-1] > 0.7 > np.median(det.decision_scores_))
    True
    >>> det.predict([[0.0, 0.0], [7.0, -7.0]])
    array([0, 1])
    >>> det.path_length([[0.0, 0.0], [7.0, -7.0]]).round(1)
    array([13.2,  4.5])
    >>> round(average_path_length(det.max_samples_), 1)
    10.2
    """

    def __init__(
        self,
        n_estimators: int = 100,
        max_samples: int | float | str = "auto",
        max_features: int | float = 1.0,
        contamination: float | str = "auto",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        check_int("n_estimators", self.n_estimators, minimum=1)
        ms = self.max_samples
        if not (
            (isinstance(ms, str) and ms.strip().lower() == "auto")
            or (_is_int(ms) and int(ms) >= 2)
            or (_is_fraction(ms) and 0.0 < float(ms) <= 1.0)
        ):
            raise AnomalyzerError(
                f"max_samples must be 'auto', an integer >= 2 or a fraction in (0, 1], got {ms!r}."
            )
        mf = self.max_features
        if not ((_is_int(mf) and mf >= 1) or (_is_fraction(mf) and 0.0 < mf <= 1.0)):
            raise AnomalyzerError(
                f"max_features must be an integer >= 1 or a fraction in (0, 1], got {mf!r}."
            )
        try:
            check_random_state(self.random_state)
        except ValueError:
            raise AnomalyzerError(
                "random_state must be None, an integer or a numpy RandomState, "
                f"got {self.random_state!r}."
            ) from None

    def _fit(self, X: np.ndarray) -> None:
        X = _writeable(X)
        n, d = X.shape
        self.max_samples_ = self._resolve_max_samples(n)
        mf = self.max_features
        self.max_features_ = min(int(mf), d) if _is_int(mf) else max(1, int(mf * d))
        self.max_depth_ = int(np.ceil(np.log2(self.max_samples_)))
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, np.iinfo(np.int64).max, size=self.n_estimators, dtype=np.int64)
        seeds = seeds.astype(np.uint64)

        # A tree has at most 2 * max_samples - 1 nodes (one row or more per leaf)
        # and 2 ** (max_depth + 1) - 1 (depth limit).
        max_nodes = min(2 * self.max_samples_ - 1, 2 ** (self.max_depth_ + 1) - 1)
        if self.n_estimators * max_nodes > np.iinfo(np.int32).max:
            raise AnomalyzerError(
                f"n_estimators={self.n_estimators} trees of up to {max_nodes} nodes each exceed "
                "the 2**31 nodes a forest can index; lower max_samples or n_estimators."
            )
        batch = max(1, _BUILD_NODES // max_nodes)
        parts: list[tuple[np.ndarray, ...]] = []
        roots = np.empty(self.n_estimators, dtype=np.int64)
        offset = 0
        for first in range(0, self.n_estimators, batch):
            grown = launch(
                _grow_trees,
                X,
                seeds[first : first + batch],
                self.max_samples_,
                self.max_features_,
                self.max_depth_,
                max_nodes,
            )
            feature, threshold, left, value, gain, n_nodes = grown
            # Compact the batch: keep each tree's used nodes, children as global indices.
            for t, m in enumerate(n_nodes):
                roots[first + t] = offset
                links = (left[t, :m].astype(np.uint64) + np.uint64(offset)) << _CHILD_SHIFT
                links |= feature[t, :m].astype(np.uint64)
                parts.append((links, threshold[t, :m], value[t, :m], gain[t, :m]))
                offset += int(m)
        self.tree_roots_ = roots
        self.tree_node_, self.tree_threshold_, self.tree_value_, self.tree_gain_ = (
            np.ascontiguousarray(np.concatenate(column)) for column in zip(*parts, strict=True)
        )

    def _resolve_max_samples(self, n: int) -> int:
        ms = self.max_samples
        if isinstance(ms, str):
            size = 256
        elif _is_int(ms):
            size = int(ms)
        else:
            size = int(ms * n)
        # At least 2 rows so that c(max_samples) > 0, at most all of them.
        return max(2, min(size, n))

    def _score(self, X: np.ndarray) -> np.ndarray:
        depth = self._mean_path_length(X)
        return np.exp2(-depth / average_path_length(self.max_samples_))

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._attributions(X)

    def _mean_path_length(self, X: np.ndarray) -> np.ndarray:
        total = launch(
            _total_path_lengths,
            _writeable(X),
            self.tree_roots_,
            self.tree_node_,
            self.tree_threshold_,
            self.tree_value_,
            self.max_depth_,
        )
        return total / self.tree_roots_.shape[0]

    # -- beyond the contract --------------------------------------------------

    def path_length(self, X: Any) -> np.ndarray:
        """``E[h(x)]``: mean depth over the trees at which each row is isolated.

        Shorter means more anomalous; an ordinary row takes about ``c(max_samples_)``
        (:func:`average_path_length`) or more.
        """
        X = self._check_scoring_input(X)
        return self._mean_path_length(X)

    def apply(self, X: Any) -> np.ndarray:
        """Per row and tree, the node index of the leaf the row reaches (as scikit-learn's ``apply``).

        Shape ``(n_rows, n_trees)``, ``int32``; indices point into the forest's
        node arrays. Feedback learns weights over these leaves.

        >>> X = np.random.default_rng(0).normal(size=(200, 2))
        >>> leaves = IForest(n_estimators=3, random_state=0).fit(X).apply(X[:4])
        >>> leaves.shape, leaves.dtype
        ((4, 3), dtype('int32'))
        """
        X = self._check_scoring_input(X)
        return launch(
            _leaf_nodes,
            _writeable(X),
            self.tree_roots_,
            self.tree_node_,
            self.tree_threshold_,
            self.max_depth_,
        )

    def path_attributions(self, X: Any) -> np.ndarray:
        """Signed share of each feature in each row's path shortfall ``c(max_samples_) - E[h(x)]``.

        Rows sum exactly to the shortfall: positive for rows isolated sooner
        than average, negative for rows that take longer. :meth:`explain`
        reports the positive part.
        """
        return self._attributions(self._check_scoring_input(X))

    def _attributions(self, X: np.ndarray) -> np.ndarray:
        return launch(
            _path_attributions,
            _writeable(X),
            self.tree_roots_,
            self.tree_node_,
            self.tree_threshold_,
            self.tree_gain_,
            self.max_depth_,
        )

    def _check_scoring_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "threshold_")
        return check_array(X, n_features=self.n_features_in_)


def _writeable(X: np.ndarray) -> np.ndarray:
    """``X``, copied if read-only (memory maps, Arrow buffers).

    numba compiles, and caches, a separate version of each kernel for read-only
    arrays; a copy of the rows costs far less than that compile.
    """
    return X if X.flags.writeable else X.copy()


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_fraction(value: Any) -> bool:
    """A real number that is not an integer type (``1`` means one row, ``1.0`` all rows)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, numbers.Integral)
        and bool(np.isfinite(float(value)))
    )
