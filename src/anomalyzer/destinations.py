"""Checks on where output goes, so a bad path is refused before any work is done.

Three promises hold for every file the project writes:

- :func:`check_destination`: the folder exists and the path is not a folder;
- :func:`check_outputs`: no output is the same file as an input, or as
  another output (symbolic links and other spellings of a path resolved);
- :func:`atomic_path`: a file is written beside its destination and renamed
  into place, so an interrupted run never leaves half a file where an old
  one was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from anomalyzer.errors import AnomalyzerError

PathLike = str | os.PathLike[str]


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


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file: the same inode when both exist, else the
    same path once symbolic links, ``..`` and case-insensitive file systems are resolved.

    >>> same_file("/tmp/../tmp/x.csv", "/tmp/x.csv")
    True
    """
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    return os.path.normcase(ra) == os.path.normcase(rb)


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Sequence[object] = ()) -> None:
    """Refuse any output that is an input or another output, naming both options.

    ``outputs`` maps an option name (``"--out"``) to its path or None;
    ``inputs`` holds the sources read (file paths; other sources such as
    DataFrames, database URLs and ``-`` are skipped).

    >>> check_outputs({"--out": "data.csv"}, ["./data.csv"])
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Refusing to write --out 'data.csv': it is the input file './data.csv', which would be overwritten; write to another path.
    >>> check_outputs({"--out": "a.csv", "--save": "a.csv"})
    Traceback (most recent call last):
    ...
    anomalyzer.errors.AnomalyzerError: Refusing to write --save 'a.csv': --out writes to the same file; give each output its own path.
    """
    files = [
        os.fspath(i)
        for i in inputs
        if isinstance(i, str | os.PathLike) and os.fspath(i) != "-" and "://" not in os.fspath(i)
    ]
    given = [(name, os.fspath(p)) for name, p in outputs.items() if p is not None]
    for k, (name, path) in enumerate(given):
        for source in files:
            if same_file(path, source):
                raise AnomalyzerError(
                    f"Refusing to write {name} '{path}': it is the input file '{source}', which "
                    "would be overwritten; write to another path."
                )
        for other, other_path in given[:k]:
            if same_file(path, other_path):
                raise AnomalyzerError(
                    f"Refusing to write {name} '{path}': {other} writes to the same file; give "
                    "each output its own path."
                )


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds.

    Writers write to the yielded path; on error the temporary file is removed
    and whatever was at ``path`` before is left as it was.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with atomic_path(f"{tmp}/out.txt") as part:
    ...         _ = part.write_text("done")
    ...     print(Path(f"{tmp}/out.txt").read_text(), len(os.listdir(tmp)))
    done 1
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file readable by its owner only; give it the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_page(html: str, path: Path) -> Path:
    """Write an HTML page to ``path`` atomically; a failure is one sentence naming the file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_page("<p>hi</p>", Path(tmp) / "r.html").read_text()
    '<p>hi</p>'
    """
    try:
        with atomic_path(path) as part:
            part.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise AnomalyzerError(
            f"Cannot write the report to '{path}': {exc.strerror or exc}."
        ) from None
    return path
