"""Checks on where output goes, so a bad path is refused before any work is done."""

from __future__ import annotations

from pathlib import Path

from anomalyzer.errors import AnomalyzerError


def check_destination(path: str | Path, what: str = "") -> Path:
    """Refuse a file path that is a directory or whose folder is missing; return it as a Path.

    ``what`` names the file in the message ("model file", "report").

    >>> check_destination("/no/such/folder/x.csv")
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Cannot write '/no/such/folder/x.csv': folder '/no/such/folder' does not exist.
    """
    path = Path(path)
    name = f"{what} '{path}'" if what else f"'{path}'"
    if path.is_dir():
        raise AnomalyzerError(f"Cannot write {name}: it is a directory; give a file name.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        state = "is a file, not a folder" if parent.exists() else "does not exist"
        raise AnomalyzerError(f"Cannot write {name}: folder '{parent}' {state}.")
    return path
