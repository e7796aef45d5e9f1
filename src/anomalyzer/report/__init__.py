"""A self-contained HTML report of a detection: ``write_report(result, path)``.

The page holds a summary, the score distribution with the threshold, a
sortable table of the top anomalies with their reasons, where the anomalies
sit in the columns that matter most, all rows in two dimensions, and, when
there is a label column, ROC and precision-recall curves and the confusion
matrix; when there is a date column, the rows over time. plotly.js is embedded
once, so the file opens offline; figures draw binned or sampled data, so the
report of a million rows stays a few megabytes.

A series detection (``anomalyzer.detect(df, time=...)``) gets a time view
instead: each series with its expected band, flagged points and periods,
labelled windows and filled gaps above its anomaly score, the top flagged
points and the data defects handled (see :mod:`anomalyzer.report.timeview`).

>>> import tempfile, pandas as pd
>>> import anomalyzer as az
>>> df = pd.DataFrame({"x": [1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 9.0] * 3, "k": list("aab") * 7})
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_report(az.detect(df, "mad"), f"{tmp}/report.html")
...     html = path.read_text(encoding="utf-8")
>>> "Top anomalies" in html, html.count("Plotly.newPlot(") >= 3
(True, True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from anomalyzer.destinations import check_destination, write_page
from anomalyzer.errors import AnomalyzerError
from anomalyzer.result import DetectionResult

if TYPE_CHECKING:
    from anomalyzer.report.timeview import SeriesLike

__all__ = ["build_report", "write_report"]


def build_report(
    result: DetectionResult | SeriesLike,
    *,
    label: str | None = None,
    time: str | None = None,
    source: str | None = None,
) -> str:
    """The HTML page of ``result`` as text (see :func:`write_report`)."""
    from anomalyzer.report.content import collect
    from anomalyzer.report.render import render, render_series
    from anomalyzer.report.timeview import collect_series, is_series_result

    # Duck typing: a series result is whatever has the points table and the scored rows.
    if is_series_result(result):
        return render_series(collect_series(result, label=label, time=time, source=source))
    if not isinstance(result, DetectionResult):
        raise AnomalyzerError(
            "A report needs the DetectionResult of anomalyzer.detect (or its series result), "
            f"not a {type(result).__name__}."
        )
    return render(collect(result, label=label, time=time, source=source))


def write_report(
    result: DetectionResult | SeriesLike,
    path: str | os.PathLike[str],
    *,
    label: str | None = None,
    time: str | None = None,
    source: str | None = None,
) -> Path:
    """Write the HTML report of ``result`` to ``path`` and return the path.

    ``label`` names a 0/1 (or two-valued) column of the data to evaluate the
    scores against; by default the model's label column, if it was fitted
    with one. ``time`` names the date column of the over-time view; by default
    the first date column used as a feature. ``source`` is shown as the data's
    name in the title.

    ``result`` may also be a series detection (anything with ``points`` and
    ``frame``, as ``anomalyzer.detect(df, time=...)`` returns): the page is then
    its time view. ``label`` names the 0/1 column of its points shaded as
    labelled windows (``label`` by default), and ``time`` may only repeat the
    time column the series were detected along.
    """
    path = check_destination(Path(path), "report")
    html = build_report(result, label=label, time=time, source=source)
    return write_page(html, path)
