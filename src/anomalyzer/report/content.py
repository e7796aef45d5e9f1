"""What a report says: the summary, the top rows, the columns to show, and the figures.

:func:`collect` turns a :class:`~anomalyzer.result.DetectionResult` into plain
data and plotly figures; :mod:`anomalyzer.report.render` lays them out as HTML.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from pandas.api import types as ptypes

from anomalyzer.data import Role
from anomalyzer.data.roles import as_text, date_format, numeric_values, parse_dates, parse_numbers
from anomalyzer.errors import AnomalyzerError
from anomalyzer.report import figures
from anomalyzer.report.sampling import MAX_POINTS, sample_rows
from anomalyzer.result import OUTPUT_COLUMNS, DetectionResult

#: Columns given a view of their own, most responsible first.
MAX_COLUMN_VIEWS = 8
#: Rows in the table of top anomalies.
MAX_TABLE_ROWS = 100
#: Column values shown in the table next to the reason.
TABLE_VALUE_COLUMNS = 3
# Flagged rows explained to rank the columns: enough for a stable mean contribution.
_EXPLAIN_ROWS = 2000
_MISSING = "<missing>"


@dataclass
class Section:
    """A titled part of the report: a sentence of introduction and figures."""

    key: str
    title: str
    intro: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    wide: bool = False
    note: str = ""


@dataclass
class Content:
    """Everything the template needs, as plain values and figures."""

    title: str
    summary: list[tuple[str, str]]
    columns: list[dict[str, str]]
    table_head: list[str]
    table_rows: list[list[tuple[str, str]]]
    table_note: str
    metrics: list[tuple[str, str]]
    sections: list[Section]
    generated: str
    sampling_note: str


def collect(
    result: DetectionResult,
    *,
    label: str | None = None,
    time: str | None = None,
    source: str | None = None,
) -> Content:
    """Gather the report of ``result``: summary, top rows, column views and figures."""
    frame = result.frame
    model = result.model
    schema = model.schema
    inputs = input_frame(frame)
    label = label if label is not None else model.label_
    for what, name in (("label", label), ("time", time)):
        if name is not None and name not in inputs.columns:
            raise AnomalyzerError(
                f"The {what} column {name!r} is not in the result; use one of: "
                f"{', '.join(map(str, inputs.columns))}."
            )
    scores = frame["anomaly_score"].to_numpy(dtype=np.float64)
    flags = frame["is_anomaly"].to_numpy(dtype=bool)
    ranks = frame["anomaly_rank"].to_numpy(dtype=np.int64)
    by_rank = np.argsort(ranks, kind="stable")
    n, n_flagged = len(frame), int(flags.sum())

    ranked_columns = rank_columns(result, inputs, by_rank, n_flagged)
    sample = sample_rows(n, MAX_POINTS, keep=by_rank[:n_flagged])

    sections = [
        Section(
            "scores",
            "Score distribution",
            "Every row's anomaly score; rows to the right of the dashed threshold are flagged.",
            [figures.score_histogram(scores, result.threshold)],
            wide=True,
        )
    ]
    views = _column_views(inputs, schema, ranked_columns, flags, ranks)
    if views:
        sections.append(
            Section(
                "columns",
                "Where the anomalies sit",
                "The columns that contribute most to the flagged rows' scores, most first: "
                "each column's distribution over all rows next to the flagged rows "
                "(shares of each group), the most anomalous rows marked below the axis.",
                views,
            )
        )
    sections.append(_projection_section(model, inputs, scores, flags, sample))
    if label is not None:
        labelled, metrics = _label_section(
            inputs[label], scores, flags, result.threshold, model.detector_name, label
        )
        sections.append(labelled)
    else:
        metrics = []
    time = time if time is not None else next(iter(schema.by_role(Role.DATETIME)), None)
    if time is not None:
        sections.append(_time_section(inputs[time], scores, flags, result.threshold, sample, time))

    head, rows, note = top_table(frame, inputs, schema, by_rank, ranked_columns, label)
    return Content(
        title=f"Anomaly report: {source}" if source else "Anomaly report",
        summary=_summary(result, source, label, n, n_flagged),
        columns=[_column_row(c) for c in schema.columns],
        table_head=head,
        table_rows=rows,
        table_note=note,
        metrics=metrics,
        sections=sections,
        generated=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        sampling_note=(
            f"Scatter plots draw at most {MAX_POINTS:,} rows (all flagged rows first); "
            f"histograms, counts and metrics use all {n:,} rows."
            if n > MAX_POINTS
            else f"Every figure uses all {n:,} rows."
        ),
    )


_FEATURES = frozenset({Role.NUMERIC, Role.CATEGORICAL, Role.BOOLEAN, Role.DATETIME})


def _column_row(info: Any) -> dict[str, str]:
    return {
        "name": info.name,
        "role": str(info.role),
        "used": "yes" if info.role in _FEATURES else "no",
        "reason": info.reason,
        "missing": f"{info.missing:.1%}",
    }


def input_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The input columns of a scored frame, under their own names.

    >>> scored = pd.DataFrame({"a": [1], "anomaly_score_input": [2], "anomaly_score": [0.5],
    ...                        "is_anomaly": [False], "anomaly_rank": [1], "anomaly_reason": [""]})
    >>> list(input_frame(scored).columns)
    ['a', 'anomaly_score']
    """
    out = frame.drop(columns=list(OUTPUT_COLUMNS))
    return out.rename(columns={f"{c}_input": c for c in OUTPUT_COLUMNS})


def rank_columns(
    result: DetectionResult, inputs: pd.DataFrame, by_rank: np.ndarray, n_flagged: int
) -> list[str]:
    """Feature columns by mean contribution to the flagged rows' scores (top rows if none)."""
    model = result.model
    features = model.schema.features
    take = by_rank[: max(min(n_flagged, _EXPLAIN_ROWS), min(10, len(by_rank)))]
    if take.size == 0 or not features:
        return list(features)
    contributions = model.explain(inputs.iloc[take])
    mean = contributions.mean(axis=0).sort_values(ascending=False, kind="stable")
    return [str(c) for c in mean.index]


def _column_views(
    inputs: pd.DataFrame,
    schema: Any,
    ranked: list[str],
    flags: np.ndarray,
    ranks: np.ndarray,
) -> list[go.Figure]:
    views = []
    for name in ranked:
        role = schema.role_of(name)
        if role == Role.NUMERIC:
            views.append(figures.numeric_view(name, numbers(inputs[name]), flags, ranks))
        elif role in (Role.CATEGORICAL, Role.BOOLEAN):
            levels = as_text(inputs[name]).fillna(_MISSING)
            views.append(figures.categorical_view(name, levels, flags))
        # Dates have the over-time section.
        if len(views) == MAX_COLUMN_VIEWS:
            break
    return views


def numbers(s: pd.Series) -> np.ndarray:
    """Float values of a numeric column as read (numbers written as text are parsed).

    >>> numbers(pd.Series(["$1,200", "7", None], dtype=object)).tolist()
    [1200.0, 7.0, nan]
    """
    if ptypes.is_numeric_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype):
        return numeric_values(s)
    return parse_numbers(as_text(s))


def dates(s: pd.Series) -> pd.Series:
    """A datetime column as read, parsed the way the preprocessing parses it."""
    if ptypes.is_datetime64_any_dtype(s.dtype):
        return s
    text = as_text(s)
    return parse_dates(text, date_format(text.dropna()) or "mixed")


def _projection_section(
    model: Any, inputs: pd.DataFrame, scores: np.ndarray, flags: np.ndarray, sample: np.ndarray
) -> Section:
    section = Section(
        "projection",
        "All rows in two dimensions",
        "The model's features, compressed with a signed logarithm so that far-out values "
        "do not hide the rest, projected on their first two principal components (fitted "
        "on the rows that are not flagged) and coloured by anomaly score.",
        wide=True,
    )
    X = model.transform(inputs.iloc[sample])
    # Features are robustly scaled and unclipped: an anomaly 1,000 spreads out would
    # take the whole picture; the signed log keeps order and sign, shrinks distance.
    X = np.sign(X) * np.log1p(np.abs(X))
    if X.shape[1] < 2 or len(sample) < 3:
        section.note = "The model has fewer than two features: there is nothing to project."
        return section
    fit_rows = X[~flags[sample]] if (~flags[sample]).sum() >= 3 else X
    points, explained = principal_components(X, fit_rows)
    section.figures.append(
        figures.projection(
            points, scores[sample], flags[sample], inputs.index[sample].to_numpy(),
            explained=explained,
        )
    )  # fmt: skip
    return section


def principal_components(
    X: np.ndarray, fit_rows: np.ndarray
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """``X`` on the first two principal axes of ``fit_rows``, and each axis's share of variance.

    An eigen-decomposition of the covariance (features are few, rows many) is
    far quicker than an SVD of the rows, and deterministic.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)) * [10.0, 1.0, 0.1]
    >>> points, explained = principal_components(X, X)
    >>> points.shape, round(explained[0], 2)
    ((500, 2), 0.99)
    """
    center = fit_rows.mean(axis=0)
    cov = np.cov(fit_rows - center, rowvar=False)
    values, vectors = np.linalg.eigh(np.atleast_2d(cov))
    order = np.argsort(values)[::-1][:2]
    # A sign convention, so the same data always gives the same picture.
    axes = vectors[:, order] * np.sign(vectors[np.abs(vectors[:, order]).argmax(axis=0), order])
    total = float(values.clip(min=0).sum())
    explained = None
    if total > 0 and np.isfinite(total):
        explained = (float(values[order[0]] / total), float(values[order[1]] / total))
    return (X - center) @ axes, explained


def _label_section(
    y: pd.Series,
    scores: np.ndarray,
    flags: np.ndarray,
    threshold: float,
    detector: str,
    label: str,
) -> tuple[Section, list[tuple[str, str]]]:
    from anomalyzer.evaluate import (
        evaluate,
        plot_confusion,
        plot_pr,
        plot_roc,
        plot_score_histogram,
    )

    section = Section(
        "labels",
        f"Against the labels ({label})",
        f"How well the scores separate the rows that column {label!r} marks as anomalies.",
    )
    try:
        report = evaluate(y, scores, flags)
        curves = {detector: (y, scores)}
        section.figures = [
            plot_roc(curves),
            plot_pr(curves),
            plot_confusion(report),
            plot_score_histogram(scores, y, threshold, title="Scores by label"),
        ]
    except AnomalyzerError as exc:
        section.note = f"No evaluation: {exc}"
        return section, []
    for fig in section.figures:
        fig.update_layout(height=360, margin={"l": 55, "r": 20, "t": 60, "b": 45})
    metrics = [
        ("labelled anomalies", f"{report.n_anomalies:,} of {report.n_rows:,}"),
        ("ROC-AUC", f"{report.roc_auc:.3f}"),
        ("average precision", f"{report.average_precision:.3f}"),
        ("precision at the flags", _fraction(report.precision)),
        ("recall at the flags", _fraction(report.recall)),
        ("F1 at the flags", _fraction(report.f1)),
        ("best F1 (any threshold)", f"{report.best_f1:.3f}"),
    ]
    return section, metrics


def _fraction(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _time_section(
    column: pd.Series,
    scores: np.ndarray,
    flags: np.ndarray,
    threshold: float,
    sample: np.ndarray,
    name: str,
) -> Section:
    section = Section(
        "time",
        f"Over time ({name})",
        "Scores of the rows over time with the flagged rows in red; below, rows and "
        "flagged rows per period.",
        wide=True,
    )
    ts = dates(column)
    if ts.notna().sum() == 0:
        section.note = f"Column {name!r} holds no dates that can be read."
        return section
    section.figures.append(figures.over_time(ts, scores, flags, threshold, sample, name=name))
    return section


def _summary(
    result: DetectionResult, source: str | None, label: str | None, n: int, n_flagged: int
) -> list[tuple[str, str]]:
    model = result.model
    schema = model.schema
    contamination = model.contamination
    rows = [
        ("rows", f"{n:,}"),
        ("columns used", f"{len(schema.features)} of {len(schema.columns)}"),
        ("detector", model.detector_name),
        ("threshold", f"{result.threshold:.4g}"),
        ("flagged", f"{n_flagged:,} ({n_flagged / max(n, 1):.2%})"),
        (
            "contamination",
            "auto (read off the scores)" if contamination == "auto" else f"{contamination:g}",
        ),
    ]
    if source:
        rows.insert(0, ("data", _short_source(source)))
    if label:
        rows.append(("label", label))
    return rows


def _short_source(source: str) -> str:
    """A file's name without its folders (the title shows the whole path).

    >>> _short_source("data/2024/transactions.csv"), _short_source("sqlite:///x.db")
    ('transactions.csv', 'sqlite:///x.db')
    """
    if "://" in source:
        return source
    return source.replace("\\", "/").rsplit("/", 1)[-1] or source


def top_table(
    frame: pd.DataFrame,
    inputs: pd.DataFrame,
    schema: Any,
    by_rank: np.ndarray,
    ranked_columns: list[str],
    label: str | None,
) -> tuple[list[str], list[list[tuple[str, str]]], str]:
    """Header, rows of ``(text, sort value)`` cells, and a note, for the top-anomalies table."""
    n_flagged = int(frame["is_anomaly"].sum())
    n_rows = min(MAX_TABLE_ROWS, max(n_flagged, min(10, len(frame))))
    take = by_rank[:n_rows]
    ids = schema.by_role(Role.ID)[:1]
    values = [c for c in ranked_columns if c not in ids and c != label][:TABLE_VALUE_COLUMNS]
    head = ["rank", "row", *ids, "score", "flagged", *([label] if label else []), *values, "reason"]
    top = frame.iloc[take]
    cols = {c: inputs[c].iloc[take] for c in [*ids, *values, *([label] if label else [])]}
    rows = []
    for i in range(len(take)):
        row = top.iloc[i]
        cells = [
            (str(int(row["anomaly_rank"])), str(int(row["anomaly_rank"]))),
            _cell(top.index[i]),
            *[_cell(cols[c].iloc[i]) for c in ids],
            (f"{row['anomaly_score']:.4g}", repr(float(row["anomaly_score"]))),
            ("yes" if row["is_anomaly"] else "no", ""),
            *([_cell(cols[label].iloc[i])] if label else []),
            *[_cell(cols[c].iloc[i]) for c in values],
            (str(row["anomaly_reason"]), ""),
        ]
        rows.append(cells)
    if n_flagged > n_rows:
        note = f"The {n_rows} most anomalous of {n_flagged:,} flagged rows."
    elif n_flagged:
        note = f"All {n_flagged:,} flagged rows" + (
            f" and the next {n_rows - n_flagged} by score." if n_rows > n_flagged else "."
        )
    else:
        note = f"No row was flagged; the {n_rows} highest-scoring rows."
    return head, rows, note + " Click a column header to sort."


def _cell(value: Any) -> tuple[str, str]:
    """Display text and numeric sort key of one table value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "", ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)), ""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):,.6g}", repr(float(value))
    text = str(value)
    return (text if len(text) <= 40 else text[:37] + "..."), ""
