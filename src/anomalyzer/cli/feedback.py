"""``anomalyzer feedback`` (import labels into a model file) and ``anomalyzer review`` (label rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import load_model, read_data
from anomalyzer.cli.options import DataArg, QueryOpt, TableOpt
from anomalyzer.cli.progress import Steps
from anomalyzer.destinations import check_destination, check_outputs, same_file
from anomalyzer.errors import AnomalyzerError
from anomalyzer.model import Model

ModelArg = Annotated[Path, typer.Argument(help="Model file written by `anomalyzer detect --save`.")]
WhoOpt = Annotated[
    str | None, typer.Option(help="Who gives the labels (default: your login name).")
]


def _table_model(steps: Steps, path: Path) -> Model:
    model = load_model(steps, path)
    if not isinstance(model, Model):
        raise AnomalyzerError(
            f"Model file '{path}' holds a series model; feedback and review work on table models."
        )
    return model


@app.command()
def feedback(
    model: ModelArg,
    labels: Annotated[
        Path,
        typer.Argument(
            help="CSV with a 'row' (or 'id') and a 'label' column; 'who', 'when' optional."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--out", "-o", help="Write the model with its labels to this new model file."),
    ],
    who: WhoOpt = None,
) -> None:
    """Add the labels in LABELS (anomaly / normal / unsure) to a copy of the model file.

    Rows are named by the model's identifier column (or their position). The
    model's detector is unchanged; the model with its labels is written to
    --out, and MODEL itself is never rewritten (no output lands on an input).
    """
    from anomalyzer.feedback import ModelStore, latest, read_labels

    target = check_destination(output, "model file")
    check_outputs({"--out": target}, [model, labels])
    with Steps() as steps:
        fitted = _table_model(steps, model)
        added = read_labels(labels, who=who)
        store = ModelStore(fitted)
        store.add(added)
        with steps.step(f"Writing {target}"):
            fitted.save(target)
    kinds = [x.label for x in added]
    held = latest(store.history())
    out.print(
        f"Added {len(added):,} label(s) from {labels} ({kinds.count('anomaly'):,} anomaly, "
        f"{kinds.count('normal'):,} normal, {kinds.count('unsure'):,} unsure) to {target}; "
        f"it holds labels for {len(held):,} row(s).",
        highlight=False,
    )


@app.command()
def review(
    model: ModelArg,
    data: DataArg,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Label file, written as you go and read back to resume "
            "(default: MODEL's name with .labels.csv)."
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            help="Keep the labels in this database instead (SQLAlchemy URL, e.g. "
            "sqlite:///labels.db), under MODEL's file name."
        ),
    ] = None,
    web: Annotated[
        bool, typer.Option("--web", help="Review in the browser instead of the terminal.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address of the review page (--web).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port of the review page (--web); 0 picks a free one.")
    ] = 0,
    who: WhoOpt = None,
    table: TableOpt = None,
    query: QueryOpt = None,
) -> None:
    """Judge the rows of DATA one at a time, most anomalous first; the ranking learns from each label.

    Keys (terminal): a = anomaly, n = normal, s = skip, u = undo, d = describe, q = quit.
    Labels go to the label file at once; `anomalyzer feedback MODEL LABELS`
    then saves them with the model.
    """
    from anomalyzer.feedback import CsvStore, FeedbackSession, LabelStore, SqlStore

    label_path = labels if labels is not None else model.with_suffix(".labels.csv")
    if db is None:
        check_destination(label_path, "label file")
        for other in (model, Path(data)):
            if same_file(label_path, other):
                raise AnomalyzerError(
                    f"The label file '{label_path}' is an input ({other}); "
                    "give another --labels path."
                )
    where = str(label_path) if db is None else f"{db} (as {model.name})"
    with Steps() as steps:
        fitted = _table_model(steps, model)
        df = read_data(steps, data, table, query)
        store: LabelStore = CsvStore(label_path) if db is None else SqlStore(db, key=model.name)
        with steps.step("Ranking the rows"):
            session = FeedbackSession(fitted, df, store=store)
    if web:
        from anomalyzer.feedback.review_web import ReviewServer

        server = ReviewServer(session, host=host, port=port, who=who)
        out.print(f"Review page: {server.url} (Ctrl-C to stop); labels go to {where}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
    else:
        from anomalyzer.feedback.review_tui import review as review_loop

        review_loop(session, who=who)
    if db is None:
        out.print(
            f"Labels are in {label_path}; `anomalyzer feedback {model} {label_path}` saves them "
            "with the model.",
            highlight=False,
        )
    else:
        out.print(f"Labels are in {where}.", highlight=False)
