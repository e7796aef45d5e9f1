"""``anomalyzer explore``: what each column holds, before detecting anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_output, read_data
from anomalyzer.cli.options import DataArg, QueryOpt, TableOpt, split_names
from anomalyzer.cli.progress import Steps


@app.command()
def explore(
    data: DataArg,
    report: Annotated[
        Path | None, typer.Option(help="Write the self-contained HTML page (.html).")
    ] = None,
    time: Annotated[
        str | None, typer.Option(help="Time column (default: the first date column).")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(help="Column naming each series of the time column (default: guessed)."),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Label column: profiled, never used as a value.")
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Comma-separated columns to leave out of the features.")
    ] = None,
    table: TableOpt = None,
    query: QueryOpt = None,
) -> None:
    """Profile every column of DATA: role, missing share, distinct values, statistics,
    values beyond z 3 / 1.5 IQR / 3 MAD, correlations, duplicates and the time column.
    """
    from anomalyzer.explore import explore as run_explore

    check_output(report, (".html", ".htm"), "--report")
    with Steps() as steps:
        df = read_data(steps, data, table, query)
        with steps.step(f"Profiling {df.shape[1]} columns of {len(df):,} rows"):
            result = run_explore(df, time=time, group=group, label=label,
                                 exclude=split_names(exclude) or (), source=data)  # fmt: skip
        if report is not None:
            with steps.step(f"Writing {report}"):
                result.write(report)
    out.print(result.summary(), highlight=False, soft_wrap=True)
    columns = Table(show_header=True, header_style="bold")
    for head in ("column", "role", "missing", "distinct", "median", "> z 3", "> 1.5 IQR",
                 "> 3 MAD"):  # fmt: skip
        columns.add_column(head, justify="left" if head in ("column", "role") else "right")
    for c in result.columns:
        o = c.outliers
        columns.add_row(
            c.name, c.role, f"{c.missing:.1%}", f"{c.distinct:,}",
            "" if c.median is None else f"{c.median:.4g}",
            *(("", "", "") if o is None else (f"{o.z:,}", f"{o.iqr:,}", f"{o.mad:,}")),
        )  # fmt: skip
    out.print(columns)
    if report is not None:
        out.print(f"Wrote the exploration page {report}", highlight=False, soft_wrap=True)
