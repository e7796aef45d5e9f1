"""Limits on what a source may cost to read, so a hostile file cannot exhaust memory or hang.

Each limit guards against one kind of input, and each is far above what real
tables need:

- :data:`MAX_INFLATION_RATIO`: compressed input (``.gz``, model files) that
  inflates more than this many times over its compressed size, once past
  :data:`INFLATION_FREE_BYTES`, is a compression bomb. Text tables compress
  about 3 to 20 times; gzip cannot exceed about 1,030.
- :data:`MEMORY_SHARE`: a table whose text exceeds this share of the memory
  available now is refused before it is parsed (parsing takes several times
  the text's size).
- :data:`MAX_COLUMNS`: more columns than this in a text table is refused
  before parsing (a line of millions of fields hangs a parser).
- :data:`MAX_FIELD_CHARS`: a single cell longer than this is refused; no
  column of a table worth scoring holds megabytes in one cell.

>>> MAX_COLUMNS >= 10_000
True
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Callable

from anomalyzer.errors import AnomalyzerError

MAX_INFLATION_RATIO = 200
# Below this many inflated bytes no ratio is checked: small files of repeated
# values compress extremely well and cost nothing to hold.
INFLATION_FREE_BYTES = 64 << 20
MEMORY_SHARE = 0.25
MAX_COLUMNS = 20_000
MAX_FIELD_CHARS = 1 << 20
# Chunks in which compressed data is inflated and counted.
CHUNK_BYTES = 1 << 20


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_memory(n_bytes: int, shown: str) -> None:
    """Refuse ``n_bytes`` of data (text, or a Parquet file's uncompressed size) that would
    not fit in memory once parsed."""
    available = available_memory()
    if available is not None and n_bytes > MEMORY_SHARE * available:
        raise AnomalyzerError(
            f"{shown} holds {n_bytes / 2**30:.1f} GiB of data once read, too large for the "
            f"{available / 2**30:.1f} GiB of memory available; score a sample of it (or split "
            "it into parts) instead."
        )


def check_inflation(inflated: int, compressed: int, shown: str) -> None:
    """Refuse data that inflates beyond :data:`MAX_INFLATION_RATIO` (a compression bomb).

    >>> check_inflation(100 << 20, 1 << 10, "File 'x.gz'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: File 'x.gz' inflates more than 200 times ...
    """
    if inflated > INFLATION_FREE_BYTES and inflated > MAX_INFLATION_RATIO * max(compressed, 1):
        raise AnomalyzerError(
            f"{shown} inflates more than {MAX_INFLATION_RATIO} times its compressed size "
            f"(over {inflated / 2**20:,.0f} MiB from {compressed / 2**20:,.1f} MiB): a "
            "compression bomb or a damaged file; it was not read."
        )


def read_bounded(read: Callable[[int], bytes], consumed: Callable[[], int], shown: str) -> bytes:
    """Inflate a stream chunk by chunk, checking the ratio and memory as it grows.

    ``read(n)`` gives up to ``n`` inflated bytes; ``consumed()`` how many
    compressed bytes were used so far. The header's declared size is never
    trusted: only the bytes actually produced count.
    """
    chunks: list[bytes] = []
    total = 0
    available = available_memory()
    while True:
        chunk = read(CHUNK_BYTES)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        check_inflation(total, consumed(), shown)
        if available is not None and total > MEMORY_SHARE * available:
            check_fits_memory(total, shown)
    return b"".join(chunks)


def read_zip_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> bytes:
    """One entry of a zip archive, inflated within the ratio and memory limits.

    The sizes in the entry's header are not trusted: the compressed bytes used
    and the bytes produced are counted as the entry is inflated.
    """
    with zf.open(info) as fh:
        return read_bounded(fh.read, _consumed(fh, info), f"{shown} ({info.filename})")


def check_zip_inflation(data: bytes, shown: str) -> None:
    """Inflate every entry of the zip archive ``data`` without keeping it, refusing bombs.

    A damaged archive is left for its reader to refuse; only size is judged here.

    >>> import io
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
    ...     zf.writestr("zeros", bytes(100 << 20))
    >>> check_zip_inflation(buffer.getvalue(), "Model file 'm.azm'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Model file 'm.azm' (zeros) inflates more than 200 times ...
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return
    available = available_memory()
    total = 0
    with zf:
        for info in zf.infolist():
            try:
                with zf.open(info) as fh:
                    consumed = _consumed(fh, info)
                    size = 0
                    while chunk := fh.read(CHUNK_BYTES):
                        size += len(chunk)
                        check_inflation(size, consumed(), f"{shown} ({info.filename})")
                        if available is not None and total + size > MEMORY_SHARE * available:
                            check_fits_memory(total + size, shown)
                    total += size
            except AnomalyzerError:
                raise
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                ValueError,
                EOFError,
                NotImplementedError,
            ):
                return


def _consumed(fh: object, info: zipfile.ZipInfo) -> Callable[[], int]:
    """Compressed bytes of ``info`` read so far through ``fh`` (a ``ZipExtFile``).

    CPython's reader keeps what is left in ``_compress_left``; without it the
    whole entry's compressed size is a safe overestimate.
    """

    def consumed() -> int:
        left = getattr(fh, "_compress_left", None)
        if isinstance(left, int):
            return max(info.compress_size - left, 0)
        return info.compress_size

    return consumed
