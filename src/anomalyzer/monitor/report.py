"""The drift page: a self-contained HTML report of a :class:`~anomalyzer.monitor.DriftReport`.

Built like the detection report (same style sheet, plotly.js embedded once,
a sortable table, nothing fetched from the network): the verdict in words,
summary cards, the anomaly scores before and after, every check with its
p-value and effect size, the drifted columns before and after (histograms of
shares for numbers, level shares for categories) and the columns that tell
new rows from training rows. Figures are drawn from the sketches, so the page
of a million new rows is as small as that of a thousand.

>>> import tempfile, pandas as pd, anomalyzer as az
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=600), "k": rng.choice(list("ab"), 600)})
>>> model = az.Model("mad").fit(df)
>>> drift = model.monitor(df.assign(x=df.x + 1))
>>> with tempfile.TemporaryDirectory() as tmp:
...     html = write_drift_report(drift, f"{tmp}/drift.html").read_text(encoding="utf-8")
>>> 'id="drift-verdict"' in html, html.count("Plotly.newPlot(") >= 3
(True, True)
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from jinja2 import Environment
from markupsafe import Markup

from anomalyzer.data.sketches import cdf, quantile
from anomalyzer.destinations import check_destination, write_page
from anomalyzer.errors import AnomalyzerError
from anomalyzer.monitor.batch import DriftReport
from anomalyzer.monitor.checks import ALL_COLUMNS, FLAG_RATE, SCORES, Check
from anomalyzer.monitor.verdict import number, percent, verdict_lines
from anomalyzer.report.render import _plotly_js, figure_html
from anomalyzer.report.template import _PAGE_END, _PAGE_TOP, SORTER, STYLE

__all__ = ["build_drift_report", "write_drift_report"]

BEFORE, AFTER = "#4c78a8", "#e45756"
# Columns drawn before and after: the drifted ones first, then the most changed.
MAX_COLUMNS = 8

_BODY = """
<section id="drift-verdict" class="{{ 'drifted' if drifted else 'steady' }}">
  <h2>Verdict</h2>
  <ul class="verdict">{% for line in lines %}<li>{{ line }}</li>{% endfor %}</ul>
  <p class="note">{{ rule }}</p>
</section>
{% for s in sections %}
<section id="{{ s.key }}">
  <h2>{{ s.title }}</h2>
  {% if s.intro %}<p class="intro">{{ s.intro }}</p>{% endif %}
  {% if s.html %}<div class="grid">
  {% for fig in s.html %}<div class="figure">{{ fig }}</div>{% endfor %}
  </div>{% endif %}
</section>
{% endfor %}
<section id="drift-checks">
  <h2>Every check</h2>
  <p class="intro">Each test with its p-value (raw and Holm-adjusted over all checks) and its
  effect size against the floor it must reach; drift needs both.</p>
  <div class="table-wrap">
  <table class="sortable" id="drift-table">
    <thead><tr>{% for h in head %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in rows %}
      <tr{% if row[-1][0] == 'yes' %} class="flagged"{% endif %}>
      {% for text, value in row %}
        {% if loop.last %}<td><span class="pill {{ text }}">{{ text }}</span></td>
        {% else %}<td{% if value %} class="num" data-value="{{ value }}"{% endif %}>{{ text }}</td>
        {% endif %}
      {% endfor %}
      </tr>
    {% endfor %}
    </tbody>
  </table>
  </div>
</section>
"""

_STYLE = """
ul.verdict { margin: 0; padding-left: 20px; font-size: 15px; }
ul.verdict li:first-child { font-weight: 600; }
#drift-verdict.drifted { border-left: 4px solid var(--accent); }
#drift-verdict.steady { border-left: 4px solid var(--normal); }
"""


def build_drift_report(report: DriftReport, *, source: str | None = None) -> str:
    """The HTML page of ``report`` as text (see :func:`write_drift_report`)."""
    from anomalyzer.version import __version__

    if not isinstance(report, DriftReport):
        raise AnomalyzerError(
            f"A drift page needs the DriftReport of Model.monitor, not a {type(report).__name__}."
        )
    sections = []
    n = 0
    for key, title, intro, figures in _sections(report):
        html = []
        for fig in figures:
            n += 1
            html.append(figure_html(fig, f"fig-{key}-{n}"))
        sections.append({"key": key, "title": title, "intro": intro, "html": html})
    head, rows = _table(report)
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    page = env.from_string(_PAGE_TOP + _BODY + _PAGE_END)
    title = f"Drift: {source}" if source else "Drift report"
    content = {
        "title": title,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sampling_note": "Training data as the model's sketches keep it.",
        "summary": _summary(report),
    }
    return page.render(
        c=content,
        version=__version__,
        style=Markup(STYLE),
        series_style=Markup(_STYLE),
        sorter=Markup(SORTER),
        plotly_js=Markup(_plotly_js()),
        drifted=report.drifted,
        lines=verdict_lines(report),
        rule=_rule_text(report),
        sections=sections,
        head=head,
        rows=rows,
    )


def write_drift_report(
    report: DriftReport, path: str | os.PathLike[str], *, source: str | None = None
) -> Path:
    """Write the drift page of ``report`` to ``path`` and return the path."""
    path = check_destination(Path(path), "report")
    html = build_drift_report(report, source=source)
    return write_page(html, path)


def _rule_text(report: DriftReport) -> str:
    r = report.rules
    return (
        f"Rule: a check is drift when its Holm-adjusted p-value is below {r.alpha:g} and its "
        f"effect reaches the floor (KS {r.ks:g}, total variation {r.tvd:g}, Cohen's h "
        f"{r.missing_h:g} for missing shares and {r.flag_h:g} for the flag rate, ROC-AUC "
        f"{r.auc:g}), in a batch of at least {r.min_rows} rows."
    )


def _summary(report: DriftReport) -> list[tuple[str, str]]:
    flag = report.check(FLAG_RATE, "rate")
    domain = report.check(ALL_COLUMNS, "rows")
    out = [
        ("flagged" if report.drifted else "status", "drift" if report.drifted else "no drift"),
        ("new rows", f"{report.n_new:,}"),
        ("training rows", f"{report.n_train:,}"),
        ("drifted columns", f"{len(report.drifted_columns)}"),
    ]
    if flag is not None:
        out.append(
            (
                "flag rate",
                f"{percent(flag.details['rate_train'])} → {percent(flag.details['rate_new'])}",
            )
        )
    if domain is not None:
        out.append(("domain ROC-AUC", f"{domain.effect:.2f}"))
    return out


def _sections(report: DriftReport) -> list[tuple[str, str, str, list[go.Figure]]]:
    out = []
    scores_new = report.new_sketch["scores"]
    out.append(
        (
            "drift-scores",
            "Anomaly scores before and after",
            "Share of rows per score bin at training (before) and in the new rows (after); "
            "the flag rate is what users of the model feel first.",
            [_numeric_figure("anomaly score", report.train_sketch["scores"], scores_new)],
        )
    )
    names = _columns_to_draw(report)
    figures = []
    for name in names:
        before = report.train_sketch["columns"].get(name)
        after = report.new_sketch["columns"].get(name)
        if not before or not after:
            continue
        if before["kind"] == "numeric":
            figures.append(_numeric_figure(name, before, after))
        else:
            figures.append(_levels_figure(name, before, after))
    if figures:
        out.append(
            (
                "drift-columns",
                "Columns before and after",
                "The drifted columns first (most drifted first), then the most changed others.",
                figures,
            )
        )
    domain = report.check(ALL_COLUMNS, "rows")
    if domain is not None and domain.details.get("columns"):
        out.append(
            (
                "drift-rows",
                "What tells new rows from training rows",
                f"A classifier separates them with ROC-AUC {domain.effect:.2f} (0.5: it "
                "cannot); each bar is the AUC it loses when that column is shuffled.",
                [_domain_figure(domain)],
            )
        )
    return out


def _columns_to_draw(report: DriftReport) -> list[str]:
    drifted = report.drifted_columns
    others = sorted(
        (
            c
            for c in report.checks
            if c.aspect == "distribution"
            and c.subject not in drifted
            and c.subject not in (SCORES, ALL_COLUMNS)
        ),
        key=lambda c: -c.severity,
    )
    return (drifted + [c.subject for c in others])[:MAX_COLUMNS]


def _numeric_figure(name: str, before: dict[str, Any], after: dict[str, Any]) -> go.Figure:
    lo = float(min(quantile(before, np.array([0.005]))[0], quantile(after, np.array([0.005]))[0]))
    hi = float(max(quantile(before, np.array([0.995]))[0], quantile(after, np.array([0.995]))[0]))
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, 31)
    centers = (edges[1:] + edges[:-1]) / 2
    fig = go.Figure()
    for label, sketch, color in (("before", before, BEFORE), ("after", after, AFTER)):
        shares = np.diff(cdf(sketch, edges))
        fig.add_trace(
            go.Scatter(
                x=centers,
                y=shares,
                mode="lines",
                name=label,
                line={"color": color},
                fill="tozeroy",
                line_shape="hvh",
            )
        )
    fig.update_layout(
        title=f"{name}: median {number(float(before['median']))} → {number(float(after['median']))}",
        xaxis_title=name,
        yaxis_title="share of rows",
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 45},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def _levels_figure(name: str, before: dict[str, Any], after: dict[str, Any]) -> go.Figure:
    nb, na = max(before["n_rows"], 1), max(after["n_rows"], 1)
    levels = list(dict.fromkeys(list(before["counts"])[:12] + list(after["counts"])[:6]))
    fig = go.Figure()
    for label, sketch, total, color in (
        ("before", before, nb, BEFORE),
        ("after", after, na, AFTER),
    ):
        shares = [sketch["counts"].get(k, 0) / total for k in levels]
        fig.add_trace(go.Bar(x=levels, y=shares, name=label, marker_color=color))
    fig.update_layout(
        title=f"{name}: share of rows per level",
        barmode="group",
        yaxis_title="share of rows",
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 45},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def _domain_figure(domain: Check) -> go.Figure:
    ranked = domain.details["columns"][:12][::-1]
    fig = go.Figure(
        go.Bar(
            x=[max(v, 0.0) for _, v in ranked],
            y=[c for c, _ in ranked],
            orientation="h",
            marker_color=AFTER,
        )
    )
    fig.update_layout(
        title="ROC-AUC lost when the column is shuffled",
        height=max(240, 28 * len(ranked) + 90),
        margin={"l": 140, "r": 20, "t": 50, "b": 40},
    )
    return fig


def _table(report: DriftReport) -> tuple[list[str], list[list[tuple[str, str]]]]:
    head = [
        "subject",
        "aspect",
        "test",
        "p-value",
        "adjusted p",
        "effect",
        "value",
        "floor",
        "drift",
    ]
    rows = []
    for c in report.checks:
        rows.append(
            [
                (c.subject, ""),
                (c.aspect, ""),
                (c.test, ""),
                (f"{c.p_value:.2g}", f"{c.p_value:.6g}"),
                (f"{c.p_adjusted:.2g}", f"{c.p_adjusted:.6g}"),
                (c.effect_name, ""),
                (f"{c.effect:.3f}", f"{c.effect:.6g}"),
                (f"{c.floor:g}", f"{c.floor:g}"),
                ("yes" if c.drifted else "no", ""),
            ]
        )
    return head, rows
