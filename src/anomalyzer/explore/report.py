"""The result of an exploration, and its self-contained HTML page.

The page reuses the detection report's frame (style sheet, header, summary
cards, table sorter, plotly.js embedded once): it opens offline.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from anomalyzer.destinations import check_destination, write_page
from anomalyzer.errors import AnomalyzerError
from anomalyzer.explore.columns import ColumnProfile
from anomalyzer.explore.timeline import TimeProfile
from anomalyzer.report.content import Section
from anomalyzer.report.render import _plotly_js, _sections, _template
from anomalyzer.report.template import _PAGE_END, _PAGE_TOP, SORTER, STYLE

# Correlations at least this strong (in absolute value) are listed by name.
STRONG_CORRELATION = 0.8
MAX_LISTED_PAIRS = 20

_EXPLORE_STYLE = """
ul.notes { margin: 0; padding-left: 20px; }
ul.notes li { margin: 2px 0; }
td.flag { color: var(--accent); font-weight: 600; }
"""

_PAGE = (
    _PAGE_TOP
    + """<section id="columns">
  <h2>Columns</h2>
  <p class="intro">Each column's role, missing share and distinct values; for numeric
  columns the summary statistics and the count of values beyond z-score 3, beyond
  1.5 IQR (box-plot whiskers) and beyond 3 MAD (robust z-score). Click a header to sort.</p>
  <div class="table-wrap">
  <table class="sortable" id="columns-table">
    <thead><tr>{% for h in head %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in rows %}
      <tr>{% for text, value in row %}<td{% if value != '' %} class="num" data-value="{{ value }}"{% endif %}>{{ text }}</td>{% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table>
  </div>
</section>

{% for s in sections %}{{ section(s, []) }}{% endfor %}

{% if time_lines %}
<section id="time-facts">
  <h2>Time column: {{ time_title }}</h2>
  <ul class="notes">
  {% for line in time_lines %}<li>{{ line }}</li>{% endfor %}
  </ul>
</section>
{% endif %}

<section id="duplicates">
  <h2>Duplicates</h2>
  <ul class="notes">
  {% for line in duplicate_lines %}<li>{{ line }}</li>{% endfor %}
  </ul>
</section>
"""
    + _PAGE_END
)

_HEAD = ["column", "role", "missing", "distinct", "mean", "SD", "min", "median", "max",
         "beyond z 3", "beyond 1.5 IQR", "beyond 3 MAD", "note"]  # fmt: skip


@dataclass
class ExploreReport:
    """What :func:`anomalyzer.explore` found in a table, with its figures.

    ``columns`` holds one :class:`~anomalyzer.explore.columns.ColumnProfile`
    per column; ``correlations`` the Pearson correlations between numeric
    columns; ``strong_pairs`` the pairs at or above 0.8 in absolute value;
    ``duplicate_rows`` the rows that repeat an earlier row exactly;
    ``duplicate_ids`` per identifier column, the values seen more than once;
    ``time`` the profile of the time column, if any.
    """

    source: str
    n_rows: int
    columns: list[ColumnProfile]
    correlations: pd.DataFrame
    strong_pairs: list[tuple[str, str, float]]
    duplicate_rows: int
    duplicate_ids: dict[str, int]
    time: TimeProfile | None
    figures: dict[str, Any] = field(default_factory=dict, repr=False)
    source_path: Path | None = None

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise AnomalyzerError(
            f"Column {name!r} is not in the table; use one of: "
            + ", ".join(repr(c.name) for c in self.columns[:30])
            + "."
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per column: role, missing share, distinct values, statistics, outlier counts."""
        rows = [c.to_dict() for c in self.columns]
        return pd.DataFrame(rows).set_index("name")

    def summary(self) -> str:
        """A few lines for a terminal: size, roles, missing values, outliers, duplicates, time."""
        roles: dict[str, int] = {}
        for c in self.columns:
            roles[c.role] = roles.get(c.role, 0) + 1
        lines = [
            f"{self.n_rows:,} rows, {len(self.columns)} columns: "
            + ", ".join(f"{n} {r}" for r, n in roles.items())
            + "."
        ]
        missing = [c for c in self.columns if c.missing > 0]
        if missing:
            worst = sorted(missing, key=lambda c: -c.missing)[:5]
            lines.append(
                "Missing values in "
                + ", ".join(f"{c.name} ({c.missing:.1%})" for c in worst)
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                + "."
            )
        far = [c for c in self.columns if c.outliers and c.outliers.mad]
        if far:
            top = sorted(far, key=lambda c: -c.outliers.mad if c.outliers else 0)[:5]
            lines.append(
                "Most values beyond 3 MAD: "
                + ", ".join(f"{c.name} ({c.outliers.mad:,})" for c in top if c.outliers)
                + "."
            )
        if self.strong_pairs:
            a, b, r = self.strong_pairs[0]
            lines.append(
                f"{len(self.strong_pairs)} strongly correlated pair(s), such as {a} ~ {b} "
                f"(r = {r:.2f})."
            )
        lines.append(f"{self.duplicate_rows:,} duplicate row(s).")
        if self.time is not None:
            t = self.time
            lines.append(
                f"Time column {t.column}: {t.start} to {t.end}, step {t.step_text}"
                f"{'' if t.regular else ' (irregular)'}, {t.n_gaps} gap(s)"
                + (f"; seasons: {'; '.join(t.seasons_text())}" if t.seasons_text() else "")
                + "."
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    # -- the page ---------------------------------------------------------------

    def to_html(self) -> str:
        """The self-contained HTML page: opens offline, loads nothing from the network."""
        from anomalyzer.version import __version__

        sections = []
        views = [fig for fig in self.figures.get("columns", [])]
        if views:
            sections.append(
                Section(
                    "column-views",
                    "Distributions",
                    "Per numeric column a box plot (whiskers at 1.5 IQR, the points beyond "
                    "drawn in red) above its histogram; per categorical column the counts of "
                    "its most common levels.",
                    views,
                )
            )
        if "correlations" in self.figures:
            pairs = ", ".join(f"{a} ~ {b} ({r:+.2f})" for a, b, r in self.strong_pairs)
            sections.append(
                Section(
                    "correlations",
                    "Correlations",
                    "Pearson correlation of every pair of numeric columns.",
                    [self.figures["correlations"]],
                    wide=True,
                    note=f"Strongly correlated (|r| ≥ {STRONG_CORRELATION}): {pairs}."
                    if pairs
                    else f"No pair correlates at |r| ≥ {STRONG_CORRELATION}.",
                )
            )
        if "time" in self.figures:
            sections.append(
                Section(
                    "time",
                    "Over time",
                    "Each numeric column's mean per time bucket"
                    + (", one line per series" if self.time and self.time.group else "")
                    + ".",
                    [self.figures["time"]],
                    wide=True,
                )
            )
        content = {
            "title": f"Exploration of {self.source}",
            "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "sampling_note": "",
            "summary": self._cards(),
        }
        return _template(_PAGE).render(
            c=content,
            head=_HEAD,
            rows=[_row(c) for c in self.columns],
            sections=_sections(sections),
            time_title=self.time.column if self.time else "",
            time_lines=self._time_lines(),
            duplicate_lines=self._duplicate_lines(),
            version=__version__,
            style=Markup(STYLE),
            series_style=Markup(_EXPLORE_STYLE),
            sorter=Markup(SORTER),
            plotly_js=Markup(_plotly_js()),
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the HTML page to ``path`` (never over an input) and return the path."""
        path = check_destination(Path(path), "report")
        if self.source_path is not None and path.resolve() == self.source_path.resolve():
            raise AnomalyzerError(
                f"Cannot write the report to '{path}': it is the data file explored; "
                "give another file name."
            )
        return write_page(self.to_html(), path)

    def _cards(self) -> list[tuple[str, str]]:
        cells = self.n_rows * max(1, len(self.columns))
        missing = sum(c.missing * self.n_rows for c in self.columns)
        cards = [
            ("data", self.source.replace("\\", "/").rsplit("/", 1)[-1]),
            ("rows", f"{self.n_rows:,}"),
            ("columns", f"{len(self.columns)}"),
            ("numeric", str(sum(c.role == "numeric" for c in self.columns))),
            ("categorical", str(sum(c.role in ("categorical", "boolean") for c in self.columns))),
            ("missing cells", f"{missing / cells:.2%}"),
            ("duplicate rows", f"{self.duplicate_rows:,}"),
        ]
        if self.time is not None:
            cards.append(("time step", self.time.step_text))
        return cards

    def _time_lines(self) -> list[str]:
        t = self.time
        if t is None:
            return []
        lines = [
            f"From {t.start} to {t.end}"
            + (f", {t.n_series} series by {t.group}" if t.group else "")
            + ".",
            f"Step: {t.step_text}"
            + (
                " (regular: most timestamps are one step apart)."
                if t.regular
                else " (irregular timestamps: rows arrive as events; seasons are searched "
                "in the number of rows per bucket)."
            ),
        ]
        if t.n_gaps:
            shown = "; ".join(f"{a} to {b} ({d})" for a, b, d in t.gaps)
            lines.append(f"{t.n_gaps} gap(s) without rows; the longest: {shown}.")
        else:
            lines.append("No gap: no stretch without rows longer than two steps.")
        seasons = t.seasons_text()
        lines.append("Seasons: " + "; ".join(seasons) + "." if seasons else "No season found.")
        lines += t.notes
        return lines

    def _duplicate_lines(self) -> list[str]:
        share = self.duplicate_rows / max(self.n_rows, 1)
        lines = [f"{self.duplicate_rows:,} row(s) ({share:.2%}) repeat an earlier row exactly."]
        for name, k in self.duplicate_ids.items():
            lines.append(f"Identifier column {name}: {k:,} value(s) appear more than once.")
        return lines


def _number(value: float | None) -> tuple[str, str]:
    if value is None:
        return "", ""
    return f"{value:.4g}", repr(float(value))


def _count(value: int | None) -> tuple[str, str]:
    if value is None:
        return "", ""
    return f"{value:,}", str(int(value))


def _row(c: ColumnProfile) -> list[tuple[str, str]]:
    o = c.outliers
    note = c.reason
    if c.top_levels and c.role != "numeric":
        k, n = c.top_levels[0]
        note = f"most common: {k} ({n:,})" + (f"; {c.reason}" if c.reason else "")
    return [
        (c.name, ""),
        (c.role, ""),
        (f"{c.missing:.1%}", repr(c.missing)),
        _count(c.distinct),
        _number(c.mean),
        _number(c.std),
        _number(c.min),
        _number(c.median),
        _number(c.max),
        _count(o.z if o else None),
        _count(o.iqr if o else None),
        _count(o.mad if o else None),
        (note, ""),
    ]
