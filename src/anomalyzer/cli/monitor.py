"""``anomalyzer monitor``: compare new rows with what a saved model saw at fit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_output, load_model, read_data
from anomalyzer.cli.options import DataArg, QueryOpt, TableOpt
from anomalyzer.cli.progress import Steps
from anomalyzer.errors import AnomalyzerError

if TYPE_CHECKING:
    from anomalyzer.model import Model

ModelArg = Annotated[
    Path, typer.Argument(help="Table model file written by `anomalyzer detect --save`.")
]


def check_not_input(output: Path | None, option: str, *inputs: str | Path) -> None:
    """Refuse an output path that is one of the inputs: nothing is ever written over an input."""
    if output is None:
        return
    for given in inputs:
        path = Path(given)
        if path.exists() and output.exists() and output.resolve() == path.resolve():
            raise AnomalyzerError(
                f"{option} '{output}' is an input of this command; give another file name."
            )


def load_table_model(steps: Steps, path: Path) -> Model:
    from anomalyzer.model import Model

    model = load_model(steps, path)
    if not isinstance(model, Model):
        raise AnomalyzerError(
            f"Model file '{path}' holds a series model; drift monitoring takes table models."
        )
    return model


@app.command()
def monitor(
    model: ModelArg,
    data: DataArg,
    table: TableOpt = None,
    query: QueryOpt = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the drift page, self-contained HTML (.html).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write every check as JSON (.json).")
    ] = None,
    alpha: Annotated[
        float, typer.Option(help="Family-wise error rate of the checks (Holm-adjusted).")
    ] = 0.01,
    min_rows: Annotated[int, typer.Option(help="Fewest new rows that can raise an alarm.")] = 30,
    multivariate: Annotated[
        bool, typer.Option(help="Run the domain classifier over all columns.")
    ] = True,
) -> None:
    """Compare the rows of DATA with what MODEL saw at fit and say what drifted.

    Checks the anomaly scores and the flag rate first, then each column, then
    all columns at once. Exit code 0: no drift; 3: drift; 2: a mistake.
    """
    from anomalyzer.monitor import DriftRules
    from anomalyzer.monitor.batch import monitor as run_monitor

    rules = DriftRules(alpha=alpha, min_rows=min_rows, multivariate=multivariate)
    check_output(report, (".html", ".htm"), "--report")
    check_output(output, (".json",), "--out")
    for path, option in ((report, "--report"), (output, "--out")):
        check_not_input(path, option, model, data)
    with Steps() as steps:
        fitted = load_table_model(steps, model)
        df = read_data(steps, data, table, query)
        with steps.step(f"Checking {len(df):,} rows for drift"):
            drift = run_monitor(fitted, df, rules=rules)
        out.print(drift.verdict, highlight=False, markup=False)
        if output is not None:
            with steps.step(f"Writing {output}"):
                output.write_text(json.dumps(drift.to_dict(), indent=1), encoding="utf-8")
            out.print(f"Wrote {output}")
        if report is not None:
            from anomalyzer.monitor.report import write_drift_report

            with steps.step(f"Writing the report {report}"):
                write_drift_report(drift, report, source=f"{data} against {model}")
            out.print(f"Wrote {report}")
    if drift.exit_code:
        # SystemExit, not typer.Exit: the entry point runs the app outside click's
        # standalone mode, where typer.Exit's code would be returned and dropped.
        sys.exit(drift.exit_code)
