"""``anomalyzer evaluate``: a scored file against its labels, tabular or as time series."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_distinct, check_output, read_data
from anomalyzer.cli.printing import plain_value
from anomalyzer.cli.progress import Steps
from anomalyzer.errors import AnomalyzerError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.table import Table

# Metrics of a series averaged over the series (groups) that have an anomaly.
_AVERAGED = ("roc_auc", "average_precision", "vus_roc", "vus_pr", "pa_precision", "pa_recall",
             "pa_f1", "range_precision", "range_recall", "range_f1")  # fmt: skip


_NAB_NAMES = {
    "standard": "NAB standard",
    "reward_low_fp_rate": "NAB reward low FP",
    "reward_low_fn_rate": "NAB reward low FN",
}


_PA_NOTE = (
    "Point-adjusted F1 counts a whole anomaly range as found once any point of it is "
    "flagged, which flatters random scores (Kim et al., AAAI 2022); read it next to "
    "range F1 and VUS, never alone."
)


@app.command("evaluate")
def evaluate_scored(
    scored: Annotated[
        str,
        typer.Argument(
            help="Scored file (CSV, TSV, Parquet, JSON lines or Excel), e.g. from "
            "`anomalyzer detect --out`."
        ),
    ],
    label: Annotated[str, typer.Option(help="The label column (1/true/'anomaly' = anomaly).")],
    time: Annotated[
        str | None,
        typer.Option(help="Time column: evaluate as a time series (range metrics, VUS, NAB)."),
    ] = None,
    score: Annotated[
        str, typer.Option(help="Score column (higher = more anomalous).")
    ] = "anomaly_score",
    flag: Annotated[
        str | None,
        typer.Option(help="Flag column (0/1 or true/false); default: is_anomaly when present."),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(help="Series column, with --time: one series per value, each sorted by time."),
    ] = None,
    max_buffer: Annotated[
        int,
        typer.Option(
            help="Largest buffer of VUS in time steps; set it to the detector's window.", min=0
        ),
    ] = 100,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the metrics: .csv (scope, metric, value rows) or .json "
            "({mode, metrics, groups}).",
        ),
    ] = None,
) -> None:
    """Score a scored file against its labels and print the metrics.

    Without --time: ROC-AUC, average precision, precision@k (k = number of
    anomalies) and, at the flags, precision, recall, F1 and the confusion counts.

    With --time the rows are sorted by time (per --group) and each series gets
    point-wise ROC-AUC and AP, VUS-ROC and VUS-PR, range precision/recall/F1
    (Tatbul et al., 2018) and point-adjusted F1 at the flags, and the NAB
    scores (standard, reward low FP, reward low FN) with NAB's windows taken
    as the runs of label 1 and one threshold optimised over all series, as NAB
    does. With several groups all of them form one NAB corpus and the other
    metrics are averaged over the groups that have an anomaly.
    """

    if output is not None:
        check_output(output, (".csv", ".json"), "--out")
        check_distinct({"--out": output}, [scored])
    if group is not None and time is None:
        raise AnomalyzerError(
            "--group splits the rows into time series; give the time column with --time too."
        )
    with Steps() as steps:
        df = read_data(steps, scored, None, None)
        for role, name in (("Label", label), ("Score", score), ("Time", time), ("Group", group)):
            _require(df, name, role)
        if flag is not None:
            _require(df, flag, "Flag")
        elif "is_anomaly" in df.columns:
            flag = "is_anomaly"
        columns = _Columns(scored, label, score, flag)
        groups: dict[str, dict[str, Any]] = {}
        if time is None:
            with steps.step(f"Evaluating {len(df):,} rows"):
                metrics, shown = _tabular(df, columns)
        else:
            with steps.step(f"Evaluating {len(df):,} points"):
                metrics, groups, shown = _series(df, columns, time, group, max_buffer)
    for item in shown:
        out.print(item, highlight=False)
    if output is not None:
        _write_metrics(output, "series" if time else "tabular", metrics, groups)
        out.print(f"Wrote {output}")


class _Columns:
    """The file and the columns being evaluated, for headings and messages."""

    def __init__(self, source: str, label: str, score: str, flag: str | None) -> None:
        self.source, self.label, self.score, self.flag = source, label, score, flag

    def title(self, what: str) -> str:
        flags = f", flags '{self.flag}'" if self.flag else ", no flag column"
        return f"{what} of {self.source} (label '{self.label}', score '{self.score}'{flags})"


def _require(df: pd.DataFrame, name: str | None, role: str) -> None:
    if name is not None and name not in df.columns:
        raise AnomalyzerError(
            f"{role} column '{name}' not found; the columns are: {', '.join(map(str, df.columns))}."
        )


def _scores(values: pd.Series, name: str) -> np.ndarray:
    """The score column as floats, or one sentence on the first value that is not a number."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise AnomalyzerError(
            f"Score column '{name}' holds {int(bad.sum()):,} value(s) that are not numbers, "
            f"such as {values[bad].iloc[0]!r}; give numeric scores (higher = more anomalous)."
        )
    if numbers.isna().any():
        raise AnomalyzerError(
            f"Score column '{name}' has {int(numbers.isna().sum()):,} missing value(s); "
            "score every row or drop the unscored ones."
        )
    return numbers.to_numpy(dtype=np.float64)


def _flags(values: pd.Series, name: str) -> np.ndarray:
    """The flag column as booleans: 0/1, booleans or true/false text."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values) and values.isin((0, 1)).all():
        return values.to_numpy(dtype=np.float64) == 1
    text = values.astype(str).str.strip().str.lower()
    yes, no = text.isin(("1", "1.0", "true", "yes")), text.isin(("0", "0.0", "false", "no"))
    if not (yes | no).all():
        shown = values[~(yes | no)].iloc[0]
        raise AnomalyzerError(
            f"Flag column '{name}' must hold 0/1 or true/false, not values such as {shown!r}."
        )
    return yes.to_numpy(dtype=bool)


def _labels(values: pd.Series, name: str) -> np.ndarray:
    """The label column as 0/1 with both classes present."""
    from anomalyzer.labels import to_binary

    y = to_binary(values, name=name)
    if y.min() == y.max():
        raise AnomalyzerError(
            f"Evaluation needs both normal and anomalous rows, but every value of label "
            f"'{name}' is {values.iloc[0]!r}; use data with both classes."
        )
    return y


def _tabular(df: pd.DataFrame, cols: _Columns) -> tuple[dict[str, Any], list[Any]]:
    """The metrics of the rows, and what to print of them."""
    import pandas as pd

    from anomalyzer.evaluate import evaluate

    y = _labels(df[cols.label], cols.label)
    s = _scores(df[cols.score], cols.score)
    f = _flags(df[cols.flag], cols.flag) if cols.flag else None
    rep = evaluate(pd.Series(y, name=cols.label), s, f)
    table = _table(cols.title("Metrics"))
    share = rep.n_anomalies / rep.n_rows
    table.add_row("rows", f"{rep.n_rows:,}", f"{rep.n_anomalies:,} anomalous ({share:.2%})")
    table.add_row("ROC-AUC", _fmt(rep.roc_auc), "")
    table.add_row("average precision", _fmt(rep.average_precision), "")
    table.add_row("best F1", _fmt(rep.best_f1), f"flagging scores >= {rep.best_f1_threshold:.4g}")
    table.add_row(f"precision@{rep.k:,}", _fmt(rep.precision_at_k), "k = number of anomalies")
    if rep.has_flags:
        table.add_row("flagged", f"{rep.n_flagged:,}", f"rows with '{cols.flag}' set")
        table.add_row("precision", _fmt(rep.precision), "at the flags")
        table.add_row("recall", _fmt(rep.recall), "at the flags")
        table.add_row("F1", _fmt(rep.f1), "at the flags")
        table.add_row("confusion", f"tp {rep.tp:,}", f"fp {rep.fp:,}  fn {rep.fn:,}  tn {rep.tn:,}")
    return rep.to_dict(), [table]


def _series(
    df: pd.DataFrame, cols: _Columns, time: str, group: str | None, max_buffer: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[Any]]:
    """Metrics of the whole file, of each group (with --group), and what to print of them."""
    import numpy as np

    from anomalyzer.evaluate.nab import NabSeries, label_windows, nab_scores
    from anomalyzer.evaluate.ranges import series_metrics

    y_all = _labels(df[cols.label], cols.label)
    s_all = _scores(df[cols.score], cols.score)
    f_all = _flags(df[cols.flag], cols.flag) if cols.flag else None
    order = _time_order(df, time, group)
    if group is None:
        blocks, names = [order], [str(cols.source)]
    else:
        keys = df[group].to_numpy()[order]
        # Rows are sorted by group, then time: each group is one contiguous block.
        cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        blocks = np.split(order, cuts)
        names = _unique_names([str(keys[i]) for i in np.r_[0, cuts]])
    reports: dict[str, Any] = {}
    windows: list[list[tuple[int, int]]] = []
    for name, rows in zip(names, blocks, strict=True):
        y = y_all[rows]
        windows.append(label_windows(y))
        if y.any():
            flags = f_all[rows] if f_all is not None else None
            reports[name] = series_metrics(y, s_all[rows], flags, max_buffer)
    nab = nab_scores(
        [
            NabSeries(s_all[rows], w, name)
            for name, rows, w in zip(names, blocks, windows, strict=True)
        ]
    )
    metrics: dict[str, Any] = {
        "n_series": len(blocks),
        "n_series_with_anomaly": len(reports),
        "n_points": len(df),
        "n_anomalies": int(y_all.sum()),
        "n_ranges": sum(len(w) for w in windows),
        "max_buffer": max_buffer,
    }
    for key in _AVERAGED:
        values = [getattr(r, key) for r in reports.values()]
        finite = [v for v in values if v is not None and math.isfinite(v)]
        metrics[key] = float(np.mean(finite)) if finite else None
    for profile, result in nab.items():
        metrics[f"nab_{profile}"] = result.score
        metrics[f"nab_{profile}_threshold"] = result.threshold
    per_group = {name: r.to_dict() for name, r in reports.items()} if group else {}
    return metrics, per_group, _series_view(metrics, nab, cols, group)


def _time_order(df: pd.DataFrame, time: str, group: str | None) -> np.ndarray:
    """Row positions sorted by group (if any), then time; ties keep the file's order."""
    import pandas as pd

    values = df[time]
    if values.isna().any():
        raise AnomalyzerError(
            f"Time column '{time}' has {int(values.isna().sum()):,} missing value(s); "
            "give every row a time."
        )
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        try:
            values = pd.to_datetime(values, format="mixed")
        except (TypeError, ValueError, OverflowError):
            raise AnomalyzerError(
                f"Time column '{time}' holds values that are not times or numbers, such as "
                f"{df[time].iloc[0]!r}; give dates, times or numbers."
            ) from None
    keys = {"time": values.reset_index(drop=True)}
    if group is not None:
        if df[group].isna().any():
            raise AnomalyzerError(
                f"Group column '{group}' has {int(df[group].isna().sum()):,} missing value(s); "
                "give every row its series."
            )
        keys = {"group": pd.factorize(df[group], sort=True)[0], **keys}
    # pandas sorts any time type (time zones included), stably on several keys.
    ordered = pd.DataFrame(keys).sort_values(list(keys), kind="stable")
    return ordered.index.to_numpy()


def _unique_names(names: list[str]) -> list[str]:
    # Two group values may print the same (1 and '1'); NAB needs distinct series names.
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _series_view(
    metrics: dict[str, Any], nab: dict[str, Any], cols: _Columns, group: str | None
) -> list[Any]:
    table = _table(cols.title("Time-series metrics"))
    n, with_anomaly = metrics["n_series"], metrics["n_series_with_anomaly"]
    if group:
        table.add_row("series", f"{n:,}", f"groups of '{group}', {with_anomaly:,} with an anomaly")
    table.add_row(
        "points",
        f"{metrics['n_points']:,}",
        f"{metrics['n_anomalies']:,} anomalous in {metrics['n_ranges']:,} range(s)",
    )
    table.add_row("ROC-AUC", _fmt(metrics["roc_auc"]), "point-wise")
    table.add_row("average precision", _fmt(metrics["average_precision"]), "point-wise")
    table.add_row(
        "VUS-ROC",
        _fmt(metrics["vus_roc"]),
        f"buffers 0..{metrics['max_buffer']} (Paparrizos et al.)",
    )
    table.add_row("VUS-PR", _fmt(metrics["vus_pr"]), f"buffers 0..{metrics['max_buffer']}")
    if cols.flag:
        table.add_row(
            "range precision", _fmt(metrics["range_precision"]), "Tatbul et al., at the flags"
        )
        table.add_row("range recall", _fmt(metrics["range_recall"]), "Tatbul et al., at the flags")
        table.add_row("range F1", _fmt(metrics["range_f1"]), "Tatbul et al., at the flags")
        table.add_row("point-adjusted F1 *", _fmt(metrics["pa_f1"]), "at the flags")
    for profile, result in nab.items():
        table.add_row(
            _NAB_NAMES.get(profile, f"NAB {profile}"),
            f"{result.score:.2f}",
            f"score >= {result.threshold:.4g}: {result.tp:,} window(s) found, {result.fn:,} "
            f"missed, {result.fp:,} false positive(s)",
        )
    shown: list[Any] = [table]
    if cols.flag:
        shown.append(f"* {_PA_NOTE}")
    else:
        shown.append("No flag column, so no range or point-adjusted metrics; name one with --flag.")
    if group and n > 1:
        shown.append(
            f"Point-wise, VUS and range metrics are averaged over the {with_anomaly:,} series "
            f"with an anomaly; NAB scores all {n:,} series as one corpus with one threshold."
        )
    shown.append(
        "NAB windows are the runs of label 1; the threshold is the best one for the corpus, "
        "as NAB chooses it."
    )
    return shown


def _table(title: str) -> Table:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("note", overflow="fold")
    return table


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


def _write_metrics(
    path: Path, mode: str, metrics: dict[str, Any], groups: dict[str, dict[str, Any]]
) -> None:
    import pandas as pd

    try:
        if path.suffix.lower() == ".json":
            doc: dict[str, Any] = {"mode": mode, "metrics": _plain_dict(metrics)}
            if groups:
                doc["groups"] = {name: _plain_dict(m) for name, m in groups.items()}
            path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        else:
            rows = [("all", k, v) for k, v in metrics.items()]
            rows += [(name, k, v) for name, m in groups.items() for k, v in m.items()]
            frame = pd.DataFrame(rows, columns=["scope", "metric", "value"])
            frame["value"] = frame["value"].map(plain_value)
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise AnomalyzerError(f"Cannot write '{path}': {exc.strerror or exc}.") from None


def _plain_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {k: plain_value(v) for k, v in values.items()}
