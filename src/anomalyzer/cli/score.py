"""``anomalyzer score``: score new rows with a saved model, table or series."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import (
    check_distinct,
    check_output,
    load_model,
    read_data,
    warn,
    write_frame,
)
from anomalyzer.cli.options import DataArg, OutOpt, QueryOpt, TableOpt, TopOpt
from anomalyzer.cli.printing import print_top, print_top_series, top_rows
from anomalyzer.cli.progress import Steps
from anomalyzer.cli.scaleout import EngineOpt, MemoryOpt, SchedulerOpt, WorkersOpt
from anomalyzer.model import Model
from anomalyzer.safety.display import terminal_safe

if TYPE_CHECKING:
    import pandas as pd

    from anomalyzer.timeseries.model import SeriesModel


@app.command()
def score(
    model: Annotated[
        Path, typer.Argument(help="Model file written by `anomalyzer detect --save`.")
    ],
    data: DataArg,
    table: TableOpt = None,
    query: QueryOpt = None,
    top: TopOpt = 10,
    output: OutOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    memory_per_worker: MemoryOpt = None,
) -> None:
    """Score the rows of DATA with a saved model, flag the anomalies and print the top ones.

    A table model scores each row; a series model (saved by `detect --time`)
    puts each series of DATA on its grid and scores its points.
    """
    from anomalyzer.cli.scaleout import is_dask, score_on_dask

    if is_dask(engine, scheduler, workers, memory_per_worker):
        score_on_dask(model, data, output, scheduler=scheduler, workers=workers,
                      memory=memory_per_worker, top=top, load=lambda: _load(model),
                      unsupported={"--table": table, "--query": query})  # fmt: skip
        return
    check_output(output, (".csv", ".parquet", ".xlsx"), "--out")
    check_distinct({"--out": output}, [data, model])
    with Steps() as steps:
        fitted = load_model(steps, model)
        df = read_data(steps, data, table, query)
        if isinstance(fitted, Model):
            _warn_extra_columns(df, {c.name for c in fitted.schema.columns})
            with (
                steps.step(f"Scoring {len(df):,} rows", total=len(df)) as advance,
                warnings.catch_warnings(record=True) as caught,
            ):
                warnings.simplefilter("always")
                frame = fitted.score_frame(df, progress=advance)
            for warning in caught:
                warn(str(warning.message))
            threshold, fitted_on = f"{fitted.threshold_:.4g}", f"{fitted.n_rows_:,} rows"
        else:
            with steps.step(f"Scoring the series of {len(df):,} rows"):
                frame = fitted.score_frame(df)
            threshold, fitted_on = "per series", f"{len(fitted.series_):,} series"
        n_flagged = int(frame["is_anomaly"].sum())
        out.print(
            f"[bold]Read[/bold] {terminal_safe(data)}: {len(df):,} rows, {len(df.columns)} columns"
        )
        out.print(
            f"[bold]Model[/bold] {terminal_safe(model)}: {fitted.detector_name}, threshold {threshold}, "
            f"fitted on {fitted_on}"
        )
        out.print(
            f"[bold]{n_flagged:,}[/bold] of {len(df):,} rows flagged "
            f"({n_flagged / max(len(df), 1):.2%})"
        )
        if top and isinstance(fitted, Model):
            print_top(top_rows(frame, top), fitted.schema)
        elif top:
            print_top_series(top_rows(frame, top), fitted, frame)
        if output is not None:
            with steps.step(f"Writing {output}"):
                write_frame(frame, output)
            out.print(f"Wrote {terminal_safe(output)}")


def _load(path: Path) -> Model | SeriesModel:
    # Its own bars, closed before Dask's open: one live display at a time.
    with Steps() as steps:
        return load_model(steps, path)


def _warn_extra_columns(df: pd.DataFrame, known: set[str]) -> None:
    extra = [str(c) for c in df.columns if str(c) not in known]
    if extra:
        shown = ", ".join(repr(c) for c in extra[:10]) + (" ..." if len(extra) > 10 else "")
        warn(f"{len(extra)} column(s) not seen when the model was fitted are ignored: {shown}")
