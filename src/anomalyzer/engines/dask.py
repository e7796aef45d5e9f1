"""The Dask engine: fit on a sample, score every partition on the workers, write Parquet.

:func:`detect_dask` is ``detect`` for a data set that does not fit one
machine; :func:`score_dask` is ``Model.score_frame`` over one. Both run the
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
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.engines.cluster import dashboard, dask_client
from anomalyzer.engines.output import part_name, prepare_folder, remove_leftovers, write_part
from anomalyzer.engines.ranking import ORDER, POS, RANK, SCORE, GlobalOrder
from anomalyzer.engines.sampling import SAMPLE_ROWS, uniform_sample
from anomalyzer.engines.sources import dask_frame
from anomalyzer.engines.tail import threshold_at_scale
from anomalyzer.errors import AnomalyzerError
from anomalyzer.model import DEFAULT_DETECTOR, Model
from anomalyzer.scored import MIN_EXPLAINED, scored_frame

#: ``progress(step, done, total)``: called as partitions finish; the last
#: step counts rows written, the others tasks.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DaskSummary:
    """What a Dask run wrote and found: the folder, rows, flags, threshold and the top rows.

    ``top`` holds the best-ranked rows (input columns and the four output
    columns, reasons included), most anomalous first, indexed by their
    position in the data set (for series, in the input); ``threshold`` is None
    for time series, whose series each have their own.
    """

    path: Path
    rows: int
    flags: int
    threshold: float | None
    top: pd.DataFrame
    model: Any
    partitions: int
    sample_rows: int | None = None
    n_series: int | None = None
    seconds: float = 0.0
    dashboard: str | None = None

    @property
    def share(self) -> float:
        """The share of rows flagged."""
        return self.flags / self.rows if self.rows else 0.0

    def __repr__(self) -> str:
        thr = "per series" if self.threshold is None else f"{self.threshold:.4g}"
        return (
            f"DaskSummary({self.rows:,} rows, {self.flags:,} flagged, threshold={thr}, "
            f"{self.partitions} partitions -> '{self.path}')"
        )


def detect_dask(
    data: Any,
    detector: str = DEFAULT_DETECTOR,
    *,
    out: str | os.PathLike[str],
    contamination: float | str = "auto",
    label: str | Sequence[Any] | None = None,
    exclude: Sequence[str] = (),
    roles: Mapping[str, str] | None = None,
    random_state: int | None = 0,
    max_explained: int | None = None,
    sample_rows: int = SAMPLE_ROWS,
    top: int = 10,
    client: Any = None,
    progress: Progress | None = None,
    time: str | None = None,
    value: str | Sequence[str] | None = None,
    group: str | None = None,
    **params: Any,
) -> DaskSummary:
    """Fit a model on a sample of ``data``, score every row on the cluster and write ``out``.

    ``data`` is a Parquet folder or glob, a CSV glob or a ``dask.dataframe``;
    ``out`` a new (or empty) folder that receives one Parquet file per
    partition. ``client`` is a ``distributed.Client``; without one a
    ``LocalCluster`` is started for the call. With ``time`` and ``group`` the
    data are many time series, each fitted and scored on a worker (see
    :func:`anomalyzer.engines.series.detect_series_dask`).
    """
    if time is not None:
        from anomalyzer.engines.series import detect_series_dask

        if label is not None or tuple(exclude) or roles:
            raise AnomalyzerError(
                "label=, exclude= and roles= apply to tables with the dask engine; give the "
                "series' value columns with value=."
            )
        return _with_client(
            client,
            lambda c: detect_series_dask(
                data, out, c, detector=detector, time=time, value=value, group=group,
                contamination=contamination, top=top, progress=progress, **params,
            ),
        )  # fmt: skip
    if value is not None or group is not None:
        raise AnomalyzerError(
            "value= and group= name the columns of time series; give the time column with time=."
        )
    if label is not None and not isinstance(label, str):
        raise AnomalyzerError("With engine='dask' give label= as the name of a column.")
    if sample_rows < 1:
        raise AnomalyzerError(f"sample_rows must be at least 1, not {sample_rows}.")
    model = Model(
        detector,
        contamination=contamination,
        exclude=exclude,
        roles=roles,
        random_state=random_state,
        **params,
    )

    def fit(sample: pd.DataFrame) -> Model:
        return model.fit(sample, label=label)

    return _with_client(
        client,
        lambda c: _run_table(
            data, out, c, model, fit=fit, contamination=contamination, seed=random_state,
            sample_rows=sample_rows, top=top, max_explained=max_explained, progress=progress,
        ),
    )  # fmt: skip


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
    return _with_client(
        client,
        lambda c: _run_table(
            data, out, c, model, fit=None, contamination=None, seed=None, sample_rows=0,
            top=top, max_explained=max_explained, progress=progress,
        ),
    )  # fmt: skip


# -- the passes -------------------------------------------------------------------------------


def _with_client(client: Any, run: Callable[[Any], DaskSummary]) -> DaskSummary:
    with warnings.catch_warnings():
        # The fitted model travels once in the graph; Dask warns about any graph over 10 MiB.
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        if client is not None:
            return run(client)
        try:
            from distributed import default_client

            client = default_client()
        except ValueError:  # no client yet: start a cluster for this call
            with dask_client() as started:
                return run(started)
        return run(client)


def _run_table(
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

    parts, lengths = _partitions(ddf, client, progress)
    n = sum(lengths)
    n_sample = None
    if fit is not None:
        sample = uniform_sample(parts, lengths, sample_rows, seed, client)
        n_sample = len(sample)
        _step(progress, f"Fitting {model.detector_name} on a sample of {n_sample:,} rows", 0, 1)
        fit(sample)
        _step(progress, f"Fitting {model.detector_name} on a sample of {n_sample:,} rows", 1, 1)
        del sample
    # One copy of the model in the graph, shared by every task that needs it.
    fitted = delayed(model, pure=True)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    keys = [delayed(_score_part)(p, fitted, int(s)) for p, s in zip(parts, starts, strict=False)]
    meta = pd.DataFrame(
        {
            POS: pd.Series(dtype="int64"),
            ORDER: pd.Series(dtype="int64"),
            SCORE: pd.Series(dtype="float64"),
        }
    )
    import dask.dataframe as dd

    scored = client.persist(dd.from_delayed(keys, meta=meta, verify_meta=False))
    _wait(client, scored, f"Scoring {n:,} rows in {len(parts)} partitions", progress)
    _step(progress, "Sorting the scores across the cluster", 0, 1)
    order = GlobalOrder(scored, lengths, client)
    del scored
    if contamination is None:
        threshold = float(model.threshold_)
    else:
        threshold = threshold_at_scale(order, contamination, seed=seed)
        # The threshold of the whole data set is the model's from now on (saved with it).
        model.threshold_ = threshold
    flags = order.count_above(threshold)
    _step(progress, "Threshold and order of all scores found", 1, 1)
    n_explain = max(flags, min(MIN_EXPLAINED, n))
    if max_explained is not None:
        n_explain = min(n_explain, max_explained)
    ranks = order.ranks()
    writes = [
        delayed(_write_part)(p, r, fitted, threshold, n_explain, top, str(folder / part_name(i)))
        for i, (p, r) in enumerate(zip(parts, ranks, strict=True))
    ]
    results = _gather_rows(client, writes, n, progress)
    order.release()
    remove_leftovers(folder)
    tops = [r["top"] for r in results if len(r["top"])]
    best = pd.concat(tops).sort_values(RANK).head(top) if tops else pd.DataFrame()
    return DaskSummary(
        path=folder,
        rows=int(sum(r["rows"] for r in results)),
        flags=int(sum(r["flags"] for r in results)),
        threshold=threshold,
        top=best,
        model=model,
        partitions=len(parts),
        sample_rows=n_sample,
        seconds=time.perf_counter() - started,
        dashboard=dashboard(client),
    )


def _partitions(ddf: Any, client: Any, progress: Progress | None) -> tuple[list[Any], list[int]]:
    """The delayed non-empty partitions of ``ddf`` and their row counts."""
    from dask import delayed

    parts = ddf.to_delayed()
    futures = client.compute([delayed(len)(p) for p in parts])
    lengths = [int(v) for v in _gather(client, futures, "Counting rows", progress)]
    keep = [i for i, v in enumerate(lengths) if v > 0]
    if not keep:
        raise AnomalyzerError("The data set has no rows; check the path or the glob.")
    return [parts[i] for i in keep], [lengths[i] for i in keep]


def _score_part(part: pd.DataFrame, model: Model, start: int) -> pd.DataFrame:
    # Model.score is score_frame's scoring: the model's preprocessing, then its detector.
    with one_process():
        scores = model.score(part)
    pos = np.arange(start, start + len(part), dtype=np.int64)
    return pd.DataFrame({POS: pos, ORDER: pos, SCORE: np.asarray(scores, dtype=np.float64)})


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


@contextmanager
def one_process() -> Iterator[None]:
    """Quiet scikit-learn's notice that a Dask worker runs its jobs in one process: it is meant to."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Inside a Dask worker", category=UserWarning)
        yield


# -- progress -------------------------------------------------------------------------------


def _step(progress: Progress | None, what: str, done: int, total: int) -> None:
    if progress is not None:
        progress(what, done, total)


def _gather(client: Any, futures: list[Any], what: str, progress: Progress | None) -> list[Any]:
    from distributed import as_completed

    total = len(futures)
    for done, _ in enumerate(as_completed(futures), start=1):
        _step(progress, what, done, total)
    return client.gather(futures)


def _wait(client: Any, collection: Any, what: str, progress: Progress | None) -> None:
    from distributed import as_completed, futures_of

    futures = futures_of(collection)
    total = len(futures)
    for done, _ in enumerate(as_completed(futures), start=1):
        _step(progress, what, done, total)
    # Raise the first error of a failed partition here, not later.
    client.gather(futures)


def _gather_rows(
    client: Any, tasks: list[Any], n_rows: int, progress: Progress | None
) -> list[dict[str, Any]]:
    from distributed import as_completed

    futures = client.compute(tasks)
    done = 0
    for future in as_completed(futures):
        done += int(future.result()["rows"])
        _step(progress, f"Writing {n_rows:,} scored rows", done, n_rows)
    return client.gather(futures)
