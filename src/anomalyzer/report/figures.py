"""The report's figures, each a ``plotly.graph_objects.Figure`` of binned or sampled data.

Callers pass every row's scores and flags; these functions bin or sample what
they draw (see :mod:`anomalyzer.report.sampling`), so a figure of a million
rows holds at most a few thousand numbers.

>>> scores = np.r_[np.linspace(0, 1, 99), 5.0]
>>> fig = score_histogram(scores, threshold=2.0)
>>> [trace.name for trace in fig.data]
['normal (99 rows)', 'flagged (1 rows)']
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from anomalyzer.report.sampling import bin_edges, binned, log_scale

NORMAL = "#4C78A8"
ANOMALY = "#E45756"
MUTED = "#B8C4D6"
# Levels drawn per categorical column; the rest are summed into one bar.
MAX_LEVELS = 15
# Flagged rows marked one by one under a column's histogram.
MAX_MARKERS = 50
OTHER = "(other levels)"


# A light look set property by property: plotly's named templates are copied and
# validated on every use, which costs more than the figure itself.
_AXIS = {"gridcolor": "#EBF0F8", "zerolinecolor": "#D5DDE8", "linecolor": "#D5DDE8",
         "automargin": True}  # fmt: skip


def inert(text: object) -> str:
    """User text for a plotly label: its tags shown as written, never rendered as HTML.

    Plotly draws a few tags (``<a href>``, ``<b>``, ``<br>``) in titles, ticks and
    hover labels; escaped, a value such as ``<a href=...>`` is no live link.

    >>> inert("<a href='x'>y</a>")
    "&lt;a href='x'&gt;y&lt;/a&gt;"
    """
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, title: str, *, height: int = 340) -> go.Figure:
    fig.update_xaxes(**_AXIS)
    fig.update_yaxes(**_AXIS)
    fig.update_layout(
        title={"text": inert(title), "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        paper_bgcolor="#fff",
        plot_bgcolor="#fff",
        font={"family": "-apple-system, Segoe UI, Roboto, Arial, sans-serif", "color": "#2a3f5f"},
        colorway=[NORMAL, ANOMALY, "#54A24B", "#F58518", "#72B7B2", "#B279A2"],
        height=height,
        margin={"l": 55, "r": 20, "t": 60, "b": 45},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        bargap=0.02,
    )
    return fig


def score_histogram(scores: np.ndarray, threshold: float, *, bins: int = 80) -> go.Figure:
    """Counts of every row's score, normal and flagged stacked, on a log scale, with the threshold.

    The log count axis keeps a handful of flagged rows in the tail visible
    next to the bulk.
    """
    scores = np.asarray(scores, dtype=np.float64)
    flagged = scores > threshold
    finite = scores[np.isfinite(scores)]
    edges = bin_edges(np.r_[finite, threshold], bins=bins)
    centres, widths = (edges[1:] + edges[:-1]) / 2.0, np.diff(edges)
    fig = go.Figure()
    # Bars stack: the axis must reach the tallest total.
    top = max(1, int(binned(scores, edges=edges)[0].max(initial=0)))
    for name, mask, colour in (("normal", ~flagged, NORMAL), ("flagged", flagged, ANOMALY)):
        counts, _ = binned(scores[mask], edges=edges)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=np.where(counts > 0, counts, np.nan),
                width=widths,
                name=f"{name} ({int(mask.sum()):,} rows)",
                marker_color=colour,
                hovertemplate="score %{x:.4g}<br>%{y:,} rows<extra>" + name + "</extra>",
            )
        )
    if math.isfinite(threshold):
        fig.add_vline(
            x=float(threshold),
            line_dash="dash",
            line_color="#333",
            annotation_text=f"threshold {threshold:.4g}",
            annotation_position="top left",
        )
    fig.update_layout(barmode="stack", xaxis_title="anomaly score", yaxis_title="rows (log scale)")
    fig.update_yaxes(type="log", range=[-0.15, math.log10(top) + 0.25], dtick=1)
    return _layout(fig, "Score distribution", height=360)


def numeric_view(
    name: str,
    values: np.ndarray,
    flags: np.ndarray,
    ranks: np.ndarray,
    *,
    bins: int = 50,
) -> go.Figure:
    """Where flagged rows sit in one numeric column: shares per bin, all rows against flagged.

    Both groups are shown as shares of their own rows (flagged rows are too
    few to see as counts), and the most anomalous flagged rows are marked one
    by one under the axis, with their rank in the hover text. Heavy-tailed
    positive columns are binned on a log10 scale.

    >>> fig = numeric_view("x", np.r_[np.arange(99.0), 500.0], np.r_[np.zeros(99, bool), True],
    ...                    np.arange(1, 101))
    >>> [trace.name for trace in fig.data]
    ['all rows (100)', 'flagged (1)', 'most anomalous']
    """
    values = np.asarray(values, dtype=np.float64)
    log = log_scale(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (
            np.log10(values)
            if log == "log"
            else np.log10(1.0 + values)
            if log == "log1p"
            else values
        )
    edges = bin_edges(x, bins=bins)
    centres, widths = (edges[1:] + edges[:-1]) / 2.0, np.diff(edges)
    fig = go.Figure()
    for label, mask, colour in (
        ("all rows", np.ones(len(x), bool), MUTED),
        ("flagged", flags, ANOMALY),
    ):
        counts, _ = binned(x[mask], edges=edges)
        total = max(int(np.isfinite(x[mask]).sum()), 1)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts / total,
                width=widths,
                name=f"{label} ({int(mask.sum()):,})",
                marker_color=colour,
                opacity=0.85 if label == "flagged" else 1.0,
                customdata=counts,
                hovertemplate="%{customdata:,} rows (%{y:.1%})<extra>" + label + "</extra>",
            )
        )
    marked = np.flatnonzero(flags & np.isfinite(x))
    marked = marked[np.argsort(ranks[marked], kind="stable")][:MAX_MARKERS]
    if marked.size:
        fig.add_trace(
            go.Scatter(
                x=x[marked],
                y=np.zeros(marked.size),
                mode="markers",
                name="most anomalous",
                marker={"symbol": "triangle-up", "size": 11, "color": ANOMALY,
                        "line": {"width": 1, "color": "#fff"}},
                customdata=np.column_stack([ranks[marked], values[marked]]),
                hovertemplate="rank %{customdata[0]}: %{customdata[1]:,.4g}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(barmode="overlay", yaxis_title="share of rows", yaxis_tickformat=".0%")
    if log:
        _log_ticks(fig, edges, shift=1.0 if log == "log1p" else 0.0)
    fig.update_xaxes(title=inert(f"{name} (log scale)" if log else name))
    return _layout(fig, name)


def _log_ticks(fig: go.Figure, edges: np.ndarray, *, shift: float = 0.0) -> None:
    """Label a log10-binned axis (of ``value + shift``) with the values, not their logarithms."""
    lo, hi = math.floor(edges[0]), math.ceil(edges[-1])
    values = [10.0**t for t in range(lo, hi + 1)]
    if shift:
        values = [0.0, *[v for v in values if v >= 1.0]]
    ticks = [math.log10(v + shift) for v in values]
    fig.update_xaxes(tickvals=ticks, ticktext=[_short_number(v) for v in values])


def _short_number(value: float) -> str:
    """A tick label: ``1M``, ``2.5k``, ``0.01``.

    >>> _short_number(1e6), _short_number(0.01), _short_number(2500.0)
    ('1M', '0.01', '2.5k')
    """
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def categorical_view(name: str, levels: pd.Series, flags: np.ndarray) -> go.Figure:
    """Share of each level among all rows and among flagged rows, side by side.

    Levels are the most common overall plus those common among flagged rows;
    the rest are summed into one bar.

    >>> levels = pd.Series(["a"] * 90 + ["b"] * 9 + ["z"])
    >>> fig = categorical_view("k", levels, np.r_[np.zeros(99, bool), True])
    >>> list(fig.data[1].x), list(fig.data[1].y)
    (['a', 'b', 'z'], [0.0, 0.0, 1.0])
    """
    all_share = levels.value_counts(normalize=True, sort=True)
    flagged = levels[np.asarray(flags, dtype=bool)]
    flag_share = flagged.value_counts(normalize=True, sort=True)
    chosen = list(dict.fromkeys([*flag_share.index[: MAX_LEVELS // 2], *all_share.index]))
    chosen = sorted(chosen[:MAX_LEVELS], key=lambda v: -all_share.get(v, 0.0))
    fig = go.Figure()
    for label, share, colour, count in (
        ("all rows", all_share, MUTED, len(levels)),
        ("flagged", flag_share, ANOMALY, len(flagged)),
    ):
        y = [float(share.get(v, 0.0)) for v in chosen]
        x = [inert(v) for v in chosen]
        rest = 1.0 - sum(y) if count else 0.0
        if len(all_share) > len(chosen) and rest > 1e-12:
            x, y = [*x, OTHER], [*y, rest]
        fig.add_trace(
            go.Bar(
                x=x,
                y=y,
                name=f"{label} ({count:,})",
                marker_color=colour,
                hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(barmode="group", yaxis_title="share of rows", yaxis_tickformat=".0%")
    fig.update_xaxes(title=inert(name), type="category")
    return _layout(fig, name)


def projection(
    points: np.ndarray,
    scores: np.ndarray,
    flags: np.ndarray,
    rows: np.ndarray,
    *,
    explained: tuple[float, float] | None = None,
) -> go.Figure:
    """Rows in two dimensions coloured by score, flagged rows ringed in red."""
    fig = go.Figure(
        go.Scatter(
            x=points[:, 0],
            y=points[:, 1],
            mode="markers",
            name=f"rows ({len(rows):,} drawn)",
            marker={
                "size": 5,
                "color": scores,
                "colorscale": "Viridis",
                "opacity": 0.7,
                "colorbar": {"title": {"text": "score"}, "thickness": 12},
            },
            customdata=np.column_stack([rows, scores]),
            hovertemplate="row %{customdata[0]}<br>score %{customdata[1]:.4g}<extra></extra>",
        )
    )
    if flags.any():
        fig.add_trace(
            go.Scatter(
                x=points[flags, 0],
                y=points[flags, 1],
                mode="markers",
                name=f"flagged ({int(flags.sum()):,} drawn)",
                marker={"size": 10, "symbol": "circle-open", "color": ANOMALY,
                        "line": {"width": 2}},
                customdata=np.column_stack([rows[flags], scores[flags]]),
                hovertemplate="row %{customdata[0]}<br>score %{customdata[1]:.4g}"
                "<extra>flagged</extra>",
            )
        )  # fmt: skip
    share = "" if explained is None else f" ({explained[0]:.0%} of the variance)"
    fig.update_layout(
        xaxis_title=f"first component{share}",
        yaxis_title="second component" + ("" if explained is None else f" ({explained[1]:.0%})"),
        legend={"x": 0, "xanchor": "left"},
    )
    return _layout(fig, "All rows in two dimensions (PCA of the model's features)", height=460)


def over_time(
    times: pd.Series,
    scores: np.ndarray,
    flags: np.ndarray,
    threshold: float,
    sample: np.ndarray,
    *,
    name: str,
    bins: int = 120,
) -> go.Figure:
    """Scores over time (sampled rows, flagged in red) above rows and flagged rows per period.

    ``times`` and ``scores`` hold every row; ``sample`` picks the rows drawn
    as points, while the counts per period use all rows.
    """
    ts = pd.to_datetime(times, errors="coerce")
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    ns = ts.to_numpy(dtype="datetime64[ns]")
    ok = ~np.isnat(ns)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        vertical_spacing=0.06)  # fmt: skip
    drawn = sample[ok[sample]]
    for label, mask, colour, size in (
        ("rows", ~flags[drawn], NORMAL, 4),
        ("flagged", flags[drawn], ANOMALY, 8),
    ):
        pick = drawn[mask]
        fig.add_trace(
            go.Scatter(
                x=ns[pick],
                y=scores[pick],
                mode="markers",
                name=f"{label} ({pick.size:,} drawn)",
                marker={"size": size, "color": colour, "opacity": 0.6 if label == "rows" else 0.95},
                customdata=pick,
                hovertemplate="row %{customdata}<br>%{x}<br>score %{y:.4g}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_hline(y=float(threshold), line_dash="dash", line_color="#333", row=1, col=1)
    epoch = ns[ok].astype(np.int64)
    if epoch.size:
        edges = bin_edges(epoch.astype(np.float64), bins=bins)
        mids = ((edges[1:] + edges[:-1]) / 2.0).astype(np.int64).astype("datetime64[ns]")
        width_ms = float(np.diff(edges).mean()) / 1e6
        for label, mask, colour in (
            ("rows per period", ok, MUTED),
            ("flagged", ok & flags, ANOMALY),
        ):
            counts, _ = binned(ns[mask].astype(np.int64).astype(np.float64), edges=edges)
            fig.add_trace(
                go.Bar(
                    x=mids,
                    y=np.where(counts > 0, counts, np.nan),
                    width=width_ms,
                    name=label,
                    marker_color=colour,
                    showlegend=label == "rows per period",
                    hovertemplate="%{x}<br>%{y:,} rows<extra>" + label + "</extra>",
                ),
                row=2,
                col=1,
            )
    fig.update_layout(barmode="overlay")
    fig.update_yaxes(title_text="anomaly score", row=1, col=1)
    fig.update_yaxes(title_text="rows (log)", type="log", dtick=1, row=2, col=1)
    fig.update_xaxes(title_text=inert(name), row=2, col=1)
    return _layout(fig, f"Over time ({name})", height=500)
