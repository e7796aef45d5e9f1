"""``anomalyzer benchmark``: every detector on every labelled file of a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_distinct, check_output, write_board
from anomalyzer.cli.options import split_names
from anomalyzer.cli.progress import Steps
from anomalyzer.errors import AnomalyzerError


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
    names = split_names(detectors) or benchmarking.default_detectors()
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
        check_output(output, (".csv", ".json"), "--out")
        check_distinct({"--out": output}, list(files))
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
        write_board(long, output)
        out.print(f"Wrote {output}")
