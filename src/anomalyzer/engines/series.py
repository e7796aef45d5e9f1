"""Many time series on a Dask cluster: one model per series, fitted and scored on the workers.

The rows are shuffled so that each series (each value of the group column)
lands whole in one partition; each partition then runs the local series
path (``anomalyzer.detect(..., time=, group=)``, one process per worker) on
the series it holds, which fits one detector per series exactly as locally:
the scores, flags and reasons of a row are the ones a local run gives.
The global ranks come from the same distributed sort as for tables
(:mod:`anomalyzer.engines.ranking`; rows without a score rank last, ties in
input order). Memory per worker is bounded by the partition that holds the
largest share of series (:data:`ROWS_PER_PARTITION` rows on average).

The output folder holds one Parquet file per shuffled partition: the rows of
a series together, in their input order, rather than the input's row order.
"""

from __future__ import annotations

import os
import time as clock
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.engines.output import part_name, prepare_folder, remove_leftovers, write_part
from anomalyzer.engines.ranking import ORDER, POS, RANK, SCORE, GlobalOrder
from anomalyzer.engines.sources import dask_frame
from anomalyzer.errors import AnomalyzerError

#: Rows per shuffled partition aimed at: a few hundred series of a few thousand points.
ROWS_PER_PARTITION = 1_000_000
_PASS1 = "_series_pass"
# Column of the first pass's files carrying how many series the partition held.
_SERIES = "_anomalyzer_series"


def detect_series_dask(
    data: Any,
    out: str | os.PathLike[str],
    client: Any,
    *,
    detector: str,
    time: str,
    value: str | Sequence[str] | None,
    group: str | None,
    contamination: float | str,
    top: int = 10,
    progress: Any = None,
    **params: Any,
) -> Any:
    """Fit and score every series of ``data`` (one per ``group`` value) on the cluster; write ``out``."""
    from dask import delayed

    from anomalyzer.engines.passes import (
        DaskSummary,
        gather_rows,
        partitions,
        step,
        totals,
        wait_for,
    )
    from anomalyzer.timeseries.model import SeriesModel

    if group is None:
        raise AnomalyzerError(
            "The dask engine spreads time series by their group column; give group= (--group), "
            "or use the local engine for one series."
        )
    started = clock.perf_counter()
    # Bad detector names and parameters are reported before any work.
    SeriesModel(detector, contamination=contamination, n_jobs=1, **params)
    ddf = dask_frame(data)
    for col in (time, group, *([value] if isinstance(value, str) else (value or ()))):
        if col not in ddf.columns:
            raise AnomalyzerError(
                f"Column '{col}' not found; the columns are: {', '.join(map(str, ddf.columns))}."
            )
    folder = prepare_folder(out, data)
    parts, lengths = partitions(ddf, client, progress)
    n = sum(lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    numbered = [delayed(_number)(p, int(s)) for p, s in zip(parts, starts, strict=False)]
    import dask.dataframe as dd

    meta = ddf._meta.assign(**{ORDER: pd.Series(dtype="int64")})
    frame = dd.from_delayed(numbered, meta=meta, verify_meta=False)
    n_parts = max(len(parts), -(-n // ROWS_PER_PARTITION), 2 * _n_workers(client))
    shuffled = frame.shuffle(on=group, npartitions=n_parts)
    settings = {
        "detector": detector,
        "time": time,
        "value": value,
        "group": group,
        "contamination": contamination,
        "params": params,
    }
    scratch = folder / _PASS1
    scratch.mkdir()
    keys = [
        delayed(_fit_and_score)(p, settings, str(scratch / part_name(j)))
        for j, p in enumerate(shuffled.to_delayed())
    ]
    kmeta = pd.DataFrame(
        {
            POS: pd.Series(dtype="int64"),
            ORDER: pd.Series(dtype="int64"),
            SCORE: pd.Series(dtype="float64"),
        }
    )
    local_keys = client.persist(dd.from_delayed(keys, meta=kmeta, verify_meta=False))
    wait_for(client, local_keys, f"Fitting and scoring the series of {n:,} rows", progress)
    kparts = local_keys.to_delayed()
    counts = client.compute([delayed(len)(p) for p in kparts], sync=True)
    kept = [j for j, c in enumerate(counts) if c > 0]
    klen = [int(counts[j]) for j in kept]
    kstarts = np.concatenate([[0], np.cumsum(klen)]).astype(np.int64)
    shifted = [delayed(_shift)(kparts[j], int(s)) for j, s in zip(kept, kstarts[:-1], strict=True)]
    step(progress, "Sorting the scores across the cluster", 0, 1)
    order = GlobalOrder(dd.from_delayed(shifted, meta=kmeta, verify_meta=False), klen, client)
    del local_keys
    step(progress, "Threshold and order of all scores found", 1, 1)
    ranks = order.ranks()
    writes = [
        delayed(_finish)(str(scratch / part_name(j)), r, top, str(folder / part_name(j)))
        for j, r in zip(kept, ranks, strict=True)
    ]
    results = gather_rows(client, writes, n, progress)
    order.release()
    for leftover in scratch.glob("*"):
        leftover.unlink()
    scratch.rmdir()
    remove_leftovers(folder)
    rows, flags, best = totals(results, top)
    from anomalyzer.engines.cluster import dashboard

    return DaskSummary(
        path=folder,
        rows=rows,
        flags=flags,
        threshold=None,
        top=best,
        model=None,
        partitions=len(kept),
        n_series=int(sum(r["series"] for r in results)),
        seconds=clock.perf_counter() - started,
        dashboard=dashboard(client),
    )


def _n_workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except (AttributeError, OSError):
        return 1


def _number(part: pd.DataFrame, start: int) -> pd.DataFrame:
    return part.assign(**{ORDER: np.arange(start, start + len(part), dtype=np.int64)})


def _fit_and_score(part: pd.DataFrame, settings: dict[str, Any], path: str) -> pd.DataFrame:
    """Run the local series path on the series of one partition; keep the rows on disk, return the keys."""
    from anomalyzer.scored import scored_frame
    from anomalyzer.timeseries.model import SeriesModel
    from anomalyzer.timeseries.result import SeriesResult

    empty = pd.DataFrame(
        {
            POS: np.empty(0, np.int64),
            ORDER: np.empty(0, np.int64),
            SCORE: np.empty(0),
        }
    )
    if len(part) == 0:
        return empty
    # Rows in input order, as the local path sees them.
    part = part.sort_values(ORDER, kind="stable")
    order = part[ORDER].to_numpy()
    rows = part.drop(columns=[ORDER]).reset_index(drop=True)
    try:
        # What anomalyzer.detect(time=, group=) runs, in this worker's one process.
        model = SeriesModel(
            settings["detector"],
            contamination=settings["contamination"],
            n_jobs=1,
            **settings["params"],
        ).fit(rows, settings["time"], value=settings["value"], group=settings["group"])
        result = SeriesResult.from_model(model, rows)
        frame = result.frame
        n_series = result.n_series
    except AnomalyzerError as exc:
        # Every series of this partition is too short: its rows stay unscored, as locally.
        nan = np.full(len(rows), np.nan)
        why = f"not scored: {str(exc).rstrip('.')}"
        frame = scored_frame(
            rows, nan, np.zeros(len(rows), bool), dict.fromkeys(range(len(rows)), why)
        )
        n_series = 0
    frame[ORDER] = order
    write_part(frame.assign(**{_SERIES: n_series}), Path(path))
    return pd.DataFrame(
        {
            POS: np.arange(len(frame), dtype=np.int64),
            ORDER: order,
            SCORE: frame[SCORE].to_numpy(dtype=np.float64),
        }
    )


def _shift(keys: pd.DataFrame, start: int) -> pd.DataFrame:
    return keys.assign(**{POS: keys[POS].to_numpy() + start})


def _finish(scratch: str, ranks: pd.DataFrame, top: int, path: str) -> dict[str, Any]:
    frame = pd.read_parquet(scratch)
    if len(frame) != len(ranks):
        raise RuntimeError(f"partition of {len(frame)} rows got {len(ranks)} ranks")
    n_series = int(frame[_SERIES].iloc[0]) if len(frame) else 0
    order = frame[ORDER].to_numpy()
    frame = frame.drop(columns=[_SERIES, ORDER])
    frame[RANK] = ranks[RANK].to_numpy()
    write_part(frame, Path(path))
    rank = frame[RANK].to_numpy()
    best = frame[rank <= top]
    best.index = pd.Index(order[rank <= top])
    return {
        "rows": len(frame),
        "flags": int(frame["is_anomaly"].sum()),
        "series": n_series,
        "top": best,
    }
