"""The ``anomalyzer`` command line: ``detect``, ``score``, ``detectors``, ``compare``, ``benchmark``, ``evaluate``, ``stream``.

Exit codes: 0 on success, 2 for a usage or input mistake (one sentence, no
traceback), 1 for anything else. Progress of the slow steps (reading, fitting,
scoring, writing) shows on standard error when it is a terminal.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from anomalyzer.cli_series import evaluate_scored, stream
from anomalyzer.destinations import check_destination
from anomalyzer.errors import AnomalyzerError
from anomalyzer.model import DEFAULT_DETECTOR

if TYPE_CHECKING:
    import pandas as pd

    from anomalyzer.data import Schema
    from anomalyzer.model import Model

app = typer.Typer(
    name="anomalyzer",
    help="Find anomalies in tables and say why.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Wide enough for reasons when the output is a file or a pipe (not a terminal).
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

EXIT_INPUT = 2
EXIT_OTHER = 1
# A step shows a progress bar once it has run this long: quick steps stay quiet.
QUIET_SECONDS = 0.5
# Rows scored per call by `score`, so the bar moves on big tables.
SCORE_CHUNK = 200_000

DataArg = Annotated[
    str, typer.Argument(help="CSV, TSV, Parquet, JSON lines or Excel file, or a SQLAlchemy URL.")
]
TableOpt = Annotated[str | None, typer.Option(help="Table name, when DATA is a database URL.")]
QueryOpt = Annotated[str | None, typer.Option(help="SQL query, when DATA is a database URL.")]
TopOpt = Annotated[int, typer.Option(help="How many of the top rows to print.", min=0)]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write the scored table (.csv or .parquet).")
]


@app.command()
def detect(
    data: DataArg,
    detector: Annotated[
        str, typer.Option("--detector", "-d", help="Detector name (see `anomalyzer detectors`).")
    ] = DEFAULT_DETECTOR,
    contamination: Annotated[str, typer.Option(help="Share of rows to flag, or 'auto'.")] = "auto",
    label: Annotated[
        str | None,
        typer.Option(help="Label column (0/1): kept out of the features, used in the report."),
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Comma-separated columns not to use as features.")
    ] = None,
    table: TableOpt = None,
    query: QueryOpt = None,
    top: TopOpt = 10,
    output: OutOpt = None,
    report: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report (.html).")
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="Save the fitted model (.azm) for `anomalyzer score`.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of randomised detectors.")] = 0,
    time: Annotated[
        str | None,
        typer.Option(help="Time column: DATA holds time series (see `anomalyzer detectors`)."),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(
            help="With --time: a value column (repeat for several; default: all numeric)."
        ),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="With --time: the column naming each series (e.g. host).")
    ] = None,
    causal: Annotated[
        bool, typer.Option(help="With --time: score each point from the past only (streamable).")
    ] = False,
) -> None:
    """Score every row of DATA, flag the anomalies and print the top ones with reasons.

    With --time, DATA holds time series (one per --group value): each is put on
    a regular grid, scored with a series detector, and the notes on its data,
    its seasonal periods and its top points with reasons are printed.
    """
    from anomalyzer.api import detect as run_detect
    from anomalyzer.detectors import spec
    from anomalyzer.validation import check_contamination

    # Every mistake that can be seen before the work is reported before the work.
    cont = check_contamination(contamination)
    if time is not None:
        _detect_series(data, detector, cont, label, exclude, table, query, top, output,
                       report, save, time, value, group, causal)  # fmt: skip
        return
    if value or group is not None or causal:
        raise AnomalyzerError("--value, --group and --causal apply to time series; add --time COL.")
    name = spec(detector).name
    _check_output(output, (".csv", ".parquet"), "--out")
    _check_output(report, (".html", ".htm"), "--report")
    _check_output(save, (), "--save")
    cols = [c.strip() for c in exclude.split(",") if c.strip()] if exclude else []
    with Steps() as steps:
        df = _read(steps, data, table, query)
        with steps.step(f"Fitting {name} and scoring {len(df):,} rows"):
            result = run_detect(
                df, name, contamination=cont, label=label, exclude=cols, random_state=seed
            )
        _print_read(data, df, result.model.schema)
        out.print(
            f"[bold]Detector[/bold] {result.model.detector_name}, threshold "
            f"{result.threshold:.4g}: [bold]{result.n_anomalies:,}[/bold] of {len(df):,} rows "
            f"flagged ({result.n_anomalies / max(len(df), 1):.2%})"
        )
        if label is not None:
            _print_against_label(result, df[label], label)
        if top:
            _print_top(_top_rows(result.frame, top), result.model.schema)
        if output is not None:
            with steps.step(f"Writing {output}"):
                _write(result.frame, output)
            out.print(f"Wrote {output}")
        if report is not None:
            from anomalyzer.report import write_report

            with steps.step(f"Writing the report {report}"):
                write_report(result, report, label=label, source=data)
            out.print(f"Wrote the report {report}")
        if save is not None:
            with steps.step(f"Saving the model to {save}"):
                result.model.save(save)
            out.print(f"Saved the model to {save}")


def _detect_series(
    data: str,
    detector: str,
    contamination: float | str,
    label: str | None,
    exclude: str | None,
    table: str | None,
    query: str | None,
    top: int,
    output: Path | None,
    report: Path | None,
    save: Path | None,
    time: str,
    value: list[str] | None,
    group: str | None,
    causal: bool,
) -> None:
    """``detect --time``: the series of DATA put on a grid, scored and explained."""
    from anomalyzer.api import detect as run_detect
    from anomalyzer.timeseries import detector_class

    detector_class(detector)  # an unknown name fails before the work
    if exclude:
        raise AnomalyzerError(
            "--exclude applies to tables; with --time choose the value columns with --value."
        )
    _check_output(output, (".csv", ".parquet"), "--out")
    _check_output(report, (".html", ".htm"), "--report")
    _check_output(save, (), "--save")
    with Steps() as steps:
        df = _read(steps, data, table, query)
        with steps.step(f"Fitting {detector} to the series of {len(df):,} rows"):
            result = run_detect(df, detector, contamination=contamination, label=label,
                                time=time, value=value or None, group=group, causal=causal)  # fmt: skip
        _print_series(data, df, result, label, top)
        if output is not None:
            with steps.step(f"Writing {output}"):
                _write(result.frame, output)
            out.print(f"Wrote {output}")
        if report is not None:
            if _report_takes_series():
                from anomalyzer.report import write_report

                with steps.step(f"Writing the report {report}"):
                    write_report(result, report, source=data)
                out.print(f"Wrote the report {report}")
            else:
                out.print("The HTML report of time series is not available yet; --report skipped.")
        if save is not None:
            with steps.step(f"Saving the model to {save}"):
                result.model.save(save)
            out.print(f"Saved the model to {save}")


def _report_takes_series() -> bool:
    try:
        from anomalyzer.report.timeview import is_series_result  # noqa: F401
    except ImportError:
        return False
    return True


def _print_series(data: str, df: pd.DataFrame, result: Any, label: str | None, top: int) -> None:
    from anomalyzer.timeseries.reasons import duration, periods_text

    model = result.model
    series = list(model.series_.values())
    points = result.points
    out.print(f"[bold]Read[/bold] {data}: {len(df):,} rows, {len(df.columns)} columns")
    steps = {duration(s.freq) for s in series}
    by = f" (by '{model.group}')" if model.group is not None else ""
    out.print(
        f"[bold]Series[/bold] {len(series):,}{by}: {len(points):,} points on a "
        f"{' / '.join(sorted(steps))} grid; values: {', '.join(model.channels)}"
    )
    notes = result.notes
    if notes:
        out.print(f"[bold]Notes[/bold] ({len(notes):,}):")
        for note in notes[:10]:
            out.print(f"  - {note}", highlight=False)
        if len(notes) > 10:
            out.print(f"  ... and {len(notes) - 10:,} more", highlight=False)
    if len(series) == 1:
        s = series[0]
        out.print(f"[bold]Periods[/bold] {periods_text(s.periods, s.freq)}", highlight=False)
    else:
        counts: dict[str, int] = {}
        for s in series:
            text = ", ".join(duration(p * s.freq) for p in s.periods) or "none"
            counts[text] = counts.get(text, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        shown = "; ".join(f"{text} in {n:,} series" for text, n in ranked[:3])
        if len(ranked) > 3:
            shown += f"; other periods in {sum(n for _, n in ranked[3:]):,} series"
        out.print(f"[bold]Periods[/bold] {shown}", highlight=False)
    n_points = int(points["is_anomaly"].sum())
    out.print(
        f"[bold]Detector[/bold] {model.detector_name}: [bold]{n_points:,}[/bold] of "
        f"{len(points):,} points flagged ({n_points / max(len(points), 1):.2%}), "
        f"{result.n_anomalies:,} of {len(df):,} rows"
    )
    if label is not None:
        scored = result.frame["anomaly_score"].notna().to_numpy()
        _print_against_label(_Scored(result.frame[scored]), df[label][scored], label)
    if top:
        _print_top_series(_top_rows(result.frame, top), model, result.frame)


class _Scored:
    """The rows of a series result that have a score, as the label summary reads them."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.scores = frame["anomaly_score"]


def _print_top_series(frame: pd.DataFrame, model: Any, full: pd.DataFrame) -> None:
    table = Table(show_header=True, header_style="bold", title="Top points by anomaly score")
    table.add_column("rank", justify="right")
    table.add_column(model.time)
    cols = [model.group] if model.group is not None else []
    cols += [c for c in model.channels if c in full.columns]
    for col in cols:
        table.add_column(col, justify="left" if col == model.group else "right")
    table.add_column("score", justify="right")
    table.add_column("flagged")
    table.add_column("reason", overflow="fold")
    from anomalyzer.timeseries.reasons import fmt_number

    def cell(value: Any) -> str:
        return fmt_number(value) if isinstance(value, float) else _cell(value)

    for _, row in frame.iterrows():
        table.add_row(
            str(row["anomaly_rank"]),
            str(row[model.time]),
            *[cell(row[c]) for c in cols],
            f"{row['anomaly_score']:.4g}",
            "yes" if row["is_anomaly"] else "no",
            row["anomaly_reason"],
        )
    out.print(table)


@app.command()
def score(
    model: Annotated[
        Path, typer.Argument(help="Model file written by `anomalyzer detect --save`.")
    ],
    data: DataArg,
    table: TableOpt = None,
    query: QueryOpt = None,
    top: TopOpt = 10,
    output: OutOpt = None,
) -> None:
    """Score the rows of DATA with a saved model, flag the anomalies and print the top ones."""
    import numpy as np

    from anomalyzer.api import MIN_EXPLAINED
    from anomalyzer.result import DetectionResult, scored_frame

    _check_output(output, (".csv", ".parquet"), "--out")
    with Steps() as steps:
        fitted = _load(steps, model)
        df = _read(steps, data, table, query)
        schema = fitted.schema
        known = {c.name for c in schema.columns}
        extra = [str(c) for c in df.columns if str(c) not in known]
        if extra:
            shown = ", ".join(repr(c) for c in extra[:10]) + (" ..." if len(extra) > 10 else "")
            err.print(
                f"[yellow]Warning:[/yellow] {len(extra)} column(s) not seen when the model was "
                f"fitted are ignored: {shown}",
                highlight=False,
                soft_wrap=True,
            )
        scores = np.empty(len(df), dtype=np.float64)
        with steps.step(f"Scoring {len(df):,} rows", total=len(df)) as advance:
            for start in range(0, len(df), SCORE_CHUNK):
                part = df.iloc[start : start + SCORE_CHUNK]
                scores[start : start + len(part)] = fitted.score(part)
                advance(len(part))
        flags = scores > fitted.threshold_
        n_explain = max(int(flags.sum()), min(MIN_EXPLAINED, len(df)))
        order = np.argsort(-scores, kind="stable")[:n_explain]
        with steps.step(f"Explaining {len(order):,} rows"):
            rows = df.iloc[order]
            texts = fitted._reasons(rows, fitted.preprocessor_.transform(rows))
        result = DetectionResult(
            frame=scored_frame(df, scores, flags, dict(zip(order.tolist(), texts, strict=True))),
            model=fitted,
        )
        out.print(f"[bold]Read[/bold] {data}: {len(df):,} rows, {len(df.columns)} columns")
        out.print(
            f"[bold]Model[/bold] {model}: {fitted.detector_name}, threshold "
            f"{fitted.threshold_:.4g}, fitted on {fitted.n_rows_:,} rows"
        )
        out.print(
            f"[bold]{result.n_anomalies:,}[/bold] of {len(df):,} rows flagged "
            f"({result.n_anomalies / max(len(df), 1):.2%})"
        )
        if top:
            _print_top(_top_rows(result.frame, top), schema)
        if output is not None:
            with steps.step(f"Writing {output}"):
                _write(result.frame, output)
            out.print(f"Wrote {output}")


@app.command("detectors")
def list_detectors() -> None:
    """List the detectors with a line on what each does."""
    from anomalyzer.detectors import describe, spec

    table = Table(show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("family")
    table.add_column("what it does")
    for name, summary in describe().items():
        table.add_row(name, spec(name).family, summary)
    out.print(table)
    from anomalyzer import timeseries

    series = Table(show_header=True, header_style="bold", title="Time-series detectors (--time)")
    series.add_column("name")
    series.add_column("what it finds")
    for name, summary in timeseries.describe().items():
        series.add_row(name, summary)
    out.print(series)


@app.command()
def compare(
    data: Annotated[
        str, typer.Argument(help="A labelled CSV, TSV, Parquet, JSON lines or Excel file.")
    ],
    label: Annotated[str, typer.Option(help="The label column (1/true/'anomaly' = anomaly).")],
    detectors: Annotated[
        str | None, typer.Option(help="Comma-separated detector names; default: all.")
    ] = None,
    contamination: Annotated[str, typer.Option(help="Share of rows to flag, or 'auto'.")] = "auto",
    time_budget: Annotated[float | None, typer.Option(help="Seconds allowed per detector.")] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the leaderboard (.csv or .json).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of randomised detectors.")] = 0,
) -> None:
    """Fit every detector without labels, score it against LABEL, print a leaderboard sorted by AP."""
    from anomalyzer.evaluate import compare as run_compare
    from anomalyzer.validation import check_contamination

    cont = check_contamination(contamination)
    names = _names(detectors)
    if output is not None:
        _check_output(output, (".csv", ".json"), "--out")
    total = len(names) if names else len(_registry_names())
    with Steps() as steps, steps.step("Comparing detectors", total=total) as advance:
        board = run_compare(
            data,
            label,
            names,
            contamination=cont,
            time_budget=time_budget,
            random_state=seed,
            progress=lambda name, index, total: advance(1 if index else 0),
        )
    _print_board(board, title=f"Leaderboard on {data} (label '{label}'), sorted by AP")
    if output is not None:
        _write_board(board, output)
        out.print(f"Wrote {output}")


@app.command()
def benchmark(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder of labelled files: .npz with X and y, or CSV/Parquet with --label."
        ),
    ],
    label: Annotated[
        str | None, typer.Option(help="Label column of the CSV/Parquet files.")
    ] = None,
    detectors: Annotated[
        str | None, typer.Option(help="Comma-separated detector names; default: all.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the long-form results (.csv or .json)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before one run is stopped.")] = 600.0,
    seed: Annotated[int, typer.Option(help="Random seed of randomised detectors.")] = 0,
) -> None:
    """Run every detector on every labelled file in FOLDER; per-dataset rows, means and ranks."""
    from anomalyzer import benchmarking

    if not folder.is_dir():
        raise AnomalyzerError(
            f"Benchmark folder '{folder}' not found or not a folder; give a folder of labelled files."
        )
    names = _names(detectors) or benchmarking.default_detectors(include_pyod=False)
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in {".npz", ".csv", ".parquet", ".pq"}
    )
    if not files:
        raise AnomalyzerError(
            f"Folder '{folder}' holds no .npz, .csv or .parquet files to benchmark."
        )
    tables = [p for p in files if p.suffix.lower() != ".npz"]
    if tables and label is None:
        raise AnomalyzerError(
            f"Folder '{folder}' holds CSV/Parquet files; name their label column with --label."
        )
    if output is not None:
        _check_output(output, (".csv", ".json"), "--out")
    with Steps() as steps, steps.step("Benchmarking", total=len(files) * len(names)) as advance:
        long = benchmarking.run_folder(
            files,
            names,
            label=label,
            timeout=timeout,
            random_state=seed,
            progress=lambda row: advance(1),
        )
    out.print(benchmarking.render_text(long, benchmarking.summarise(long)))
    if output is not None:
        _write_board(long, output)
        out.print(f"Wrote {output}")


# Scored files against labels, and point-by-point scoring: in their own module.
app.command("evaluate")(evaluate_scored)
app.command("stream")(stream)


def _registry_names() -> list[str]:
    from anomalyzer.detectors import available

    return available()


def _names(text: str | None) -> list[str] | None:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    return names or None


def _print_board(board, title: str) -> None:
    table = Table(show_header=True, header_style="bold", title=title)
    columns = ["detector", "roc_auc", "ap", "best_f1", "precision_at_k", "f1", "n_flagged",
               "fit_seconds", "score_seconds", "status"]  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col in ("detector", "status") else "right")
    for _, row in board.iterrows():
        table.add_row(*[_num(row[c]) for c in columns])
    out.print(table)


def _num(value) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.3f}"
    return str(value)


def _write_board(frame, path: Path) -> None:
    try:
        if path.suffix.lower() == ".json":
            frame.to_json(path, orient="records", indent=2)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None


# -- steps and progress ------------------------------------------------------------------


class Steps:
    """Progress bars on standard error for steps that take more than a moment.

    Each step's bar appears only after :data:`QUIET_SECONDS`, and bars vanish
    when done; when standard error is not a terminal nothing is drawn.
    """

    def __init__(self) -> None:
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        # Bars are for people: a log file or a pipe gets none.
        self._shown = err.is_terminal

    def __enter__(self) -> Steps:
        if self._shown:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._shown:
            self._bars.stop()

    @contextmanager
    def step(
        self, description: str, total: float | None = None
    ) -> Iterator[Callable[[float], None]]:
        """A bar for one step; ``total`` makes it advance (call the yielded function), else it pulses."""
        if not self._shown:
            yield lambda amount: None
            return
        task = self._bars.add_task(description, total=total, visible=False)
        timer = threading.Timer(QUIET_SECONDS, self._bars.update, (task,), {"visible": True})
        timer.daemon = True
        timer.start()
        try:
            yield lambda amount: self._bars.advance(task, amount)
        finally:
            timer.cancel()
            self._bars.remove_task(task)


def _read(steps: Steps, data: str, table: str | None, query: str | None) -> pd.DataFrame:
    from anomalyzer.data import read_table

    read = {k: v for k, v in {"table": table, "query": query}.items() if v is not None}
    with steps.step(f"Reading {data}"):
        return read_table(data, **read)


def _load(steps: Steps, path: Path) -> Model:
    from anomalyzer.persist import load

    with steps.step(f"Loading the model {path}"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(path)
    for warning in caught:
        err.print(f"[yellow]Warning:[/yellow] {warning.message}", highlight=False, soft_wrap=True)
    return model


# -- printing ------------------------------------------------------------------------------


def _print_read(data: str, df: pd.DataFrame, schema: Schema) -> None:
    out.print(f"[bold]Read[/bold] {data}: {len(df):,} rows, {len(df.columns)} columns")
    out.print(f"[bold]Features[/bold] ({len(schema.features)}): {', '.join(schema.features)}")
    for info in schema.dropped():
        out.print(f"  [dim]not used:[/dim] {info.name} - {info.reason}")


def _print_against_label(result: Any, labels: pd.Series, name: str) -> None:
    from anomalyzer.evaluate import evaluate

    rep = evaluate(labels, result.scores.to_numpy(), result.frame["is_anomaly"].to_numpy())
    out.print(
        f"[bold]Against '{name}'[/bold] ({rep.n_anomalies:,} "
        f"{'anomaly' if rep.n_anomalies == 1 else 'anomalies'}): "
        f"ROC-AUC {rep.roc_auc:.3f}, AP {rep.average_precision:.3f}, at the threshold "
        f"precision {rep.precision:.3f}, recall {rep.recall:.3f}, F1 {rep.f1:.3f}"
    )


def _top_rows(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` best-ranked rows, found without sorting the whole table (a million rows)."""
    ranks = frame["anomaly_rank"].to_numpy()
    return frame[ranks <= n].sort_values("anomaly_rank")


def _print_top(frame: pd.DataFrame, schema: Schema) -> None:
    from anomalyzer.data import Role

    ids = schema.by_role(Role.ID)[:1]
    table = Table(show_header=True, header_style="bold", title="Top rows by anomaly score")
    table.add_column("rank", justify="right")
    table.add_column("row", justify="right")
    for col in ids:
        table.add_column(col)
    table.add_column("score", justify="right")
    table.add_column("flagged")
    table.add_column("reason", overflow="fold")
    for pos, (_, row) in enumerate(frame.iterrows()):
        table.add_row(
            str(row["anomaly_rank"]),
            str(frame.index[pos]),
            *[_cell(row[c]) for c in ids if c in frame.columns],
            f"{row['anomaly_score']:.4g}",
            "yes" if row["is_anomaly"] else "no",
            row["anomaly_reason"],
        )
    out.print(table)


def _cell(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


# -- files ---------------------------------------------------------------------------------


def _check_output(path: Path | None, suffixes: tuple[str, ...], option: str) -> None:
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


def _write(frame: pd.DataFrame, path: Path) -> None:
    try:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None


# -- entry point -----------------------------------------------------------------------------


def _command_line_error(exc: BaseException) -> int | None:
    """Show a parsing error of the command line (typer's or click's) and return its exit code."""
    show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
    if (
        callable(show)
        and isinstance(code, int)
        and type(exc).__module__.startswith(("typer", "click"))
    ):
        show()
        return code
    return None


def main() -> None:
    """Entry point: run the app, turning user mistakes into one sentence and exit code 2."""
    try:
        app(standalone_mode=False)
    except AnomalyzerError as exc:
        err.print(f"[bold red]Error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        err.print("Aborted.")
        sys.exit(EXIT_OTHER)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last line of defence: no traceback for users
        code = _command_line_error(exc)
        if code is not None:
            sys.exit(code)
        if os.environ.get("ANOMALYZER_DEBUG"):
            raise
        err.print(
            f"[bold red]Unexpected error:[/bold red] {type(exc).__name__}: {exc} "
            "(set ANOMALYZER_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_OTHER)
    sys.exit(0)


if __name__ == "__main__":
    main()
