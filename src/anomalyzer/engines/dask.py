"""The Dask engine: fit on a sample, score every partition on the workers, write Parquet.

:func:`~anomalyzer.engines.detection.detect_dask` is ``detect`` for a data set that does
not fit one machine; :func:`score_dask` is ``Model.score_frame`` over one. Both run the
same passes over a Parquet data set, CSV files or a ``dask.dataframe``:

1. count the rows of each partition (empty partitions are dropped);
2. ``detect_dask`` only: fit a :class:`~anomalyzer.model.Model` on a uniform
   sample of :data:`~anomalyzer.engines.sampling.SAMPLE_ROWS` rows drawn
   across the partitions (see :mod:`anomalyzer.engines.sampling`);
3. score each partition with the model (``Model.score``: its preprocessing
   and its detector's ``decision_function``, as ``score_frame`` does), keeping
   only ``(row, score)`` pairs on the workers;
4. sort the pairs across the cluster (:mod:`anomalyzer.engines.ranking`):
   the threshold (``detect_dask``: from ``contamination`` over all scores,
   see :mod:`anomalyzer.engines.tail`; ``score_dask``: the model's own),
   the number of flags and every row's global rank;
5. write each partition, re-read, with its scores, flags, global ranks and
   the reasons of its rows among the flagged and the top ones
   (:func:`anomalyzer.scored.rows_to_explain`'s rule, over the whole data set),
   as ``part.NNNNN.parquet`` in the output folder.

Nothing but the sample, a few order statistics and the top rows comes back
to this process. Time series with a group column go through
:mod:`anomalyzer.engines.series`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from anomalyzer.engines.cluster import dashboard
from anomalyzer.engines.output import part_name, prepare_folder, remove_leftovers, write_part
from anomalyzer.engines.passes import (
    DaskSummary,
    Progress,
    gather_rows,
    one_process,
    partitions,
    step,
    totals,
    wait_for,
    with_client,
)
from anomalyzer.engines.ranking import POS, RANK, SCORE, GlobalOrder
from anomalyzer.engines.sampling import uniform_sample
from anomalyzer.engines.sources import dask_frame
from anomalyzer.engines.tail import threshold_at_scale
from anomalyzer.scored import MIN_EXPLAINED, scored_frame

if TYPE_CHECKING:
    # Only for annotations: the model imports this module (Model.score_dask), not the reverse.
    from anomalyzer.model import Model

__all__ = ["DaskSummary", "score_dask"]


def score_dask(
    model: Model,
    data: Any,
    *,
    out: str | os.PathLike[str],
    top: int = 10,
    max_explained: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> DaskSummary:
    """Score every row of ``data`` with the fitted ``model`` on the cluster and write ``out``.

    The flags use the model's threshold, as ``Model.score_frame`` does; ranks
    and reasons are over the whole data set.
    """
    model._check_fitted()
    return with_client(
        client,
        lambda c: run_table(
            data, out, c, model, fit=None, contamination=None, seed=None, sample_rows=0,
            top=top, max_explained=max_explained, progress=progress,
        ),
    )  # fmt: skip


# -- the passes ---------------------------------------------------------------------------


def run_table(
    data: Any,
    out: str | os.PathLike[str],
    client: Any,
    model: Model,
    *,
    fit: Callable[[pd.DataFrame], Model] | None,
    contamination: float | str | None,
    seed: int | None,
    sample_rows: int,
    top: int,
    max_explained: int | None,
    progress: Progress | None,
) -> DaskSummary:
    started = time.perf_counter()
    ddf = dask_frame(data)
    folder = prepare_folder(out, data)
    try:
        return _passes(ddf, folder, client, model, started, fit=fit, contamination=contamination,
                       seed=seed, sample_rows=sample_rows, top=top, max_explained=max_explained,
                       progress=progress)  # fmt: skip
    except BaseException:
        # A run that fails before writing leaves no empty folder behind.
        remove_leftovers(folder)
        if not any(folder.iterdir()):
            folder.rmdir()
        raise


def _passes(
    ddf: Any,
    folder: Path,
    client: Any,
    model: Model,
    started: float,
    *,
    fit: Callable[[pd.DataFrame], Model] | None,
    contamination: float | str | None,
    seed: int | None,
    sample_rows: int,
    top: int,
    max_explained: int | None,
    progress: Progress | None,
) -> DaskSummary:
    from dask import delayed

    parts, lengths = partitions(ddf, client, progress)
    n = sum(lengths)
    n_sample = None
    if fit is not None:
        sample = uniform_sample(parts, lengths, sample_rows, seed, client)
        n_sample = len(sample)
        step(progress, f"Fitting {model.detector_name} on a sample of {n_sample:,} rows", 0, 1)
        fit(sample)
        step(progress, f"Fitting {model.detector_name} on a sample of {n_sample:,} rows", 1, 1)
        del sample
    # One copy of the model in the graph, shared by every task that needs it.
    fitted = delayed(model, pure=True)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    keys = [delayed(_score_part)(p, fitted, int(s)) for p, s in zip(parts, starts, strict=False)]
    meta = pd.DataFrame(
        {
            POS: pd.Series(dtype="int64"),
            SCORE: pd.Series(dtype="float64"),
        }
    )
    import dask.dataframe as dd

    scored = client.persist(dd.from_delayed(keys, meta=meta, verify_meta=False))
    wait_for(client, scored, f"Scoring {n:,} rows in {len(parts)} partitions", progress)
    step(progress, "Sorting the scores across the cluster", 0, 1)
    order = GlobalOrder(scored, lengths, client)
    del scored
    if contamination is None:
        threshold = float(model.threshold_)
    else:
        threshold = threshold_at_scale(order, contamination, seed=seed)
        # The threshold of the whole data set is the model's from now on (saved with it).
        model.threshold_ = threshold
    flags = order.count_above(threshold)
    step(progress, "Threshold and order of all scores found", 1, 1)
    n_explain = max(flags, min(MIN_EXPLAINED, n))
    if max_explained is not None:
        n_explain = min(n_explain, max_explained)
    ranks = order.ranks()
    writes = [
        delayed(_write_part)(p, r, fitted, threshold, n_explain, top, str(folder / part_name(i)))
        for i, (p, r) in enumerate(zip(parts, ranks, strict=True))
    ]
    results = gather_rows(client, writes, n, progress)
    order.release()
    remove_leftovers(folder)
    rows, flags, best = totals(results, top)
    return DaskSummary(
        path=folder,
        rows=rows,
        flags=flags,
        threshold=threshold,
        top=best,
        model=model,
        partitions=len(parts),
        sample_rows=n_sample,
        seconds=time.perf_counter() - started,
        dashboard=dashboard(client),
    )


def _score_part(part: pd.DataFrame, model: Model, start: int) -> pd.DataFrame:
    # Model.score is score_frame's scoring: the model's preprocessing, then its detector.
    with one_process():
        scores = model.score(part)
    pos = np.arange(start, start + len(part), dtype=np.int64)
    return pd.DataFrame({POS: pos, SCORE: np.asarray(scores, dtype=np.float64)})


def _write_part(
    part: pd.DataFrame,
    ranks: pd.DataFrame,
    model: Model,
    threshold: float,
    n_explain: int,
    top: int,
    path: str,
) -> dict[str, Any]:
    if len(ranks) != len(part):
        raise RuntimeError(f"partition of {len(part)} rows got {len(ranks)} ranks")
    scores = ranks[SCORE].to_numpy()
    rank = ranks[RANK].to_numpy()
    flags = scores > threshold
    explained = np.flatnonzero(rank <= n_explain)
    reasons: dict[int, str] = {}
    if explained.size:
        with one_process():
            texts = model.reasons(part.iloc[explained])
        reasons = dict(zip(explained.tolist(), texts, strict=True))
    frame = scored_frame(part, scores, flags, reasons)
    # scored_frame ranks within the partition; the rank that counts is the global one.
    frame[RANK] = rank
    write_part(frame, Path(path))
    best = frame[rank <= top]
    # Index the top rows by their position in the whole data set.
    best.index = ranks.index[rank <= top]
    return {"rows": len(frame), "flags": int(flags.sum()), "top": best}
