"""``anomalyzer detectors``: every detector, one line each."""

from __future__ import annotations

from rich.table import Table

from anomalyzer.cli.app import app, out


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
    from anomalyzer import timeseries

    series = Table(show_header=True, header_style="bold", title="Time-series detectors (--time)")
    series.add_column("name")
    series.add_column("what it finds")
    for name, summary in timeseries.describe().items():
        series.add_row(name, summary)
    out.print(series)
