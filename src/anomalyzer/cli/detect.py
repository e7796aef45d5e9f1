"""``anomalyzer detect``: score every row (or every point of a series), flag and explain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_distinct, check_output, read_data, warn, write_frame
from anomalyzer.cli.options import DataArg, OutOpt, QueryOpt, TableOpt, TopOpt
from anomalyzer.cli.printing import (
    print_against_label,
    print_read,
    print_series,
    print_top,
    top_rows,
)
from anomalyzer.cli.progress import Steps
from anomalyzer.cli.scaleout import EngineOpt, MemoryOpt, SchedulerOpt, WorkersOpt
from anomalyzer.errors import AnomalyzerError
from anomalyzer.model import DEFAULT_DETECTOR
from anomalyzer.safety.display import terminal_safe


@app.command()
def detect(
    data: DataArg,
    detector: Annotated[
        str, typer.Option("--detector", "-d", help="Detector name (see `anomalyzer detectors`).")
    ] = DEFAULT_DETECTOR,
    contamination: Annotated[str, typer.Option(help="Share of rows to flag, or 'auto'.")] = "auto",
    label: Annotated[
        str | None,
        typer.Option(help="Label column (0/1): kept out of the features, used in the report."),
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Comma-separated columns not to use as features.")
    ] = None,
    table: TableOpt = None,
    query: QueryOpt = None,
    top: TopOpt = 10,
    output: OutOpt = None,
    report: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report (.html).")
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="Save the fitted model (.azm) for `anomalyzer score`.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of randomised detectors.")] = 0,
    time: Annotated[
        str | None,
        typer.Option(help="Time column: DATA holds time series (see `anomalyzer detectors`)."),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(
            help="With --time: a value column (repeat for several; default: all numeric)."
        ),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="With --time: the column naming each series (e.g. host).")
    ] = None,
    causal: Annotated[
        bool, typer.Option(help="With --time: score each point from the past only (streamable).")
    ] = False,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    memory_per_worker: MemoryOpt = None,
) -> None:
    """Score every row of DATA, flag the anomalies and print the top ones with reasons.

    With --time, DATA holds time series (one per --group value): each is put on
    a regular grid, scored with a series detector, and the notes on its data,
    its seasonal periods and its top points with reasons are printed.
    """
    from anomalyzer.api import detect as run_detect
    from anomalyzer.cli.options import split_names
    from anomalyzer.cli.scaleout import detect_on_dask, is_dask
    from anomalyzer.detectors import spec
    from anomalyzer.validation import check_contamination

    # Every mistake that can be seen before the work is reported before the work.
    cont = check_contamination(contamination)
    if is_dask(engine, scheduler, workers, memory_per_worker):
        detect_on_dask(data, output, scheduler=scheduler, workers=workers, memory=memory_per_worker,
                       top=top, save=save, detector=detector, contamination=cont, label=label,
                       exclude=split_names(exclude) or (), random_state=seed, time=time,
                       value=value or None, group=group,
                       unsupported={"--report": report, "--table": table, "--query": query,
                                    "--causal": causal})  # fmt: skip
        return
    if time is not None:
        _detect_series(data, detector, cont, label, exclude, table, query, top, output,
                       report, save, time, value, group, causal)  # fmt: skip
        return
    if value or group is not None or causal:
        raise AnomalyzerError("--value, --group and --causal apply to time series; add --time COL.")
    name = spec(detector).name
    check_output(output, (".csv", ".parquet", ".xlsx"), "--out")
    check_output(report, (".html", ".htm"), "--report")
    check_output(save, (), "--save")
    check_distinct({"--out": output, "--report": report, "--save": save}, [data])
    cols = [c.strip() for c in exclude.split(",") if c.strip()] if exclude else []
    with Steps() as steps:
        df = read_data(steps, data, table, query)
        with steps.step(f"Fitting {name} and scoring {len(df):,} rows"):
            result = run_detect(
                df, name, contamination=cont, label=label, exclude=cols, random_state=seed
            )
        print_read(data, df, result.model.schema)
        for note in result.notes:
            warn(note)
        out.print(
            f"[bold]Detector[/bold] {result.model.detector_name}, threshold "
            f"{result.threshold:.4g}: [bold]{result.n_anomalies:,}[/bold] of {len(df):,} rows "
            f"flagged ({result.n_anomalies / max(len(df), 1):.2%})"
        )
        if label is not None:
            print_against_label(result, df[label], label)
        if top:
            print_top(top_rows(result.frame, top), result.model.schema)
        if output is not None:
            with steps.step(f"Writing {output}"):
                write_frame(result.frame, output)
            out.print(f"Wrote {terminal_safe(output)}")
        if report is not None:
            from anomalyzer.report import write_report

            with steps.step(f"Writing the report {report}"):
                write_report(result, report, label=label, source=data)
            out.print(f"Wrote the report {terminal_safe(report)}")
        if save is not None:
            with steps.step(f"Saving the model to {save}"):
                result.model.save(save)
            out.print(f"Saved the model to {terminal_safe(save)}")


def _detect_series(
    data: str,
    detector: str,
    contamination: float | str,
    label: str | None,
    exclude: str | None,
    table: str | None,
    query: str | None,
    top: int,
    output: Path | None,
    report: Path | None,
    save: Path | None,
    time: str,
    value: list[str] | None,
    group: str | None,
    causal: bool,
) -> None:
    """``detect --time``: the series of DATA put on a grid, scored and explained."""
    from anomalyzer.api import detect as run_detect
    from anomalyzer.timeseries import detector_class

    detector_class(detector)  # an unknown name fails before the work
    if exclude:
        raise AnomalyzerError(
            "--exclude applies to tables; with --time choose the value columns with --value."
        )
    check_output(output, (".csv", ".parquet", ".xlsx"), "--out")
    check_output(report, (".html", ".htm"), "--report")
    check_output(save, (), "--save")
    check_distinct({"--out": output, "--report": report, "--save": save}, [data])
    with Steps() as steps:
        df = read_data(steps, data, table, query)
        with steps.step(f"Fitting {detector} to the series of {len(df):,} rows"):
            result = run_detect(df, detector, contamination=contamination, label=label,
                                time=time, value=value or None, group=group, causal=causal)  # fmt: skip
        print_series(data, df, result, label, top)
        if output is not None:
            with steps.step(f"Writing {output}"):
                write_frame(result.frame, output)
            out.print(f"Wrote {terminal_safe(output)}")
        if report is not None:
            if _report_takes_series():
                from anomalyzer.report import write_report

                with steps.step(f"Writing the report {report}"):
                    write_report(result, report, source=data)
                out.print(f"Wrote the report {terminal_safe(report)}")
            else:
                out.print("The HTML report of time series is not available yet; --report skipped.")
        if save is not None:
            with steps.step(f"Saving the model to {save}"):
                result.model.save(save)
            out.print(f"Saved the model to {terminal_safe(save)}")


def _report_takes_series() -> bool:
    try:
        from anomalyzer.report.timeview import is_series_result  # noqa: F401
    except ImportError:
        return False
    return True
