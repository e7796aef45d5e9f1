"""The ``anomalyzer`` command line.

Exit codes: 0 on success, 2 for a usage or input mistake (one sentence, no
traceback), 1 for anything else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from anomalyzer.errors import AnomalyzerError

app = typer.Typer(
    name="anomalyzer",
    help="Find anomalies in tables and say why.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Wide enough for reasons when the output is a file or a pipe (not a terminal).
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

EXIT_INPUT = 2
EXIT_OTHER = 1


@app.command()
def detect(
    data: Annotated[
        str,
        typer.Argument(help="CSV, TSV, Parquet, JSON lines or Excel file, or a SQLAlchemy URL."),
    ],
    detector: Annotated[
        str, typer.Option("--detector", "-d", help="Detector name (see `anomalyzer detectors`).")
    ] = "iforest",
    contamination: Annotated[str, typer.Option(help="Share of rows to flag, or 'auto'.")] = "auto",
    label: Annotated[
        str | None, typer.Option(help="Label column: kept out of the features.")
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Comma-separated columns not to use as features.")
    ] = None,
    table: Annotated[
        str | None, typer.Option(help="Table name, when DATA is a database URL.")
    ] = None,
    query: Annotated[
        str | None, typer.Option(help="SQL query, when DATA is a database URL.")
    ] = None,
    top: Annotated[int, typer.Option(help="How many of the top rows to print.", min=0)] = 10,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the scored table (.csv or .parquet).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of randomised detectors.")] = 0,
) -> None:
    """Score every row of DATA, flag the anomalies and print the top ones with reasons."""
    from anomalyzer.api import detect as run_detect
    from anomalyzer.data import read_table
    from anomalyzer.validation import check_contamination

    cont = check_contamination(contamination)
    if output is not None:
        _check_writable(output)
    read = {k: v for k, v in {"table": table, "query": query}.items() if v is not None}
    with err.status(f"Reading {data} ..."):
        df = read_table(data, **read)
    cols = [c.strip() for c in exclude.split(",") if c.strip()] if exclude else []
    with err.status(f"Fitting {detector} on {len(df):,} rows ..."):
        result = run_detect(
            df, detector, contamination=cont, label=label, exclude=cols, random_state=seed
        )
    schema = result.model.schema
    out.print(f"[bold]Read[/bold] {data}: {len(df):,} rows, {len(df.columns)} columns")
    out.print(f"[bold]Features[/bold] ({len(schema.features)}): {', '.join(schema.features)}")
    for info in schema.dropped():
        out.print(f"  [dim]not used:[/dim] {info.name} - {info.reason}")
    out.print(
        f"[bold]Detector[/bold] {result.model.detector_name}, threshold {result.threshold:.4g}: "
        f"[bold]{result.n_anomalies:,}[/bold] of {len(df):,} rows flagged "
        f"({result.n_anomalies / max(len(df), 1):.2%})"
    )
    if top:
        _print_top(result.top(top), schema)
    if output is not None:
        _write(result.frame, output)
        out.print(f"Wrote {output}")


@app.command("detectors")
def list_detectors() -> None:
    """List the detectors with a line on what each does."""
    from anomalyzer.detectors import describe, spec

    table = Table(show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("family")
    table.add_column("what it does")
    for name, summary in describe().items():
        table.add_row(name, spec(name).family, summary)
    out.print(table)


def _print_top(frame, schema) -> None:
    from anomalyzer.data import Role

    ids = schema.by_role(Role.ID)[:1]
    table = Table(show_header=True, header_style="bold", title="Top rows by anomaly score")
    table.add_column("rank", justify="right")
    table.add_column("row", justify="right")
    for col in ids:
        table.add_column(col)
    table.add_column("score", justify="right")
    table.add_column("flagged")
    table.add_column("reason", overflow="fold")
    for pos, (_, row) in enumerate(frame.iterrows()):
        table.add_row(
            str(row["anomaly_rank"]),
            str(frame.index[pos]),
            *[_cell(row[c]) for c in ids],
            f"{row['anomaly_score']:.4g}",
            "yes" if row["is_anomaly"] else "no",
            row["anomaly_reason"],
        )
    out.print(table)


def _cell(value) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _check_writable(path: Path) -> None:
    if path.suffix.lower() not in {".csv", ".parquet"}:
        raise AnomalyzerError(f"Cannot write '{path}': use a .csv or .parquet file name for --out.")
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise AnomalyzerError(f"Cannot write '{path}': it is a directory; give a file name.")
    if not parent.is_dir():
        raise AnomalyzerError(f"Cannot write '{path}': folder '{parent}' does not exist.")
    if not os.access(parent, os.W_OK):
        raise AnomalyzerError(f"Cannot write '{path}': folder '{parent}' is not writable.")


def _write(frame, path: Path) -> None:
    try:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None


def main() -> None:
    """Entry point: run the app, turning user mistakes into one sentence and exit code 2."""
    try:
        app(standalone_mode=False)
    except AnomalyzerError as exc:
        err.print(f"[bold red]Error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INPUT)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(EXIT_OTHER)
    except Exception as exc:  # the last line of defence: no traceback for users
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(EXIT_INPUT if isinstance(exc, click.UsageError) else exc.exit_code)
        if os.environ.get("ANOMALYZER_DEBUG"):
            raise
        err.print(
            f"[bold red]Unexpected error:[/bold red] {type(exc).__name__}: {exc} "
            "(set ANOMALYZER_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_OTHER)
    sys.exit(0)


if __name__ == "__main__":
    main()
