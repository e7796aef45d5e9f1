"""Tables and summary lines printed by the commands."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.table import Table

from anomalyzer.cli.app import out
from anomalyzer.safety.display import REASON_VALUE_CHARS, terminal_safe

if TYPE_CHECKING:
    import pandas as pd

    from anomalyzer.data import Schema


def print_read(data: str, df: pd.DataFrame, schema: Schema) -> None:
    out.print(
        f"[bold]Read[/bold] {terminal_safe(data)}: {len(df):,} rows, {len(df.columns)} columns"
    )
    names = ", ".join(terminal_safe(f, REASON_VALUE_CHARS) for f in schema.features)
    out.print(f"[bold]Features[/bold] ({len(schema.features)}): {names}")
    for info in schema.dropped():
        out.print(
            f"  [dim]not used:[/dim] {terminal_safe(info.name, REASON_VALUE_CHARS)} - "
            f"{terminal_safe(info.reason)}"
        )


def print_against_label(result: Any, labels: pd.Series, name: str) -> None:
    from anomalyzer.evaluate import evaluate

    rep = evaluate(labels, result.scores.to_numpy(), result.frame["is_anomaly"].to_numpy())
    out.print(
        f"[bold]Against '{terminal_safe(name)}'[/bold] ({rep.n_anomalies:,} "
        f"{'anomaly' if rep.n_anomalies == 1 else 'anomalies'}): "
        f"ROC-AUC {rep.roc_auc:.3f}, AP {rep.average_precision:.3f}, at the threshold "
        f"precision {rep.precision:.3f}, recall {rep.recall:.3f}, F1 {rep.f1:.3f}"
    )


def top_rows(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` best-ranked rows, found without sorting the whole table (a million rows)."""
    ranks = frame["anomaly_rank"].to_numpy()
    return frame[ranks <= n].sort_values("anomaly_rank")


def print_top(frame: pd.DataFrame, schema: Schema) -> None:
    from anomalyzer.data import Role

    ids = schema.by_role(Role.ID)[:1]
    table = Table(show_header=True, header_style="bold", title="Top rows by anomaly score")
    table.add_column("rank", justify="right")
    table.add_column("row", justify="right")
    for col in ids:
        table.add_column(terminal_safe(col, 24))
    table.add_column("score", justify="right")
    table.add_column("flagged")
    table.add_column("reason", overflow="fold")
    for pos, (_, row) in enumerate(frame.iterrows()):
        table.add_row(
            str(row["anomaly_rank"]),
            terminal_safe(frame.index[pos]),
            *[cell(row[c]) for c in ids if c in frame.columns],
            f"{row['anomaly_score']:.4g}",
            "yes" if row["is_anomaly"] else "no",
            terminal_safe(row["anomaly_reason"]),
        )
    out.print(table)


def cell(value: Any) -> str:
    """A value for a table cell: at most 24 characters, never markup."""
    return terminal_safe(value, 24)


def print_board(board, title: str) -> None:
    table = Table(show_header=True, header_style="bold", title=title)
    columns = ["detector", "roc_auc", "ap", "best_f1", "precision_at_k", "f1", "n_flagged",
               "fit_seconds", "score_seconds", "status"]  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col in ("detector", "status") else "right")
    for _, row in board.iterrows():
        table.add_row(*[num(row[c]) for c in columns])
    out.print(table)


def num(value) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.3f}"
    return str(value)


class ScoredRows:
    """The rows of a series result that have a score, as the label summary reads them."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.scores = frame["anomaly_score"]


def print_series(data: str, df: pd.DataFrame, result: Any, label: str | None, top: int) -> None:
    from anomalyzer.timeseries.reasons import duration, periods_text

    model = result.model
    series = list(model.series_.values())
    points = result.points
    out.print(
        f"[bold]Read[/bold] {terminal_safe(data)}: {len(df):,} rows, {len(df.columns)} columns"
    )
    steps = {duration(s.freq) for s in series}
    by = f" (by '{terminal_safe(model.group)}')" if model.group is not None else ""
    values = ", ".join(terminal_safe(c, REASON_VALUE_CHARS) for c in model.channels)
    out.print(
        f"[bold]Series[/bold] {len(series):,}{by}: {len(points):,} points on a "
        f"{' / '.join(sorted(steps))} grid; values: {values}"
    )
    notes = result.notes
    if notes:
        out.print(f"[bold]Notes[/bold] ({len(notes):,}):")
        for note in notes[:10]:
            out.print(f"  - {terminal_safe(note)}", highlight=False)
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
        print_against_label(ScoredRows(result.frame[scored]), df[label][scored], label)
    if top:
        print_top_series(top_rows(result.frame, top), model, result.frame)


def print_top_series(frame: pd.DataFrame, model: Any, full: pd.DataFrame) -> None:
    table = Table(show_header=True, header_style="bold", title="Top points by anomaly score")
    table.add_column("rank", justify="right")
    table.add_column(terminal_safe(model.time, 24))
    cols = [model.group] if model.group is not None else []
    cols += [c for c in model.channels if c in full.columns]
    for col in cols:
        table.add_column(terminal_safe(col, 24), justify="left" if col == model.group else "right")
    table.add_column("score", justify="right")
    table.add_column("flagged")
    table.add_column("reason", overflow="fold")
    from anomalyzer.timeseries.reasons import fmt_number

    def number_cell(value: Any) -> str:
        return fmt_number(value) if isinstance(value, float) else cell(value)

    for _, row in frame.iterrows():
        table.add_row(
            str(row["anomaly_rank"]),
            terminal_safe(row[model.time]),
            *[number_cell(row[c]) for c in cols],
            f"{row['anomaly_score']:.4g}",
            "yes" if row["is_anomaly"] else "no",
            terminal_safe(row["anomaly_reason"]),
        )
    out.print(table)


def plain_value(value: Any) -> Any:
    """JSON-ready: numpy numbers as Python numbers, NaN and infinities as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
