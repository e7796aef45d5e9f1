"""Reading inputs, loading models and writing outputs for the commands, each with one-sentence errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from anomalyzer.cli.app import err
from anomalyzer.cli.progress import Steps
from anomalyzer.destinations import check_destination
from anomalyzer.errors import AnomalyzerError

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

    with steps.step(f"Loading the model {path}"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(path)
    for warning in caught:
        err.print(f"[yellow]Warning:[/yellow] {warning.message}", highlight=False, soft_wrap=True)
    return model


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
    try:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None


def write_board(frame, path: Path) -> None:
    try:
        if path.suffix.lower() == ".json":
            frame.to_json(path, orient="records", indent=2)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None
