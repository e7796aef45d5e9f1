"""What every Dask run shares: the summary it returns, its client, its progress and its first pass.

>>> DaskSummary(path=Path("scored"), rows=200, flags=3, threshold=0.5, top=pd.DataFrame(),
...             model=None, partitions=2).share
0.015
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from anomalyzer.engines.cluster import dask_client
from anomalyzer.errors import AnomalyzerError

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


def with_client(client: Any, run: Callable[[Any], DaskSummary]) -> DaskSummary:
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


def partitions(ddf: Any, client: Any, progress: Progress | None) -> tuple[list[Any], list[int]]:
    """The delayed non-empty partitions of ``ddf`` and their row counts."""
    from dask import delayed

    parts = ddf.to_delayed()
    futures = client.compute([delayed(len)(p) for p in parts])
    lengths = [int(v) for v in gather(client, futures, "Counting rows", progress)]
    keep = [i for i, v in enumerate(lengths) if v > 0]
    if not keep:
        raise AnomalyzerError("The data set has no rows; check the path or the glob.")
    return [parts[i] for i in keep], [lengths[i] for i in keep]


@contextmanager
def one_process() -> Iterator[None]:
    """Quiet scikit-learn's notice that a Dask worker runs its jobs in one process: it is meant to."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Inside a Dask worker", category=UserWarning)
        yield


# -- progress -------------------------------------------------------------------------------


def step(progress: Progress | None, what: str, done: int, total: int) -> None:
    if progress is not None:
        progress(what, done, total)


def gather(client: Any, futures: list[Any], what: str, progress: Progress | None) -> list[Any]:
    from distributed import as_completed

    total = len(futures)
    for done, _ in enumerate(as_completed(futures), start=1):
        step(progress, what, done, total)
    return client.gather(futures)


def wait_for(client: Any, collection: Any, what: str, progress: Progress | None) -> None:
    from distributed import as_completed, futures_of

    futures = futures_of(collection)
    total = len(futures)
    for done, _ in enumerate(as_completed(futures), start=1):
        step(progress, what, done, total)
    # Raise the first error of a failed partition here, not later.
    client.gather(futures)


def gather_rows(
    client: Any, tasks: list[Any], n_rows: int, progress: Progress | None
) -> list[dict[str, Any]]:
    from distributed import as_completed

    futures = client.compute(tasks)
    done = 0
    for future in as_completed(futures):
        done += int(future.result()["rows"])
        step(progress, f"Writing {n_rows:,} scored rows", done, n_rows)
    return client.gather(futures)


def totals(results: list[dict[str, Any]], top: int) -> tuple[int, int, pd.DataFrame]:
    """Rows, flags and the ``top`` best-ranked rows over what the partition writers returned."""
    from anomalyzer.engines.ranking import RANK

    tops = [r["top"] for r in results if len(r["top"])]
    best = pd.concat(tops).sort_values(RANK).head(top) if tops else pd.DataFrame()
    return int(sum(r["rows"] for r in results)), int(sum(r["flags"] for r in results)), best
