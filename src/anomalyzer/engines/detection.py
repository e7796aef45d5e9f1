"""``detect`` on Dask: fit a model on a sample of a data set too big for one machine, then score it all.

The passes are those of :mod:`anomalyzer.engines.dask`, with the fit on a
uniform sample (:mod:`anomalyzer.engines.sampling`) and the threshold from
all the scores (:mod:`anomalyzer.engines.tail`); time series with a group
column go through :mod:`anomalyzer.engines.series`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from anomalyzer.engines.dask import run_table
from anomalyzer.engines.passes import DaskSummary, Progress, with_client
from anomalyzer.engines.sampling import SAMPLE_ROWS
from anomalyzer.errors import AnomalyzerError
from anomalyzer.model import DEFAULT_DETECTOR, Model


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
        return with_client(
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

    return with_client(
        client,
        lambda c: run_table(
            data, out, c, model, fit=fit, contamination=contamination, seed=random_state,
            sample_rows=sample_rows, top=top, max_explained=max_explained, progress=progress,
        ),
    )  # fmt: skip
