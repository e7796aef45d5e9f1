"""``anomalyzer compare``: a leaderboard of detectors on one labelled table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_distinct, check_output, write_board
from anomalyzer.cli.options import split_names
from anomalyzer.cli.printing import print_board
from anomalyzer.cli.progress import Steps


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
    names = split_names(detectors)
    if output is not None:
        check_output(output, (".csv", ".json"), "--out")
        check_distinct({"--out": output}, [data])
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
    print_board(board, title=f"Leaderboard on {data} (label '{label}'), sorted by AP")
    if output is not None:
        write_board(board, output)
        out.print(f"Wrote {output}")


def _registry_names() -> list[str]:
    from anomalyzer.detectors import available

    return available()
