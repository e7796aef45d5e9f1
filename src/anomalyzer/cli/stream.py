"""``anomalyzer stream``: score points one at a time with a saved series model."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time as clock
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from anomalyzer.cli.app import app
from anomalyzer.cli.files import load_model
from anomalyzer.cli.printing import plain_value
from anomalyzer.cli.progress import Steps
from anomalyzer.errors import AnomalyzerError

# Text that pandas reads as a missing value in a CSV file (its default na_values, in part).
_MISSING = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "null", "NULL", "None",
                      "<NA>", "#N/A"})  # fmt: skip


# How often --follow looks for new lines in the file.
_POLL_SECONDS = 0.1


# How a series model marks a row it did not score; the rest of its reason says why.
_NOT_SCORED = "not scored: "


_RESULT = ("anomaly_score", "is_anomaly", "anomaly_reason")


@app.command("stream")
def stream(
    model: Annotated[
        Path,
        typer.Argument(
            help="Series model file saved by `anomalyzer detect DATA --time COL --causal --save FILE`."
        ),
    ],
    input_file: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="Read the points from this file, not standard input."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="With --input: score the lines already there, then wait for the file to grow "
            "(like tail -f) until interrupted.",
        ),
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl; default: told from the first non-empty line."),
    ] = None,
) -> None:
    """Score points one at a time with a saved series model, each as soon as it is read.

    Input: CSV with a header line, or JSON lines (one object per line), with
    the model's time column, value column(s) and group column; each line is
    the next point of its series. Output, in the same format, one line per
    point, written and flushed before the next line is read: the input
    columns plus anomaly_score, is_anomaly, anomaly_reason, and expected,
    lower, upper (per value column, for several).

    A bad line (one that cannot be parsed, lacks a value or is not after the
    last point of its series) gives a line with an empty score and
    "error: ..." in anomaly_reason (and an "error" key in JSON lines), and
    the stream goes on. The command exits 0 at the end of the input.

    Throughput: every point is one call of the model's update, roughly 5 to
    10 ms with the default detector (100 to 200 points a second); to score a
    whole file at once, use `anomalyzer detect`.
    """

    if fmt is not None and fmt not in ("csv", "jsonl"):
        raise AnomalyzerError(f"--format is {fmt!r}; use csv or jsonl.")
    if follow and input_file is None:
        raise AnomalyzerError("--follow waits for a file to grow; name the file with --input.")
    if input_file is not None and not input_file.is_file():
        # Told before the model is loaded, which takes a moment.
        raise AnomalyzerError(f"Input file '{input_file}' not found or not a file.")
    with Steps() as steps:
        fitted = load_model(steps, model)
    _check_stream_model(fitted, model)
    source = sys.stdin if input_file is None else _open_input(input_file)
    try:
        _run_stream(fitted, _lines(source, follow), fmt, _emit)
    except KeyboardInterrupt:
        # Interrupting is how a followed stream ends: not a failure.
        return
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's
        # final flush of standard output from failing again.
        _silence_stdout()
    finally:
        if source is not sys.stdin:
            source.close()


def _check_stream_model(fitted: Any, path: Path) -> None:
    """Refuse a model that cannot score a stream, before any input is read."""
    from anomalyzer.model import Model

    how = "save one with `anomalyzer detect DATA --time COL --causal --save FILE`"
    if isinstance(fitted, Model) or not callable(getattr(fitted, "update", None)):
        raise AnomalyzerError(
            f"Model file '{path}' holds a table model, which cannot score a stream; {how}."
        )
    if not getattr(fitted, "causal", True):
        raise AnomalyzerError(
            f"Model file '{path}' holds a series model fitted without --causal, whose scores "
            f"need points after each one; {how}."
        )


def _open_input(path: Path) -> TextIO:
    try:
        # utf-8-sig: a byte order mark must not become part of the first column's name.
        return open(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise AnomalyzerError(f"Input file '{path}' not found.") from None
    except OSError as exc:
        raise AnomalyzerError(f"Cannot read '{path}': {exc.strerror or exc}.") from None


def _lines(source: TextIO, follow: bool) -> Iterator[str]:
    """Complete lines of ``source`` without their line end, one ``readline`` at a time.

    ``readline`` returns as soon as a whole line is there, never waiting for
    the lines after it, so each point is scored while the writer is still
    writing. With ``follow``, the end of the file is a pause: a half-written
    last line waits for its end, and new lines are picked up as the file grows.
    """
    pending = ""
    while True:
        chunk = source.readline()
        if not chunk:
            if not follow:
                if pending:
                    yield pending
                return
            clock.sleep(_POLL_SECONDS)
            continue
        pending += chunk
        if pending.endswith("\n"):
            yield pending.rstrip("\r\n")
            pending = ""
        elif not follow:  # only the last line of a finished input lacks its line end
            yield pending
            pending = ""


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n")
    # Flushed per point: whoever reads the pipe gets each score without waiting.
    sys.stdout.flush()


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _run_stream(
    fitted: Any, lines: Iterator[str], fmt: str | None, emit: Callable[[str], None]
) -> None:
    """Score each non-empty line of ``lines`` with ``fitted.update`` and emit one line for it."""
    scorer = _Scorer(fitted)
    codec: _CsvCodec | _JsonCodec | None = None
    for line in lines:
        if not line.strip():
            continue
        if codec is None:
            kind = fmt or ("jsonl" if line.lstrip().startswith("{") else "csv")
            if kind == "csv":
                codec = _CsvCodec(line, scorer)
                emit(codec.header())
                continue
            codec = _JsonCodec(scorer)
        emit(codec.process(line))


class _BadLine(Exception):
    """A line that cannot be scored; its message goes into the output line."""


class _Scorer:
    """One point at a time through the model's ``update``, with the checks a stream needs.

    The model names its time, group and value columns (``time``, ``group``,
    ``channels``); a point lacking one of them, or with a value that is not a
    number, is refused here rather than passed on, since the model would take
    it for a gap and fill it.
    """

    def __init__(self, fitted: Any) -> None:
        self.fitted = fitted
        self.channels = [str(c) for c in getattr(fitted, "channels", None) or []]
        keys = (getattr(fitted, "time", None), getattr(fitted, "group", None))
        self.keys = [str(k) for k in keys if k is not None]
        band = ("expected", "lower", "upper")
        self.extra: tuple[str, ...]
        if len(self.channels) == 1:
            self.extra = (*_RESULT, *band)
        else:
            self.extra = (*_RESULT, *(f"{b}_{c}" for c in self.channels for b in band))

    def check_columns(self, columns: list[str]) -> list[str]:
        """The columns the model needs that ``columns`` lacks."""
        return [c for c in (*self.keys, *self.channels) if c not in columns]

    def score(self, record: dict[str, Any]) -> dict[str, Any]:
        """The result columns of one point, or ``_BadLine`` saying why it has none."""
        import pandas as pd

        missing = self.check_columns(list(record))
        if missing:
            raise _BadLine(f"no {', '.join(map(repr, missing))} in the line")
        for name in (*self.keys, *self.channels):
            value = record[name]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise _BadLine(f"missing value for '{name}'")
        for name in self.channels:
            record[name] = _number(record[name], name)
        try:
            scored = self.fitted.update(pd.DataFrame([record]))
        except AnomalyzerError as exc:
            raise _BadLine(str(exc)) from None
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise _BadLine(f"{type(exc).__name__}: {exc}") from None
        for note in scored.attrs.get("notes", []):
            # Gaps filled, points off the grid: worth knowing, not part of the output.
            sys.stderr.write(f"Note: {note}\n")
        row = scored.iloc[0]
        result = {key: plain_value(row[key]) for key in self.extra if key in scored.columns}
        if result.get("anomaly_score") is None:
            reason = str(result.get("anomaly_reason") or "the model gave no score")
            raise _BadLine(reason.removeprefix(_NOT_SCORED))
        return result


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise _BadLine(f"'{name}' is {value!r}, not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _BadLine(f"'{name}' is {value!r}, not a number") from None


class _CsvCodec:
    """CSV lines: the header's columns in, the same columns plus the results out."""

    def __init__(self, header: str, scorer: _Scorer) -> None:
        self.scorer = scorer
        try:
            self.columns = _split_csv(header)
        except _BadLine as exc:
            raise AnomalyzerError(f"The CSV header cannot be read: {exc}.") from None
        if len(set(self.columns)) < len(self.columns):
            raise AnomalyzerError(
                f"The CSV header names a column twice ({header.strip()}); give unique names."
            )
        missing = scorer.check_columns(self.columns)
        if missing:
            need = ", ".join(map(repr, (*scorer.keys, *scorer.channels)))
            raise AnomalyzerError(
                f"The input has no column {', '.join(map(repr, missing))}; the model needs "
                f"{need} (the header is: {header.strip()})."
            )
        self.out_columns = self.columns + [c for c in scorer.extra if c not in self.columns]

    def header(self) -> str:
        return _join_csv(self.out_columns)

    def process(self, line: str) -> str:
        fields: list[str] = []
        try:
            fields = _split_csv(line)
            if len(fields) != len(self.columns):
                raise _BadLine(
                    f"the line has {len(fields)} field(s) but the header has {len(self.columns)}"
                )
            record = {c: _csv_value(v) for c, v in zip(self.columns, fields, strict=True)}
            result = self.scorer.score(record)
        except _BadLine as exc:
            result = {"anomaly_reason": f"error: {exc}"}
        values = dict(zip(self.columns, fields[: len(self.columns)], strict=False))
        # The input's own fields go out as they came in; the results replace any of the same name.
        values.update({k: _csv_text(v) for k, v in result.items()})
        return _join_csv([values.get(c, "") for c in self.out_columns])


class _JsonCodec:
    """JSON lines: an object in, the same object with the results out."""

    def __init__(self, scorer: _Scorer) -> None:
        self.scorer = scorer

    def process(self, line: str) -> str:
        shown: dict[str, Any] = {"line": line}
        error = None
        try:
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _BadLine(f"not JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(parsed, dict):
                raise _BadLine(f"a JSON {type(parsed).__name__}, not an object")
            shown = dict(parsed)
            result = self.scorer.score(parsed)
        except _BadLine as exc:
            error = str(exc)
            result = {"anomaly_reason": f"error: {error}"}
        shown.update(dict.fromkeys(self.scorer.extra))
        shown.update(result)
        if error is not None:
            shown["error"] = error
        return json.dumps(shown, ensure_ascii=False, default=str)


def _split_csv(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        raise _BadLine(f"not CSV ({exc})") from None


def _join_csv(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def _csv_value(text: str) -> Any:
    """A CSV field as pandas would read it: a number, a boolean, missing, or text."""
    if text.strip() in _MISSING:
        return math.nan
    if "_" not in text:  # Python reads 1_000 as a number; pandas does not
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                pass
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    return text


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
