"""A bounded, uniform, reproducible sample of rows drawn across the partitions of a data set.

The model of a data set too big for one machine is fitted on
:data:`SAMPLE_ROWS` rows drawn uniformly without replacement from all rows
(every row equally likely, whatever partition it sits in), with the
preprocessing statistics computed on the same rows. The draw depends only
on the seed and on the partition lengths, so the same data set, partitioned
the same way, gives the same sample. A data set with at most
``SAMPLE_ROWS`` rows is used whole, in its order, which makes the model the
one fitted locally on the same table.

>>> [p.tolist() for p in sample_positions([3, 2], 10, seed=0)]
[[0, 1, 2], [0, 1]]
>>> parts = sample_positions([1000, 1000], 5, seed=7)
>>> sum(len(p) for p in parts), [p.tolist() for p in parts] == [q.tolist() for q in sample_positions([1000, 1000], 5, seed=7)]
(5, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Rows the model is fitted on at scale: enough for the detectors' statistics
#: to settle (an isolation forest sees 256 rows per tree), few enough to fit
#: in seconds on one process.
SAMPLE_ROWS = 100_000


def sample_positions(lengths: Sequence[int], size: int, seed: int | None) -> list[np.ndarray]:
    """Row positions to take from each partition: ``size`` rows uniform over all of them, sorted."""
    lengths = [int(n) for n in lengths]
    total = sum(lengths)
    if total <= size:
        return [np.arange(n, dtype=np.int64) for n in lengths]
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(total, size=size, replace=False)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    bounds = np.searchsorted(picks, offsets)
    return [picks[bounds[i] : bounds[i + 1]] - offsets[i] for i in range(len(lengths))]


def uniform_sample(
    parts: Sequence[Any], lengths: Sequence[int], size: int, seed: int | None, client: Any
) -> pd.DataFrame:
    """Gather the sampled rows of the delayed partitions ``parts`` on this process, in row order."""
    from dask import delayed

    positions = sample_positions(lengths, size, seed)
    tasks = [
        delayed(_take)(part, pos) for part, pos in zip(parts, positions, strict=True) if len(pos)
    ]
    pieces = client.compute(tasks, sync=True)
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()


def _take(part: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    return part.iloc[positions]
