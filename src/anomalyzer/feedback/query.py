"""Which rows to show the analyst next.

``top`` asks about the highest-scoring rows not yet labelled: what AAD does,
and the most rewarding when each label is learned from at once. When labels
come in batches (several analysts, or a review page that shows a page of
rows), the top rows often sit in one cluster and teach the same thing;
``diverse_batch`` takes the batch from the top candidates but spreads it, each
next pick the candidate farthest from those already picked (the Euclidean
diversity of Das et al., "Active anomaly discovery" batch queries).

>>> scores = np.array([0.9, 0.8, 0.85, 0.1, 0.7])
>>> top(scores, labelled=[0], k=2).tolist()
[2, 1]
>>> X = np.array([[0.0], [0.1], [0.05], [9.0], [5.0]])
>>> diverse_batch(scores, X, k=2).tolist()
[0, 3]
>>> diverse_batch(scores, X, k=2, n_candidates=3).tolist()
[0, 1]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def _free(scores: np.ndarray, labelled: Iterable[int]) -> np.ndarray:
    """Positions not labelled yet, highest score first (ties in row order)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    taken = np.zeros(len(scores), dtype=bool)
    taken[np.fromiter((int(i) for i in labelled), dtype=np.int64)] = True
    return order[~taken[order]]


def top(scores: np.ndarray, labelled: Iterable[int] = (), k: int = 1) -> np.ndarray:
    """The ``k`` highest-scoring positions not in ``labelled``."""
    return _free(scores, labelled)[: max(0, int(k))]


def diverse_batch(
    scores: np.ndarray,
    X: np.ndarray,
    labelled: Iterable[int] = (),
    k: int = 5,
    n_candidates: int | None = None,
) -> np.ndarray:
    """``k`` rows from the top ``n_candidates`` (default ``3 k``, at least 10), spread out.

    The first is the top row; each next one is the candidate whose nearest
    pick is farthest away (in ``X``, the encoded features), ties to the higher score.
    """
    k = max(0, int(k))
    free = _free(scores, labelled)
    pool = free[: max(10, 3 * k) if n_candidates is None else max(k, int(n_candidates))]
    if pool.size <= k:
        return pool
    points = np.asarray(X, dtype=np.float64)[pool]
    chosen = [0]
    nearest = np.linalg.norm(points - points[0], axis=1)
    while len(chosen) < k:
        nearest[chosen] = -np.inf
        nxt = int(np.argmax(nearest))  # first maximum: the higher-scoring candidate
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[nxt], axis=1))
    return pool[chosen]
