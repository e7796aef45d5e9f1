"""Opening a data set as a ``dask.dataframe``: a Parquet folder or glob, CSV globs, or a frame.

Strings are read lazily, partition by partition, on the workers: a Parquet
data set (a folder of ``.parquet`` files, a glob, or one file) keeps its row
groups as partitions, CSV files are cut into blocks of :data:`CSV_BLOCKSIZE`.

>>> import pandas as pd, dask.dataframe as dd
>>> ddf = dask_frame(dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), npartitions=1))
>>> list(ddf.columns)
['x']
>>> dask_frame("no/such/*.csv")
Traceback (most recent call last):
...
anomalyzer.errors.AnomalyzerError: No file matches 'no/such/*.csv'; check the path or the glob.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from anomalyzer.errors import AnomalyzerError

#: Bytes of CSV per partition: a few hundred thousand rows of a typical table.
CSV_BLOCKSIZE = "64MiB"
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".tsv", ".txt", ".csv.gz")


def dask_frame(source: Any, *, blocksize: str = CSV_BLOCKSIZE) -> Any:
    """A ``dask.dataframe.DataFrame`` over ``source`` (read lazily); a dask frame is returned as is."""
    import dask.dataframe as dd

    if isinstance(source, dd.DataFrame):
        return source
    if not isinstance(source, str | os.PathLike):
        raise AnomalyzerError(
            f"The dask engine reads a Parquet folder, a file glob or a dask DataFrame, "
            f"not a {type(source).__name__}."
        )
    text = os.fspath(source)
    files = _files(text)
    kinds = {_kind(f) for f in files}
    if len(kinds) > 1 or None in kinds:
        odd = next(f for f in files if _kind(f) is None) if None in kinds else files[0]
        raise AnomalyzerError(
            f"'{text}' mixes or holds files the dask engine cannot read (such as '{odd}'); "
            "give Parquet (.parquet) or CSV (.csv) files of one kind."
        )
    try:
        if kinds == {"parquet"}:
            return dd.read_parquet(files)
        sep = "\t" if all(f.endswith(".tsv") for f in files) else ","
        compression = "gzip" if all(f.endswith(".gz") for f in files) else None
        return dd.read_csv(
            files,
            sep=sep,
            blocksize=None if compression else blocksize,
            compression=compression,
            assume_missing=True,
        )
    except (OSError, ValueError) as exc:
        raise AnomalyzerError(f"Cannot read '{text}' as a data set: {exc}.") from None


def _files(text: str) -> list[str]:
    path = Path(text)
    if path.is_dir():
        found = sorted(
            str(p) for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
        )
        if not found:
            raise AnomalyzerError(f"Folder '{text}' holds no data files; check the path.")
        return found
    if path.is_file():
        return [text]
    found = sorted(glob.glob(text, recursive=True))
    if not found:
        if not glob.has_magic(text):
            raise AnomalyzerError(f"File '{text}' was not found; check the path.")
        raise AnomalyzerError(f"No file matches '{text}'; check the path or the glob.")
    return found


def _kind(name: str) -> str | None:
    low = name.lower()
    if low.endswith(_PARQUET):
        return "parquet"
    if low.endswith(_CSV):
        return "csv"
    return None
