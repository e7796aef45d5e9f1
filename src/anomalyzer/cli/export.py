"""``anomalyzer export``: a saved table model as an ONNX graph, checked before it is written."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_output, load_model, read_data
from anomalyzer.cli.options import QueryOpt, TableOpt
from anomalyzer.cli.progress import Steps
from anomalyzer.errors import AnomalyzerError


class ExportFormat(StrEnum):
    onnx = "onnx"


@app.command()
def export(
    model: Annotated[
        Path, typer.Argument(help="Model file written by `anomalyzer detect --save`.")
    ],
    output: Annotated[Path, typer.Option("--out", "-o", help="The file to write (.onnx).")],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            help="The table the model was fitted on (or a sample of it): the export is "
            "checked on it before it is written.",
        ),
    ],
    format: Annotated[
        ExportFormat, typer.Option("--format", help="Format of the exported model.")
    ] = ExportFormat.onnx,
    table: TableOpt = None,
    query: QueryOpt = None,
) -> None:
    """Export a saved table model as one ONNX graph: preprocessing, detector and threshold.

    The graph takes one input per original column and gives `anomaly_score`
    and `is_anomaly`; onnxruntime runs it without anomalyzer. It is written
    only when its scores and flags on DATA agree with the model's.
    """
    check_output(output, (".onnx",), "--out")
    for source in (model, Path(data)):
        if source.exists() and source.resolve() == output.resolve():
            raise AnomalyzerError(
                f"Cannot write '{output}': it is an input of this command; give another --out."
            )
    from anomalyzer.model import Model

    with Steps() as steps:
        fitted = load_model(steps, model)
        if not isinstance(fitted, Model):
            raise AnomalyzerError(f"'{model}' is a series model; only table models export to ONNX.")
        df = read_data(steps, data, table, query)
        from anomalyzer.export.parity import CHECK_ROWS

        with steps.step(f"Exporting and checking on {min(len(df), CHECK_ROWS):,} rows"):
            proto = fitted.to_onnx(output, data=df)
    from anomalyzer.export import report_of

    report = report_of(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    inputs = json.loads(meta["anomalyzer.inputs"])
    out.print(
        f"[bold]Model[/bold] {model}: {fitted.detector_name}, threshold {fitted.threshold_:.4g}"
    )
    out.print(f"[bold]Parity[/bold] {report.summary()}", highlight=False)
    out.print(
        "[bold]Inputs[/bold] " + ", ".join(f"{k} ({v})" for k, v in inputs.items()),
        highlight=False,
    )
    out.print(f"Wrote {output} ({format.value}, {output.stat().st_size / 1e6:.1f} MB)")
