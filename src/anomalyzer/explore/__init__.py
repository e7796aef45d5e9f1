"""Explore a table before detecting anything in it: ``anomalyzer.explore(df)``.

For every column: its role (as the detectors will see it), missing share,
distinct values, summary statistics, a histogram or bar chart and a box plot,
and the count of values beyond z-score 3, beyond 1.5 IQR and beyond 3 MAD;
for the table: the correlations between numeric columns and the duplicate
rows; for a time column: the series over time, the step, the gaps and the
seasons. :meth:`ExploreReport.write` saves it all as one self-contained HTML page.

>>> import numpy as np, pandas as pd
>>> import anomalyzer as az
>>> df = pd.DataFrame({"amount": np.r_[np.linspace(10, 20, 99), 500.0],
...                    "kind": ["a", "b"] * 50})
>>> report = az.explore(df)
>>> report.column("amount").outliers
OutlierCounts(z=1, iqr=1, mad=1)
>>> print(report.summary().splitlines()[0])
100 rows, 2 columns: 1 numeric, 1 categorical.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.data import Role, infer_schema, read_table
from anomalyzer.data.roles import column_lookup
from anomalyzer.errors import AnomalyzerError
from anomalyzer.explore import figures
from anomalyzer.explore.columns import ColumnProfile, OutlierCounts, numeric, profile_column
from anomalyzer.explore.report import MAX_LISTED_PAIRS, STRONG_CORRELATION, ExploreReport
from anomalyzer.explore.timeline import TimeProfile, profile_time

# Columns drawn one by one, in table order; and the most in the correlation heatmap.
MAX_COLUMN_FIGURES = 60
MAX_CORRELATED = 40

__all__ = ["ColumnProfile", "ExploreReport", "OutlierCounts", "TimeProfile", "explore"]


def explore(
    data: Any,
    *,
    time: str | None = None,
    group: str | None = None,
    label: str | None = None,
    exclude: Sequence[str] = (),
    roles: Mapping[str, str] | None = None,
    source: str | None = None,
) -> ExploreReport:
    """Profile ``data`` (a DataFrame, a file path or a database URL) column by column.

    ``time`` names the time column (by default the first column whose role is
    datetime); ``group`` the column that splits it into several series (guessed
    when not given); ``label`` a ground-truth column, profiled but never used
    as a value; ``exclude`` and ``roles`` work as in :func:`anomalyzer.detect`.
    ``data`` is never modified.
    """
    if source is None:
        source = "DataFrame" if isinstance(data, pd.DataFrame) else str(data)
    df = read_table(data)
    lookup = column_lookup(df)
    for what, name in (("time", time), ("group", group)):
        if name is not None and str(name) not in lookup:
            raise AnomalyzerError(
                f"Column {name!r} given as {what}= is not in the table; use one of: "
                + ", ".join(repr(n) for n in list(lookup)[:30])
                + "."
            )
    schema = infer_schema(df, exclude=exclude, label=label, roles=roles)
    profiles = [
        profile_column(c.name, df[lookup[c.name]], c.role, dtype=c.dtype, reason=c.reason)
        for c in schema.columns
    ]
    numeric_names = [c.name for c in schema.columns if c.role is Role.NUMERIC]
    column_figures = []
    for p in profiles[:MAX_COLUMN_FIGURES]:
        if p.role == Role.NUMERIC.value and p.median is not None:
            column_figures.append(figures.numeric_figure(p.name, numeric(df[lookup[p.name]])))
        elif p.role in (Role.CATEGORICAL.value, Role.BOOLEAN.value, Role.LABEL.value):
            column_figures.append(
                figures.categorical_figure(p.name, p.top_levels, n_levels=p.distinct)
            )
    figs: dict[str, Any] = {"columns": column_figures}

    corr = _correlations(df, lookup, numeric_names[:MAX_CORRELATED])
    pairs = _strong_pairs(corr)
    if corr.shape[0] >= 2:
        figs["correlations"] = figures.correlation_figure(corr)

    duplicate_ids = {}
    for name in schema.by_role(Role.ID):
        k = int(df[lookup[name]].duplicated(keep=False).sum())
        if k:
            duplicate_ids[name] = k

    if time is None:
        dated = schema.by_role(Role.DATETIME)
        time = dated[0] if dated else None
        given = False
    else:
        time, given = str(time), True
    profile = None
    if time is not None:
        skip = [label] if label else []
        try:
            profile = profile_time(
                df, time, numeric_names, group=group, exclude=[*skip, *map(str, exclude)]
            )
        except AnomalyzerError:
            if given:
                raise
        if profile is not None and not profile.lines.empty:
            figs["time"] = figures.time_figure(profile.lines, time)

    return ExploreReport(
        source=source,
        n_rows=len(df),
        columns=profiles,
        correlations=corr,
        strong_pairs=pairs,
        duplicate_rows=int(df.duplicated().sum()),
        duplicate_ids=duplicate_ids,
        time=profile,
        figures=figs,
        source_path=Path(data)
        if isinstance(data, str | os.PathLike) and "://" not in str(data)
        else None,
    )


def _correlations(df: pd.DataFrame, lookup: dict[str, Any], names: list[str]) -> pd.DataFrame:
    """Pearson correlations of the numeric columns (pairwise complete rows); constant ones left out."""
    if len(names) < 2:
        return pd.DataFrame()
    values = pd.DataFrame({n: numeric(df[lookup[n]]) for n in names})
    values = values.loc[:, values.std() > 0]
    return values.corr()


def _strong_pairs(corr: pd.DataFrame) -> list[tuple[str, str, float]]:
    """Pairs of columns with |r| at or above the threshold, strongest first."""
    if corr.empty:
        return []
    r = corr.to_numpy()
    i, j = np.triu_indices_from(r, k=1)
    strong = np.abs(r[i, j]) >= STRONG_CORRELATION
    pairs = [(str(corr.index[a]), str(corr.columns[b]), float(r[a, b]))
             for a, b in zip(i[strong], j[strong], strict=True)]  # fmt: skip
    pairs.sort(key=lambda p: -abs(p[2]))
    return pairs[:MAX_LISTED_PAIRS]
