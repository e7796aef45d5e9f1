"""The exploration page's figures: per column a distribution and a box plot, correlations, time.

Every figure draws binned or summarised data (box plots from their quartiles
and fences, with at most a few hundred outlying points), so the page of a
million rows stays small.

>>> fig = numeric_figure("amount", np.r_[np.arange(100.0), 1e4])
>>> [t.type for t in fig.data]
['box', 'scatter', 'bar']
>>> categorical_figure("kind", [("a", 90), ("b", 10)], n_levels=2).data[0].y
(90, 10)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from anomalyzer.report.figures import MUTED, NORMAL, _layout
from anomalyzer.report.sampling import bin_edges, binned, log_scale

# Outlying points drawn beside a box; the rest are summarised by the box.
MAX_BOX_POINTS = 300
_COLOURS = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2"]


def numeric_figure(name: str, values: np.ndarray, *, bins: int = 50) -> go.Figure:
    """A box plot (Tukey's 1.5 IQR whiskers) above a histogram of one numeric column.

    Heavy-tailed positive columns are drawn on a log10 axis (see
    :func:`~anomalyzer.report.sampling.log_scale`), said in the axis title.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    scale = log_scale(x)
    shown, axis = x, name
    if scale == "log":
        shown, axis = np.log10(x), f"log10({name})"
    elif scale == "log1p":
        shown, axis = np.log10(1.0 + x), f"log10(1 + {name})"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.28, 0.72],
                        vertical_spacing=0.04)  # fmt: skip
    if shown.size:
        q1, med, q3 = np.quantile(shown, [0.25, 0.5, 0.75])
        iqr = q3 - q1
        inside = shown[(shown >= q1 - 1.5 * iqr) & (shown <= q3 + 1.5 * iqr)]
        low, high = float(inside.min()), float(inside.max())
        out = shown[(shown < low) | (shown > high)]
        if out.size > MAX_BOX_POINTS:
            # The most extreme outliers always, then an even spread of the rest.
            order = np.argsort(np.abs(out - med))
            out = out[np.r_[order[-MAX_BOX_POINTS // 2 :], order[:: max(1, out.size // 150)]]]
        fig.add_trace(
            go.Box(
                q1=[q1],
                median=[med],
                q3=[q3],
                lowerfence=[low],
                upperfence=[high],
                y=[name],
                orientation="h",
                name="box",
                marker_color=NORMAL,
                showlegend=False,
                boxpoints=False,
                hoverinfo="x",
            ),
            row=1,
            col=1,
        )
        if out.size:
            fig.add_trace(
                go.Scatter(
                    x=out,
                    y=[name] * out.size,
                    mode="markers",
                    marker={"color": "#E45756", "size": 5, "opacity": 0.7},
                    name="beyond 1.5 IQR",
                    showlegend=False,
                    hovertemplate="%{x:.4g}<extra>beyond 1.5 IQR</extra>",
                ),
                row=1,
                col=1,
            )
    counts, edges = binned(shown, edges=bin_edges(shown, bins=bins))
    fig.add_trace(
        go.Bar(
            x=(edges[1:] + edges[:-1]) / 2.0,
            y=counts,
            width=np.diff(edges),
            marker_color=MUTED,
            name="rows",
            showlegend=False,
            hovertemplate="%{x:.4g}: %{y:,} rows<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    fig.update_yaxes(title_text="rows", row=2, col=1)
    fig.update_xaxes(title_text=axis, row=2, col=1)
    return _layout(fig, name, height=320)


def categorical_figure(name: str, top: list[tuple[str, int]], *, n_levels: int) -> go.Figure:
    """Counts of the most common levels of one column; ``n_levels`` is how many it has."""
    fig = go.Figure(
        go.Bar(
            x=[k for k, _ in top],
            y=[v for _, v in top],
            marker_color=NORMAL,
            hovertemplate="%{x}: %{y:,} rows<extra></extra>",
        )
    )
    more = f" (top {len(top)} of {n_levels:,} levels)" if n_levels > len(top) else ""
    fig.update_xaxes(type="category", title_text=name + more)
    fig.update_yaxes(title_text="rows")
    return _layout(fig, name, height=320)


def correlation_figure(corr: pd.DataFrame) -> go.Figure:
    """A heatmap of the Pearson correlations between numeric columns, -1 blue to +1 red."""
    names = [str(c) for c in corr.columns]
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            hovertemplate="%{y} ~ %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    size = min(900, max(380, 22 * len(names) + 160))
    return _layout(fig, "Correlations between numeric columns", height=size)


def time_figure(lines: pd.DataFrame, time: str) -> go.Figure:
    """Each drawn column over time, one panel per column and one line per group."""
    columns = list(dict.fromkeys(lines["column"]))
    fig = make_subplots(rows=max(1, len(columns)), cols=1, shared_xaxes=True,
                        vertical_spacing=0.05, subplot_titles=columns)  # fmt: skip
    groups = list(dict.fromkeys(lines["group"]))
    for i, column in enumerate(columns, start=1):
        part = lines[lines["column"] == column]
        for j, g in enumerate(groups):
            sel = part[part["group"] == g] if g is not None else part
            fig.add_trace(
                go.Scatter(
                    x=sel["time"],
                    y=sel["value"],
                    mode="lines",
                    name=str(g) if g is not None else column,
                    legendgroup=str(g),
                    showlegend=i == 1 and g is not None,
                    line={"width": 1.2, "color": _COLOURS[j % len(_COLOURS)]},
                ),
                row=i,
                col=1,
            )
    fig.update_xaxes(title_text=time, row=max(1, len(columns)), col=1)
    return _layout(fig, f"Over time ({time})", height=160 + 170 * max(1, len(columns)))
