"""The global order of the scores of a distributed data set: ranks, order statistics, counts.

Two passes over the scores, never over the rows: the ``(score, row)`` pairs
are sorted across the cluster (Dask's distributed sort, rows of equal score
in one partition, ordered by row), which gives every order statistic and
every rank exactly; the ranks then travel back to the partitions the rows
came from (a second shuffle, on the row position). Ties and missing scores
rank as :func:`anomalyzer.scored.scored_frame` ranks them: by row order, NaN
last. Only the pairs move (about 24 bytes a row, spilled to disk by the
workers when memory runs short).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

SCORE = "anomaly_score"
RANK = "anomaly_rank"
#: Position of a row in the data set (0 .. n-1, partition after partition).
POS = "_anomalyzer_pos"
#: Tie-break among equal scores: the row's place in the input.
ORDER = "_anomalyzer_order"


def quantile_of_sorted(n: int, q: float, value_at: Any) -> float:
    """``np.quantile(scores, q)`` (linear) given ``value_at(i)``, the i-th smallest of ``n`` scores.

    The same index and interpolation arithmetic as NumPy, so the result is the same number.

    >>> s = np.array([3.0, 1.0, 7.5, 2.0, 9.0])
    >>> bool(quantile_of_sorted(5, 0.9, lambda i: np.sort(s)[i]) == np.quantile(s, 0.9))
    True
    """
    virtual = np.asarray((n - 1) * np.float64(q))
    prev = np.floor(virtual)
    lo = min(max(int(prev), 0), n - 1)
    hi = min(lo + 1, n - 1)
    gamma = np.asarray(virtual - prev)
    a, b = np.float64(value_at(lo)), np.float64(value_at(hi))
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)


class GlobalOrder:
    """The scores of a dask frame of ``(POS, [ORDER,] SCORE)`` sorted across the cluster, kept on the workers.

    ``ORDER`` breaks ties among equal scores; without it (a table, whose rows are in
    input order) the position does, which saves 8 bytes a row on the workers.

    ``lengths`` are the row counts of the partitions that ``POS`` numbers.
    """

    def __init__(self, keys: Any, lengths: Sequence[int], client: Any) -> None:
        self.client = client
        self.lengths = [int(n) for n in lengths]
        self.n = sum(self.lengths)
        # Rows of a table tie-break on their position; series rows carry their input order.
        tie = ORDER if ORDER in keys.columns else POS
        ordered = keys.sort_values([SCORE, tie], ascending=[False, True], na_position="last")
        self.sorted = client.persist(ordered)
        self.parts = self.sorted.to_delayed()
        counts = client.compute([_len(p) for p in self.parts], sync=True)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # NaN scores (rows that could not be scored) sort last and are no order statistic.
        self.n_scored = self.n - int(client.compute(_count_nan_all(self.parts), sync=True))

    def values_desc(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Scores at the given positions from the top (0 = highest score)."""
        from dask import delayed

        pos = np.asarray(positions, dtype=np.int64)
        if pos.size == 0:
            return np.empty(0)
        part = np.searchsorted(self.offsets, pos, side="right") - 1
        tasks = [
            delayed(_values)(self.parts[j], pos[part == j] - self.offsets[j])
            for j in np.unique(part)
        ]
        pieces = self.client.compute(tasks, sync=True)
        out = np.empty(pos.size)
        for j, values in zip(np.unique(part), pieces, strict=True):
            out[part == j] = values
        return out

    def top(self, k: int) -> np.ndarray:
        """The ``k`` highest scores, highest first."""
        return self.values_desc(np.arange(min(k, self.n_scored)))

    def quantile(self, q: float) -> float:
        """``np.quantile`` of all (scored) scores."""
        n = self.n_scored
        return quantile_of_sorted(n, q, lambda i: self.values_desc([n - 1 - i])[0])

    def count_above(self, value: float) -> int:
        """How many scores are strictly above ``value``."""
        from dask import delayed

        tasks = [delayed(_count_above)(p, value) for p in self.parts]
        return int(sum(self.client.compute(tasks, sync=True)))

    def ranks(self) -> list[Any]:
        """One delayed frame per partition of ``lengths``: ``SCORE`` and ``RANK`` indexed by ``POS``, in row order."""
        offsets = self.offsets

        def add_rank(
            part: pd.DataFrame, partition_info: dict[str, Any] | None = None
        ) -> pd.DataFrame:
            start = int(offsets[partition_info["number"]]) if partition_info else 0
            rank = np.arange(start + 1, start + 1 + len(part), dtype=np.int64)
            return pd.DataFrame(
                {POS: part[POS].to_numpy(), SCORE: part[SCORE].to_numpy(), RANK: rank},
                index=part.index,
            )

        ranked = self.sorted.map_partitions(
            add_rank,
            meta=pd.DataFrame(
                {
                    POS: pd.Series(dtype="int64"),
                    SCORE: pd.Series(dtype="float64"),
                    RANK: pd.Series(dtype="int64"),
                }
            ),
        )
        starts = np.concatenate([[0], np.cumsum(self.lengths)])
        divisions = [*starts[:-1].tolist(), int(starts[-1] - 1)]
        back = ranked.set_index(POS, divisions=divisions, sorted=False)
        return back.to_delayed()

    def release(self) -> None:
        """Let the workers drop the sorted scores."""
        self.parts = []
        self.sorted = None


def _len(part: Any) -> Any:
    from dask import delayed

    return delayed(len)(part)


def _count_nan_all(parts: list[Any]) -> Any:
    from dask import delayed

    return delayed(sum)([delayed(_count_nan)(p) for p in parts])


def _count_nan(part: pd.DataFrame) -> int:
    return int(part[SCORE].isna().sum())


def _values(part: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    return part[SCORE].to_numpy()[positions]


def _count_above(part: pd.DataFrame, value: float) -> int:
    return int(np.count_nonzero(part[SCORE].to_numpy() > value))
