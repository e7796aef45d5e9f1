"""``--engine dask`` of ``detect`` and ``score``: the options, the cluster, the progress and the summary.

The commands call :func:`detect_on_dask` or :func:`score_on_dask` when
``--engine dask`` is given; everything else about the Dask engine lives in
:mod:`anomalyzer.engines`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from anomalyzer.cli.app import err, out
from anomalyzer.cli.printing import print_top, top_rows
from anomalyzer.errors import AnomalyzerError
from anomalyzer.safety.display import terminal_safe

EngineOpt = Annotated[
    str,
    typer.Option(
        help="local: score in this process; dask: on a Dask cluster, for data sets of any size "
        "(DATA a Parquet folder or glob, or CSV glob; --out a folder)."
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        help="With --engine dask: the scheduler address (tcp://host:8786); "
        "none starts a local cluster sized to this machine."
    ),
]
WorkersOpt = Annotated[
    int | None, typer.Option(help="With --engine dask and no --scheduler: worker processes.")
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(help="With --engine dask and no --scheduler: memory per worker, e.g. 2GiB."),
]


class DaskBars:
    """Dask's progress on standard error: one bar per pass (partitions done, then rows written)."""

    def __init__(self) -> None:
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._tasks: dict[str, Any] = {}
        self._shown = err.is_terminal

    def __enter__(self) -> DaskBars:
        if self._shown:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._shown:
            self._bars.stop()

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self._shown:
            return
        if step not in self._tasks:
            self._tasks[step] = self._bars.add_task(step, total=total)
        self._bars.update(self._tasks[step], completed=done, total=total)


def is_dask(engine: str, scheduler: str | None, workers: int | None, memory: str | None) -> bool:
    """Whether the command runs on Dask (after checking that the options fit together)."""
    from anomalyzer.engines import check_engine

    dask = check_engine(engine) == "dask"
    if not dask and (scheduler or workers is not None or memory):
        raise AnomalyzerError("--scheduler, --workers and --memory-per-worker need --engine dask.")
    return dask


def _refuse(options: dict[str, Any]) -> None:
    given = [name for name, value in options.items() if value]
    if given:
        raise AnomalyzerError(f"{', '.join(given)} cannot be used with --engine dask.")


def _folder(output: Path | None, data: str) -> Path:
    from anomalyzer.engines.output import check_folder

    if output is None:
        raise AnomalyzerError(
            "--engine dask writes the scored rows to a Parquet folder: give --out scored/."
        )
    # Before a cluster starts: a mistake costs a sentence, not a minute.
    return check_folder(output, data)


def _announce(client: Any) -> None:
    from anomalyzer.engines.cluster import dashboard

    workers = client.scheduler_info().get("workers", {})
    link = dashboard(client)
    where = f", dashboard {link}" if link else ""
    err.print(
        f"Dask cluster: {len(workers)} worker(s){terminal_safe(where)}",
        highlight=False,
        soft_wrap=True,
    )


def _print_summary(data: str, summary: Any, what: str, schema: Any, top: int) -> None:
    out.print(
        f"[bold]Read[/bold] {terminal_safe(data)}: {summary.rows:,} rows in {summary.partitions} partitions"
        + (f"; fitted on a sample of {summary.sample_rows:,} rows" if summary.sample_rows else "")
    )
    thr = "per series" if summary.threshold is None else f"{summary.threshold:.4g}"
    out.print(
        f"[bold]{terminal_safe(what)}[/bold], threshold {thr}: [bold]{summary.flags:,}[/bold] of "
        f"{summary.rows:,} rows flagged ({summary.share:.2%})"
    )
    if top and len(summary.top):
        if schema is not None:
            print_top(top_rows(summary.top, top), schema)
        else:
            shown = [c for c in summary.top.columns if c != "anomaly_reason"][:6]
            out.print(terminal_safe(summary.top[[*shown, "anomaly_reason"]].to_string(index=False)))
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    out.print(
        f"Wrote {terminal_safe(summary.path)} ({summary.rows:,} rows in {summary.seconds:.1f} s, "
        f"{rate:,.0f} rows/s)"
    )


def detect_on_dask(
    data: str,
    output: Path | None,
    *,
    scheduler: str | None,
    workers: int | None,
    memory: str | None,
    top: int,
    save: Path | None,
    unsupported: dict[str, Any],
    **options: Any,
) -> None:
    """``detect --engine dask``: fit on a sample, score everything on the cluster, print the summary."""
    from anomalyzer.engines.cluster import dask_client
    from anomalyzer.engines.detection import detect_dask

    _refuse(unsupported)
    folder = _folder(output, data)
    if save is not None:
        from anomalyzer.cli.files import check_output

        check_output(save, (), "--save")
    with dask_client(scheduler, workers=workers, memory_per_worker=memory) as client:
        _announce(client)
        with DaskBars() as bars:
            summary = detect_dask(
                data, out=folder, client=client, top=top, progress=bars, **options
            )
    model = summary.model
    what = (
        f"Detector {model.detector_name}"
        if model is not None
        else f"Detector {options.get('detector')}, {summary.n_series:,} series"
    )
    _print_summary(data, summary, what, model.schema if model is not None else None, top)
    if save is not None:
        if model is None:
            raise AnomalyzerError("--save with --engine dask keeps table models only.")
        model.save(save)
        out.print(f"Saved the model to {terminal_safe(save)}")


def score_on_dask(
    model_path: Path,
    data: str,
    output: Path | None,
    *,
    scheduler: str | None,
    workers: int | None,
    memory: str | None,
    top: int,
    load: Any,
    unsupported: dict[str, Any],
) -> None:
    """``score --engine dask``: score every row with a saved table model on the cluster."""
    from anomalyzer.engines.cluster import dask_client
    from anomalyzer.model import Model

    _refuse(unsupported)
    folder = _folder(output, data)
    fitted = load()
    if not isinstance(fitted, Model):
        raise AnomalyzerError(
            f"'{model_path}' is a series model; the dask engine scores series with "
            "`detect --engine dask --time COL --group COL`."
        )
    with dask_client(scheduler, workers=workers, memory_per_worker=memory) as client:
        _announce(client)
        with DaskBars() as bars:
            summary = fitted.score_dask(data, out=folder, client=client, top=top, progress=bars)
    _print_summary(data, summary, f"Model {model_path}: {fitted.detector_name}", fitted.schema, top)
