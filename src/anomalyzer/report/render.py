"""From report content to one self-contained HTML page.

plotly.js is embedded once, inline, in the page's head; each figure is a
``<div>`` with the short script that draws it. Nothing is fetched from the
network, so the file opens offline and can be mailed as it is. A series
detection gets a page of its own (:func:`render_series`) built the same way.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from jinja2 import Environment
from markupsafe import Markup

from anomalyzer.report.content import Content, Section
from anomalyzer.report.template import (
    SECTION,
    SERIES_STYLE,
    SERIES_TEMPLATE,
    SORTER,
    STYLE,
    TEMPLATE,
)

if TYPE_CHECKING:
    from anomalyzer.report.timeview import SeriesContent

#: Options of every figure: no plotly logo, resize with the page.
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@cache
def _template(page: str = TEMPLATE) -> Any:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(SECTION + page)


@cache
def _plotly_js() -> str:
    import plotly.offline

    # A literal "</script" inside would end the script element early.
    return plotly.offline.get_plotlyjs().replace("</script", "<\\/script")


def figure_html(fig: go.Figure, div_id: str) -> Markup:
    """The ``<div>`` and script drawing ``fig``, without plotly.js itself.

    >>> html = figure_html(go.Figure(go.Bar(x=[1], y=[2])), "fig-x")
    >>> 'id="fig-x"' in html, "cdn.plot.ly" in html
    (True, False)
    """
    html = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config=PLOT_CONFIG,
        default_height=fig.layout.height or 360,
    )
    return Markup(html)


def _sections(sections: list[Section]) -> list[dict[str, Any]]:
    """The template's view of ``sections``, each figure already turned into HTML."""
    out = []
    n = 0
    for section in sections:
        html = []
        for fig in section.figures:
            n += 1
            html.append(figure_html(fig, f"fig-{section.key}-{n}"))
        out.append(
            {
                "key": section.key,
                "title": section.title,
                "intro": section.intro,
                "note": section.note,
                "wide": section.wide,
                "html": html,
            }
        )
    return out


def render(content: Content) -> str:
    """The whole HTML page of ``content``."""
    from anomalyzer.version import __version__

    return _template().render(
        c=content,
        sections=_sections(content.sections),
        flag_col=content.table_head.index("flagged"),
        version=__version__,
        style=Markup(STYLE),
        sorter=Markup(SORTER),
        plotly_js=Markup(_plotly_js()),
    )


def render_series(content: SeriesContent) -> str:
    """The whole HTML page of a series detection's ``content``."""
    from anomalyzer.version import __version__

    return _template(SERIES_TEMPLATE).render(
        c=content,
        sections=_sections(content.sections),
        version=__version__,
        style=Markup(STYLE),
        series_style=Markup(SERIES_STYLE),
        sorter=Markup(SORTER),
        plotly_js=Markup(_plotly_js()),
    )
