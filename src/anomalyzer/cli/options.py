"""Arguments and options shared by several commands, typed once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataArg = Annotated[
    str,
    typer.Argument(
        help="CSV, TSV, Parquet, JSON lines or Excel file, a SQLAlchemy URL, or - for standard input."
    ),
]


TableOpt = Annotated[str | None, typer.Option(help="Table name, when DATA is a database URL.")]


QueryOpt = Annotated[str | None, typer.Option(help="SQL query, when DATA is a database URL.")]


TopOpt = Annotated[int, typer.Option(help="How many of the top rows to print.", min=0)]


OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write the scored table (.csv, .parquet or .xlsx)."),
]


def split_names(text: str | None) -> list[str] | None:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    return names or None
