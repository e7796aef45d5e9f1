"""The scored data set on disk: a folder of Parquet files, one per partition, each written whole.

Each partition is written to a hidden temporary file and renamed into place,
so a task that runs twice (its worker died and the scheduler ran it again)
replaces its file instead of adding rows, and a reader never sees half a
file. The folder must be new or empty, and apart from the data it reads.

>>> part_name(7)
'part.00007.parquet'
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from anomalyzer.errors import AnomalyzerError


def part_name(index: int) -> str:
    """The file name of partition ``index``."""
    return f"part.{index:05d}.parquet"


def prepare_folder(out: str | os.PathLike[str], source: Any = None) -> Path:
    """Check that ``out`` can take a scored data set (new or empty, apart from ``source``) and create it."""
    path = check_folder(out, source)
    if not path.exists():
        path.mkdir()
    return path


def check_folder(out: str | os.PathLike[str], source: Any = None) -> Path:
    """Refuse an output folder that is a file, not empty, missing its parent or overlapping ``source``.

    >>> check_folder("/no/such/parent/scored")
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Cannot write '/no/such/parent/scored': folder '/no/such/parent' does not exist.
    """
    path = Path(out)
    if path.suffix.lower() in (".csv", ".tsv"):
        raise AnomalyzerError(
            f"Cannot write '{path}': the dask engine writes a Parquet data set (a folder); "
            "give a folder name such as scored/."
        )
    if isinstance(source, str | os.PathLike):
        src = Path(source)
        bases = [src] if src.exists() else [p for p in src.parents if p.exists()][:1]
        for base in bases:
            a, b = path.resolve(), base.resolve()
            if a == b or b in a.parents or (base.is_dir() and a in b.parents):
                raise AnomalyzerError(
                    f"Cannot write '{path}': it overlaps the input '{source}'; choose a folder "
                    "apart from the data."
                )
    if path.exists():
        if not path.is_dir():
            raise AnomalyzerError(f"Cannot write '{path}': it is a file; give a folder name.")
        if any(path.iterdir()):
            raise AnomalyzerError(
                f"Cannot write '{path}': the folder is not empty; give a new or empty folder."
            )
    else:
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise AnomalyzerError(f"Cannot write '{path}': folder '{parent}' does not exist.")
    return path


def write_part(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically (a temporary file renamed into place)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_leftovers(folder: Path) -> None:
    """Delete temporary files a killed task left behind."""
    for tmp in folder.glob(".part.*.tmp"):
        tmp.unlink(missing_ok=True)
