"""Reading a table from wherever it lives: a DataFrame, a file, or a database.

:func:`read_table` returns a new DataFrame with text column names, or raises an
``AnomalyzerError`` whose one sentence names the file (or table) and what is
wrong with it. Supported sources:

- a pandas DataFrame (copied; the caller's frame is never modified);
- CSV, TSV and ``.txt`` files, plain or gzip-compressed (``.csv.gz``). The
  delimiter is sniffed among ``, ; tab |``; the encoding is UTF-8 (a byte-order
  mark is dropped) or, when the bytes are not UTF-8, the one charset-normalizer
  finds (Western European cp1252 preferred among equally good candidates).
  A semicolon-delimited file whose numbers use a decimal comma (``1,5``) is
  read with ``decimal=","``;
- Parquet (``.parquet``, ``.pq``);
- JSON lines (``.jsonl``, ``.ndjson``) and ``.json`` holding JSON lines, an array
  of records or a dict of columns, plain or gzip-compressed. Nested objects are
  flattened into ``parent.child`` columns. Values keep their JSON types: text
  stays text, even when it looks like a number;
- Excel workbooks (``.xlsx``, ``.xlsm``; ``.xls`` when the ``xlrd`` package is
  installed); ``sheet=`` picks a sheet by name or position, the first by default;
- a SQLAlchemy database URL (any string containing ``://``, such as
  ``sqlite:///path/to/db.sqlite``) with ``table=`` or ``query=``. Sources are
  read-only: a query must return rows (``SELECT``, ``WITH``, ``VALUES``), SQLite
  files are opened read-only with writes and ``ATTACH`` denied, and other
  databases read in a read-only transaction that is rolled back;
- ``"-"``: standard input, in any of the formats above (recognised from its
  first bytes; text is read as CSV unless it starts like JSON).

Reading is bounded (see :mod:`anomalyzer.data.limits`): compressed input that
inflates like a compression bomb, text too large for the memory available, more
than ``MAX_COLUMNS`` columns or a cell longer than ``MAX_FIELD_CHARS`` is refused
with one sentence before it can exhaust memory or hang the parser. Text in
UTF-16 without a byte-order mark is recognised by its zero bytes.

>>> import pandas as pd
>>> df = pd.DataFrame({"a": [1, 2], 3: ["x", "y"]})
>>> out = read_table(df)
>>> list(out.columns), out is df
(['a', '3'], False)
>>> read_table("no/such/file.csv")
Traceback (most recent call last):
...
anomalyzer.errors.AnomalyzerError: File 'no/such/file.csv' was not found; check the path.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import sys
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from anomalyzer.data.limits import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    check_fits_memory,
    check_zip_inflation,
    read_bounded,
)
from anomalyzer.errors import AnomalyzerError

_CSV = (".csv", ".tsv", ".txt")
_JSON = (".jsonl", ".ndjson", ".json")
_PARQUET = (".parquet", ".pq")
_EXCEL = (".xlsx", ".xlsm", ".xls")
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    *_CSV,
    *(e + ".gz" for e in _CSV),
    *_JSON,
    *(e + ".gz" for e in _JSON),
    *_PARQUET,
    *_EXCEL,
)

# Bytes inspected to find the encoding and the delimiter; enough for dozens of lines.
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 50
_DELIMITERS = ",;\t|"
# Control characters (beyond tab and line breaks) tolerated in text before a file
# counts as binary: a stray one is damage, many mean the file is not text at all.
_MAX_CONTROL_SHARE = 0.01
# Western European encodings, preferred when charset-normalizer finds several
# encodings equally plausible (short files often fit many single-byte code pages).
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel workbook?)",
    b"PAR1": "a Parquet file",
    b"\xd0\xcf\x11\xe0": "an old Excel or Office file",
    b"\x1f\x8b": "a gzip file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"SQLite format 3": "a SQLite database",
}


def read_table(
    source: Any,
    *,
    table: str | None = None,
    query: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read ``source`` (a DataFrame, a file path or a database URL) into a new DataFrame.

    Column names are returned as text; a table without rows or without columns
    is an error, as is a duplicated column name.

    >>> read_table("sqlite:///:memory:")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Database 'sqlite:///:memory:' has no tables to read; ...
    """
    if isinstance(source, pd.DataFrame):
        _only_for(table=table, query=query, sheet=sheet, what="a DataFrame", allowed=())
        return _checked(source.copy(deep=True), "The DataFrame")
    if isinstance(source, str) and source == "-":
        _only_for(table=table, query=query, sheet=sheet, what="standard input", allowed=())
        return _read_stdin()
    if isinstance(source, str) and "://" in source:
        _only_for(table=None, query=None, sheet=sheet, what="a database URL", allowed=())
        return _read_sql(source, table=table, query=query)
    if isinstance(source, str | os.PathLike):
        return _read_file(Path(source), source, table=table, query=query, sheet=sheet)
    raise AnomalyzerError(
        f"Cannot read a table from a {type(source).__name__}; pass a file path, a database URL "
        "such as 'sqlite:///data.db', or a pandas DataFrame."
    )


def _only_for(*, what: str, allowed: tuple[str, ...], **given: Any) -> None:
    """Reject options that do not apply to this kind of source instead of ignoring them."""
    for name, value in given.items():
        if value is not None and name not in allowed:
            use = {"sheet": "Excel files", "table": "database URLs", "query": "database URLs"}
            raise AnomalyzerError(
                f"{name}= applies only to {use[name]}, not to {what}; leave it out."
            )


def _checked(df: pd.DataFrame, what: str) -> pd.DataFrame:
    """Text column names, at least one column and one row, no duplicated names."""
    if df.shape[1] == 0:
        raise AnomalyzerError(f"{what} has no columns; pass a table with at least one column.")
    if len(df) == 0:
        raise AnomalyzerError(
            f"{what} has no rows (only the column names); pass a table with at least one row."
        )
    names = [str(c) for c in df.columns]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise AnomalyzerError(
                f"{what} has more than one column named {name!r}; rename them so that each "
                "column name is unique."
            )
        seen.add(name)
    if any(not isinstance(c, str) for c in df.columns):
        df.columns = names
    return df


def _reason(exc: BaseException) -> str:
    """The first line of an exception message, short enough for a one-sentence error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^Error tokenizing data\. C error: |^Execution failed on sql .*?: ", "", text)
    text = text.rstrip(".")
    return text if len(text) <= 160 else text[:157] + "..."


# -- files -----------------------------------------------------------------------------


def _read_file(
    path: Path, given: Any, *, table: str | None, query: str | None, sheet: str | int | None
) -> pd.DataFrame:
    shown = f"File '{os.fspath(given)}'"
    if not path.exists():
        raise AnomalyzerError(f"{shown} was not found; check the path.")
    if path.is_dir():
        raise AnomalyzerError(
            f"'{os.fspath(given)}' is a directory, not a file; pass the path of a file inside it."
        )
    name = path.name.lower()
    ext = next(
        (e for e in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True) if name.endswith(e)), None
    )
    if ext is None:
        raise AnomalyzerError(
            f"{shown} has an unsupported extension {''.join(path.suffixes[-2:]) or '(none)'!r}; "
            f"use one of: {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    excel = ext in _EXCEL
    _only_for(
        table=table,
        query=query,
        sheet=sheet,
        what=f"{ext} files",
        allowed=("sheet",) if excel else (),
    )
    try:
        if path.stat().st_size == 0:
            raise AnomalyzerError(f"{shown} is empty; pass a file that holds a table.")
        if ext in _PARQUET:
            df = _read_parquet(path, shown)
        elif excel:
            df = _read_excel(path, shown, sheet)
        else:
            raw = _read_bytes(path, shown, compressed=ext.endswith(".gz"))
            kind = ext.removesuffix(".gz")
            df = _read_json(raw, shown, kind) if kind in _JSON else _read_csv(raw, shown, kind)
    except PermissionError:
        raise AnomalyzerError(
            f"{shown} cannot be opened (permission denied); check the file's permissions."
        ) from None
    return _checked(df, shown)


def _read_bytes(path: Path, shown: str, *, compressed: bool) -> bytes:
    """The file's bytes, decompressed when it is gzip, within the limits on memory and inflation."""
    if not compressed:
        check_fits_memory(path.stat().st_size, shown)
        return path.read_bytes()
    try:
        with path.open("rb") as packed, gzip.GzipFile(fileobj=packed) as fh:
            raw = read_bounded(fh.read, packed.tell, shown)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise AnomalyzerError(
            f"{shown} could not be decompressed as gzip: {_reason(exc)}."
        ) from None
    if not raw:
        raise AnomalyzerError(
            f"{shown} is empty once decompressed; pass a file that holds a table."
        )
    return raw


def _read_stdin() -> pd.DataFrame:
    """A table from standard input: its format recognised from its first bytes."""
    shown = "Standard input"
    stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
    if stream is None:
        raise AnomalyzerError(f"{shown} cannot be read as bytes; pass a file path instead.")
    chunks, total = [], 0
    while chunk := stream.read(1 << 20):
        chunks.append(chunk)
        total += len(chunk)
        check_fits_memory(total, shown)
    raw = b"".join(chunks)
    if not raw.strip():
        raise AnomalyzerError(f"{shown} is empty; pipe a table into it.")
    if raw.startswith(b"\x1f\x8b"):
        packed = io.BytesIO(raw)
        try:
            with gzip.GzipFile(fileobj=packed) as fh:
                raw = read_bounded(fh.read, packed.tell, shown)
        except (OSError, EOFError, zlib.error) as exc:
            raise AnomalyzerError(
                f"{shown} could not be decompressed as gzip: {_reason(exc)}."
            ) from None
    if raw.startswith((b"PAR1", b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        # Parquet and Excel readers want a seekable file: a private copy on disk.
        import tempfile

        suffix = ".parquet" if raw.startswith(b"PAR1") else ".xlsx"
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / f"stdin{suffix}"
            copy.write_bytes(raw)
            df = (
                _read_parquet(copy, shown)
                if suffix == ".parquet"
                else _read_excel(copy, shown, None)
            )
        return _checked(df, shown)
    head = raw.lstrip()[:1]
    df = _read_json(raw, shown, ".json") if head in (b"{", b"[") else _read_csv(raw, shown, ".csv")
    return _checked(df, shown)


def _decode(raw: bytes, shown: str, kind: str) -> str:
    """Bytes to text: UTF-8 (with or without a byte-order mark), UTF-16/32 with a mark,
    or the encoding charset-normalizer finds; binary content is an error."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                return _text_or_binary(raw.decode(codec), raw, shown, kind)
            except UnicodeDecodeError as exc:
                raise AnomalyzerError(
                    f"{shown} could not be read as {kind}: it starts with a {codec} byte-order "
                    f"mark but is not valid {codec} ({_reason(exc)})."
                ) from None
    if b"\x00" in raw[:_SNIFF_BYTES]:
        utf16 = _utf16_without_mark(raw)
        if utf16 is not None:
            try:
                return _text_or_binary(raw.decode(utf16), raw, shown, kind)
            except UnicodeDecodeError:
                pass
        raise AnomalyzerError(
            f"{shown} could not be read as {kind}: it looks like {_what_binary(raw)}, not text."
        )
    try:
        return _text_or_binary(raw.decode("utf-8"), raw, shown, kind)
    except UnicodeDecodeError:
        pass
    encoding = _detect_encoding(raw)
    if encoding is None:
        raise AnomalyzerError(
            f"{shown} could not be read as {kind}: it looks like {_what_binary(raw)}, "
            "not text in any known encoding."
        )
    return _text_or_binary(raw.decode(encoding, errors="replace"), raw, shown, kind)


def _utf16_without_mark(raw: bytes) -> str | None:
    """``utf-16-le``/``-be`` when zeros fill one byte of nearly every pair, as UTF-16
    text of Latin letters does; else None.

    >>> _utf16_without_mark("a,b\\n1,2\\n".encode("utf-16-le"))
    'utf-16-le'
    >>> _utf16_without_mark(b"\\x00\\x01\\x02\\x03") is None
    True
    """
    head = raw[: _SNIFF_BYTES - _SNIFF_BYTES % 2]
    if len(head) < 4 or len(raw) % 2:
        return None
    even, odd = head[0::2], head[1::2]
    zero_even, zero_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zero_odd > 0.7 and zero_even < 0.05:
        return "utf-16-le"
    if zero_even > 0.7 and zero_odd < 0.05:
        return "utf-16-be"
    return None


def _detect_encoding(raw: bytes) -> str | None:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        return None
    best = min(m.percent_chaos for m in matches)
    for m in matches:
        if m.percent_chaos <= best + 0.5 and any(
            c in _WESTERN for c in (m.encoding, *m.could_be_from_charset)
        ):
            try:
                raw.decode("cp1252")
                return "cp1252"
            except UnicodeDecodeError:
                return "latin_1"
    return min(matches, key=lambda m: m.percent_chaos).encoding


def _what_binary(raw: bytes) -> str:
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            return what
    return "a binary file"


def _text_or_binary(text: str, raw: bytes, shown: str, kind: str) -> str:
    """Reject decoded text that is mostly control characters: binary data in disguise."""
    head = text[:_SNIFF_BYTES]
    control = sum(
        1 for ch in head if ch not in "\t\r\n" and unicodedata.category(ch) in ("Cc", "Cs")
    ) + head.count("\ufffd")
    if head and control / len(head) > _MAX_CONTROL_SHARE:
        raise AnomalyzerError(
            f"{shown} could not be read as {kind}: it looks like {_what_binary(raw)}, not text."
        )
    return text


def _sniff(text: str, kind: str) -> tuple[str, bool]:
    """Delimiter and whether spaces follow it, from the first lines of ``text``."""
    lines = text[:_SNIFF_BYTES].splitlines()[:_SNIFF_LINES]
    if len(lines) > 1 and len(text) > _SNIFF_BYTES:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    sample = "\n".join(lines)
    header = lines[0] if lines else ""
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        delimiter, skip = dialect.delimiter, bool(dialect.skipinitialspace)
    except csv.Error:
        delimiter, skip = "", False
    if not delimiter or delimiter not in header:
        # The sniffer gives up on single-column files and sometimes picks a character
        # that only occurs inside values; fall back to the most consistent count per line.
        counts = {d: [line.count(d) for line in lines if line.strip()] for d in _DELIMITERS}
        consistent = {
            d: c[0] for d, c in counts.items() if c and c[0] > 0 and len(set(c)) == 1
        } or {d: c[0] for d, c in counts.items() if c and c[0] > 0}
        default = "\t" if kind == ".tsv" else ","
        delimiter = max(consistent, key=lambda d: consistent[d]) if consistent else default
        skip = False
    return delimiter, skip


def _decimal_comma(text: str, delimiter: str) -> bool:
    """Whether numbers are written with a decimal comma (only possible without ``,`` fields)."""
    if delimiter == ",":
        return False
    fields = re.split(re.escape(delimiter) + r"|\n", text[:_SNIFF_BYTES])
    comma = sum(1 for f in fields if re.fullmatch(r"\s*-?\d+,\d+\s*", f))
    point = sum(1 for f in fields if re.fullmatch(r"\s*-?\d+\.\d+\s*", f))
    return comma > 0 and point == 0


def _read_csv(raw: bytes, shown: str, kind: str) -> pd.DataFrame:
    text = _decode(raw, shown, "CSV")
    del raw  # the bytes are no longer needed; large files hold only their text from here
    if not text.strip():
        raise AnomalyzerError(f"{shown} is empty; pass a file that holds a table.")
    delimiter, skip = _sniff(text, kind)
    header = _header(text, delimiter, shown)
    decimal = "," if _decimal_comma(text, delimiter) else "."
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            skipinitialspace=skip,
            decimal=decimal,
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise AnomalyzerError(f"{shown} is empty; pass a file that holds a table.") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise AnomalyzerError(f"{shown} could not be read as CSV: {_reason(exc)}.") from None
    if len(header) == df.shape[1] and len(set(header)) < len(header):
        # pandas renames a repeated name to 'name.1'; that would hide the mistake.
        twice = next(name for name in header if header.count(name) > 1)
        raise AnomalyzerError(
            f"{shown} has more than one column named {twice!r}; rename them so that each "
            "column name is unique."
        )
    _check_fields(df, shown)
    return df


def _header(text: str, delimiter: str, shown: str) -> list[str]:
    """The names in the first line, refused when there are more than ``MAX_COLUMNS``."""
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    if first.count(delimiter) >= MAX_COLUMNS:
        raise AnomalyzerError(
            f"{shown} has more than {MAX_COLUMNS:,} columns in its first line; a table that "
            "wide is not supported: select the columns to score, or check the delimiter."
        )
    try:
        names = next(csv.reader(io.StringIO(first.rstrip("\r")), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return []
    return [n.strip() for n in names]


def _check_fields(df: pd.DataFrame, shown: str) -> None:
    """Refuse more than ``MAX_COLUMNS`` columns, or a column name or a cell longer than
    ``MAX_FIELD_CHARS`` characters."""
    if df.shape[1] > MAX_COLUMNS:
        raise AnomalyzerError(
            f"{shown} has {df.shape[1]:,} columns, more than the {MAX_COLUMNS:,} supported; "
            "select the columns to score."
        )
    for name in df.columns:
        if len(str(name)) > MAX_FIELD_CHARS:
            raise AnomalyzerError(
                f"{shown} has a column name of {len(str(name)):,} characters, more than the "
                f"{MAX_FIELD_CHARS:,} allowed; check the file's delimiter and header."
            )
    for name in df.columns:
        col = df[name]
        if not pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
            continue
        try:
            lengths = col.str.len()
        except AttributeError:  # objects that are not text (JSON lists) have no length here
            continue
        longest = lengths.max()
        if pd.notna(longest) and longest > MAX_FIELD_CHARS:
            row = int(lengths.to_numpy(dtype=float, na_value=0).argmax())
            raise AnomalyzerError(
                f"{shown} has a value of {int(longest):,} characters in column "
                f"{_short_name(name)!r} (row {row + 1:,}), more than the {MAX_FIELD_CHARS:,} "
                "allowed in one cell; remove that value or the column."
            )


def _short_name(name: Any) -> str:
    text = str(name)
    return text if len(text) <= 60 else text[:59] + "…"


def _read_json(raw: bytes, shown: str, kind: str) -> pd.DataFrame:
    text = _decode(raw, shown, "JSON").strip()
    if not text:
        raise AnomalyzerError(f"{shown} is empty; pass a file that holds a table.")
    if kind == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if not (text.startswith("{") and exc.msg == "Extra data"):
                raise AnomalyzerError(
                    f"{shown} could not be read as JSON: {_reason(exc)}."
                ) from None
            data = None  # several objects one after another: JSON lines
        if isinstance(data, list):
            return _records(data, shown)
        if isinstance(data, dict):
            inner = next(iter(data.values())) if len(data) == 1 else None
            if isinstance(inner, list) and inner and all(isinstance(r, dict) for r in inner):
                return _records(inner, shown)  # {"data": [records]}, as many APIs answer
            if data and all(isinstance(v, list | dict) for v in data.values()):
                try:
                    if len(data) > MAX_COLUMNS:
                        _records([data], shown)  # refused there, with the same sentence
                    return pd.DataFrame(data)  # a dict of columns, as DataFrame.to_json writes
                except ValueError as exc:
                    raise AnomalyzerError(
                        f"{shown} could not be read as JSON columns: {_reason(exc)}."
                    ) from None
            return _records([data], shown)
        if data is not None:
            raise AnomalyzerError(
                f"{shown} holds a single JSON {type(data).__name__}, not a table; "
                "write an array of records or one record per line."
            )
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise AnomalyzerError(
                f"{shown} could not be read as JSON lines: line {number}: {_reason(exc)}."
            ) from None
    return _records(records, shown, lines=True)


def _records(data: list[Any], shown: str, *, lines: bool = False) -> pd.DataFrame:
    bad = next((i for i, r in enumerate(data) if not isinstance(r, dict)), None)
    if bad is not None:
        where = f"line {bad + 1}" if lines else f"element {bad}"
        raise AnomalyzerError(
            f"{shown} could not be read as JSON records: {where} is a "
            f"{type(data[bad]).__name__}, not an object of column names and values."
        )
    widest = max((len(r) for r in data), default=0)
    if widest > MAX_COLUMNS:
        # Counted before flattening: building a frame that wide is what takes the time.
        raise AnomalyzerError(
            f"{shown} has a record of {widest:,} fields, more than the {MAX_COLUMNS:,} columns "
            "supported; select the fields to score."
        )
    df = pd.json_normalize(data) if data else pd.DataFrame()
    _check_fields(df, shown)
    return df


def _read_parquet(path: Path, shown: str) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        # Uncompressed sizes: pyarrow refuses pages that inflate beyond what they declare.
        check_fits_memory(
            sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)), shown
        )
    except AnomalyzerError:
        raise
    except Exception:  # unreadable metadata: the reader below says what is wrong
        pass
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        raise AnomalyzerError(f"{shown} could not be read as Parquet: {_reason(exc)}.") from None
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        if type(exc).__module__.startswith("pyarrow"):
            raise AnomalyzerError(
                f"{shown} could not be read as Parquet: {_reason(exc)}."
            ) from None
        raise


def _read_excel(path: Path, shown: str, sheet: str | int | None) -> pd.DataFrame:
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _read_old_excel(path, shown, sheet)
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A workbook is a zip of XML: its parts are inflated and counted first, so a
    # workbook that is a compression bomb is refused before it is parsed.
    check_fits_memory(path.stat().st_size, shown)
    check_zip_inflation(path.read_bytes(), shown)

    try:
        workbook = load_workbook(path, read_only=True)
        names = list(workbook.sheetnames)
        workbook.close()
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        KeyError,
        OSError,
        ValueError,
    ) as exc:
        raise AnomalyzerError(f"{shown} could not be read as Excel: {_reason(exc)}.") from None
    name = _sheet_name(names, sheet, shown)
    try:
        df = pd.read_excel(path, sheet_name=name, engine="openpyxl")
    except (
        ValueError,
        KeyError,
        OSError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
    ) as exc:
        raise AnomalyzerError(f"{shown} could not be read as Excel: {_reason(exc)}.") from None
    if df.shape[1] == 0:
        raise AnomalyzerError(
            f"{shown} has an empty sheet {name!r}; pass a sheet that holds a table."
        )
    return df


def _sheet_name(names: list[str], sheet: str | int | None, shown: str) -> str:
    if sheet is None:
        sheet = 0
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
        raise AnomalyzerError(
            f"{shown} has {len(names)} sheet(s), so sheet={sheet} does not exist; "
            f"use a position from 0 to {len(names) - 1} or a name: {', '.join(names)}."
        )
    if sheet in names:
        return str(sheet)
    raise AnomalyzerError(f"{shown} has no sheet named {sheet!r}; use one of: {', '.join(names)}.")


def _read_old_excel(path: Path, shown: str, sheet: str | int | None) -> pd.DataFrame:
    try:
        import xlrd  # noqa: F401
    except ImportError:
        raise AnomalyzerError(
            f"{shown} could not be read as Excel: it is an old-style .xls workbook, which needs "
            "the xlrd package (pip install xlrd); or save it as .xlsx or CSV."
        ) from None
    try:
        names = list(pd.ExcelFile(path, engine="xlrd").sheet_names)
        return pd.read_excel(path, sheet_name=_sheet_name(names, sheet, shown), engine="xlrd")
    except (ValueError, OSError) as exc:
        raise AnomalyzerError(f"{shown} could not be read as Excel: {_reason(exc)}.") from None


# -- databases -------------------------------------------------------------------------


def _open_engine(url: str, parsed: Any, database: str, shown: str) -> Any:
    """A read-only engine for the database, or one sentence on why it cannot be opened."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        return _read_only_engine(parsed, database)
    except NoSuchModuleError:
        raise AnomalyzerError(
            f"{url!r} is not a database URL SQLAlchemy can open (no dialect "
            f"{parsed.drivername!r}); pass a file path, or a URL such as 'sqlite:///data.db'."
        ) from None
    except ImportError as exc:
        raise AnomalyzerError(
            f"{shown} needs the database driver {exc.name or _reason(exc)!r}, which is not "
            "installed; install it with pip."
        ) from None
    except ArgumentError as exc:
        raise AnomalyzerError(f"{shown} cannot be opened: {_reason(exc)}.") from None


def _read_sql(url: str, *, table: str | None, query: str | None) -> pd.DataFrame:
    from sqlalchemy import inspect, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise AnomalyzerError(
            f"{url!r} is not a valid database URL; write it like 'sqlite:///path/to/db.sqlite' "
            "or 'postgresql://user@host/db'."
        ) from None
    # The URL as given, unless it holds a password (rendering escapes characters such as ':').
    shown = url if parsed.password is None else parsed.render_as_string(hide_password=True)
    shown = f"Database '{shown}'"
    if table is not None and query is not None:
        raise AnomalyzerError(
            f"Give either table= or query= for {shown[0].lower()}{shown[1:]}, not both."
        )
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
        and not Path(database).is_file()
    ):
        # SQLite would silently create an empty database file at a mistyped path.
        raise AnomalyzerError(f"{shown} was not found: no file at {database!r}; check the path.")
    if query is not None:
        _check_query(query, shown)
    engine = _open_engine(url, parsed, database, shown)
    try:
        with engine.connect() as conn:
            if parsed.get_backend_name() != "sqlite":
                conn = conn.execution_options(postgresql_readonly=True)
            if query is not None:
                try:
                    df = pd.read_sql_query(text(query), conn)
                except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
                    why = _reason(exc)
                    if re.search(r"not authorized|read-?only", why, re.I):
                        why = "it tries to change the database, and sources are read-only"
                    raise AnomalyzerError(
                        f"The query on {shown[0].lower()}{shown[1:]} failed: {why}."
                    ) from None
                return _checked(df, f"The query on {shown[0].lower()}{shown[1:]}")
            inspector = inspect(conn)
            tables = sorted(inspector.get_table_names()) + sorted(inspector.get_view_names())
            if not tables:
                raise AnomalyzerError(
                    f"{shown} has no tables to read; create a table first or check the URL."
                )
            if table is None:
                raise AnomalyzerError(
                    f"{shown} needs table= or query= to say what to read; "
                    f"tables available: {', '.join(tables)}."
                )
            schema, _, name = table.rpartition(".") if table not in tables else ("", "", table)
            if name not in tables and not (
                schema and name in inspector.get_table_names(schema=schema)
            ):
                raise AnomalyzerError(
                    f"{shown} has no table {table!r}; tables available: {', '.join(tables)}."
                )
            df = pd.read_sql_table(name, conn, schema=schema or None)
            return _checked(df, f"Table {table!r} in {shown[0].lower()}{shown[1:]}")
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise AnomalyzerError(f"{shown} could not be read: {_reason(exc)}.") from None
    finally:
        engine.dispose()


# Statements that return rows; anything else (DROP, ATTACH, PRAGMA x = y...) is refused
# before it runs. The read-only connection is the second line of defence.
_ROW_STATEMENTS = frozenset({"select", "with", "values", "table"})
_SQL_COMMENT = re.compile(r"\s+|--[^\n]*(\n|$)|/\*.*?\*/", re.S)


def _check_query(query: str, shown: str) -> None:
    """Refuse a query that is not a single statement returning rows.

    >>> _check_query("  -- top rows\\n SELECT * FROM t", "Database 'x'")
    >>> _check_query("DROP TABLE t", "Database 'x'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: The query on database 'x' is a DROP statement; ...
    """
    where = f"{shown[0].lower()}{shown[1:]}"
    text = query
    while match := _SQL_COMMENT.match(text):
        if not match.group(0):
            break
        text = text[match.end() :]
    text = text.lstrip("(")
    word = re.match(r"[A-Za-z]+", text)
    keyword = word.group(0).lower() if word else ""
    if keyword not in _ROW_STATEMENTS:
        article = "an" if keyword[:1] in ("a", "e", "i", "o", "u") else "a"
        what = f"{article} {keyword.upper()} statement" if keyword else "not a SELECT statement"
        raise AnomalyzerError(
            f"The query on {where} is {what}; sources are read-only, so give a query that "
            "returns rows (SELECT ...)."
        )
    body = text.rstrip().rstrip(";")
    if ";" in _strip_literals(body):
        raise AnomalyzerError(
            f"The query on {where} holds more than one statement; give a single SELECT."
        )


def _strip_literals(sql: str) -> str:
    """``sql`` without its quoted strings and identifiers, so a ';' inside them is ignored."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", "", sql, flags=re.S)


def _read_only_engine(parsed: Any, database: str) -> Any:
    """An engine whose connections cannot write.

    SQLite files open with ``mode=ro`` and ``query_only``, and an authorizer
    denies every action but reading (so ``ATTACH`` cannot create a file); other
    databases get read-only transactions (PostgreSQL through the driver's
    read-only flag) that are rolled back when the connection closes.
    """
    from sqlalchemy import create_engine, event

    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed)
    import sqlite3

    kwargs: dict[str, Any] = {}
    if database not in ("", ":memory:") and not database.startswith("file:"):
        uri = Path(database).resolve().as_uri() + "?mode=ro"
        kwargs["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA query_only = ON")
        dbapi_conn.set_authorizer(_sqlite_authorizer)

    return engine


_READ_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "database_list",
    }
)


def _sqlite_authorizer(action: int, arg1: Any, arg2: Any, dbname: Any, source: Any) -> int:
    import sqlite3

    allowed = {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
        sqlite3.SQLITE_TRANSACTION,
        sqlite3.SQLITE_SAVEPOINT,
    }
    if action in allowed:
        return sqlite3.SQLITE_OK
    # The pragmas that describe tables (the inspector's questions) pass; no other does.
    if action == sqlite3.SQLITE_PRAGMA and str(arg1).lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY
