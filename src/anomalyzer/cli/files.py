"""Reading inputs, loading models and writing outputs for the commands, each with one-sentence errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from anomalyzer.cli.app import err
from anomalyzer.cli.progress import Steps
from anomalyzer.destinations import atomic_path, check_destination, check_outputs
from anomalyzer.errors import AnomalyzerError
from anomalyzer.safety.display import terminal_safe

if TYPE_CHECKING:
    import pandas as pd

    from anomalyzer.model import Model
    from anomalyzer.timeseries.model import SeriesModel


def read_data(steps: Steps, data: str, table: str | None, query: str | None) -> pd.DataFrame:
    from anomalyzer.data import read_table

    read = {k: v for k, v in {"table": table, "query": query}.items() if v is not None}
    with steps.step(f"Reading {data}"):
        return read_table(data, **read)


def load_model(steps: Steps, path: Path) -> Model | SeriesModel:
    from anomalyzer.api import load

    with (
        steps.step(f"Loading the model {path}"),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        model = load(path)
    for warning in caught:
        warn(str(warning.message))
    return model


def warn(message: str) -> None:
    """One warning line on standard error; the message's user text is never markup."""
    err.print(
        f"[yellow]Warning:[/yellow] {terminal_safe(message)}", highlight=False, soft_wrap=True
    )


def check_distinct(outputs: dict[str, Path | None], inputs: list[object]) -> None:
    """Refuse outputs that are an input or each other (links resolved), before any work."""
    check_outputs(outputs, inputs)


def check_output(path: Path | None, suffixes: tuple[str, ...], option: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if path is None:
        return
    if suffixes and path.suffix.lower() not in suffixes:
        names = " or ".join(suffixes)
        raise AnomalyzerError(f"Cannot write '{path}': use a {names} file name for {option}.")
    check_destination(path)
    if path.exists():
        if not os.access(path, os.W_OK):
            raise AnomalyzerError(f"Cannot write '{path}': the file is not writable.")
        return
    # Creating the file is the only test that holds for every file system (and for root).
    try:
        with open(path, "xb"):
            pass
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None
    path.unlink()


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a scored table as CSV, Parquet or Excel (``.xlsx``, typed cells).

    The file is written beside ``path`` and renamed into place, so an interrupted
    run never leaves half a file where an old one was.
    """
    suffix = path.suffix.lower()
    try:
        with atomic_path(path) as part:
            if suffix == ".parquet":
                frame.to_parquet(part, index=False)
            elif suffix == ".xlsx":
                _write_xlsx(frame, part)
            else:
                frame.to_csv(part, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None


# Rows of one Excel sheet; a longer table does not fit in a workbook.
_EXCEL_ROWS = 1_048_575


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """Numbers as numbers, booleans as booleans and text as text: a value starting with
    '=' is stored as a text cell, never a formula."""
    import math

    import numpy as np
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if len(frame) > _EXCEL_ROWS:
        raise AnomalyzerError(
            f"Cannot write '{path.name}': {len(frame):,} rows do not fit in an Excel sheet "
            f"({_EXCEL_ROWS:,} at most); write a .csv or .parquet file instead."
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("scored")
    sheet.append([_text_cell(sheet, str(c), WriteOnlyCell) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        cells: list[object] = []
        for value in row:
            if isinstance(value, np.generic):
                value = value.item()
            if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                cells.append(None)
            elif isinstance(value, bool | int | float):
                cells.append(
                    value if not isinstance(value, float) or math.isfinite(value) else str(value)
                )
            elif hasattr(value, "isoformat") and getattr(value, "tzinfo", None) is None:
                cells.append(value)
            else:
                cells.append(_text_cell(sheet, str(value), WriteOnlyCell))
        sheet.append(cells)
    book.save(path)


def _text_cell(sheet: object, text: str, cell_type: type) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Control characters cannot be stored in a workbook: written as escapes instead.
    text = ILLEGAL_CHARACTERS_RE.sub(lambda m: m.group(0).encode("unicode_escape").decode(), text)
    cell = cell_type(sheet, value=text)
    # openpyxl reads a leading '=' as a formula; this cell holds the text itself.
    cell.data_type = "s"
    return cell


def write_board(frame, path: Path) -> None:
    try:
        with atomic_path(path) as part:
            if path.suffix.lower() == ".json":
                frame.to_json(part, orient="records", indent=2)
            else:
                frame.to_csv(part, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None
