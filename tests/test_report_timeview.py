"""The report's time view of a series detection: figures, reduction, page and table.

Series results are stood in for by a namespace with the documented parts
(``points``, ``frame``, ``notes``, ``model``), so the view is tested apart
from any series detector; one test reports a real series detection.
"""

from __future__ import annotations

import base64
import json
import re
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

import anomalyzer as az
from anomalyzer.errors import AnomalyzerError
from anomalyzer.report import build_report, write_report
from anomalyzer.report.timeview import (
    MAX_SERIES,
    keep_points,
    line_limit,
    series_figure,
    to_ms,
)

HOUR = 3_600_000.0


def points_table(
    n: int = 400,
    *,
    spikes: tuple[int, ...] = (100, 101, 103, 300),
    gaps: tuple[tuple[int, int], ...] = ((200, 204),),
    windows: tuple[tuple[int, int], ...] = ((98, 105),),
    start: str = "2024-03-01",
    tz: str | None = None,
    group: object = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One hourly series with a daily season, as a series result's points table."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=n, freq="h", tz=tz)
    expected = 50 + 10 * np.sin(np.arange(n) / 24 * 2 * np.pi)
    cpu = expected + rng.normal(0, 1, n)
    flags = np.zeros(n, dtype=bool)
    for i in spikes:
        cpu[i] += 30
        flags[i] = True
    observed = np.ones(n, dtype=bool)
    for a, b in gaps:
        observed[a : b + 1] = False
        cpu[a : b + 1] = np.interp(np.arange(a, b + 1), [a - 1, b + 1], cpu[[a - 1, b + 1]])
    label = np.zeros(n, dtype=int)
    for a, b in windows:
        label[a : b + 1] = 1
    lower, upper = expected - 4, expected + 4
    lower[:24] = upper[:24] = np.nan  # no band while the detector warms up
    score = np.abs(cpu - expected)
    score[~observed] = 0.0
    out = pd.DataFrame(
        {
            "timestamp": t,
            "cpu": cpu,
            "expected_cpu": expected,
            "lower_cpu": lower,
            "upper_cpu": upper,
            "anomaly_score": score,
            "is_anomaly": flags,
            "observed": observed,
            "label": label,
        }
    )
    if group is not None:
        out.insert(0, "group", group)
    return out


def stand_in(points: pd.DataFrame, *, notes: list[str] | None = None, **model: object):
    """A series result as the report reads it."""
    grouped = "group" in points.columns
    rows = points[points["observed"]].rename(columns={"timestamp": "when"})
    frame = rows[[*(["group"] if grouped else []), "when", "cpu", "anomaly_score", "is_anomaly"]]
    frame = frame.rename(columns={"group": "host"}).reset_index(drop=True)
    frame["anomaly_rank"] = frame["anomaly_score"].rank(ascending=False, method="first")
    frame["anomaly_reason"] = np.where(
        frame["is_anomaly"],
        [f"cpu = {v:.1f} is far above its usual level" for v in frame["cpu"]],
        "",
    )
    spec = {"detector": "stl", "channels": ["cpu"], "time": "when",
            "group": "host" if grouped else None, "threshold": 8.0, **model}  # fmt: skip
    return SimpleNamespace(
        points=points,
        frame=frame,
        notes=notes if notes is not None else [],
        model=SimpleNamespace(**spec),
    )


def trace(fig, group: str, *, row_axis: str = "y"):
    """The trace of ``group`` (a legend group) drawn on the axis ``row_axis``."""
    found = [t for t in fig.data if t.legendgroup == group and (t.yaxis or "y") == row_axis]
    assert len(found) == 1, [(t.name, t.legendgroup, t.yaxis) for t in fig.data]
    return found[0]


def spans_of(shade) -> list[tuple[float, float]]:
    """The (start, end) of each span of a shading trace."""
    x = list(shade.x)
    return [(x[i], x[i + 2]) for i in range(0, len(x), 6)]


def test_figure_has_series_band_flags_windows_and_gaps_at_their_times():
    pts = points_table()
    fig = series_figure(pts, ["cpu"], title="cpu", threshold=8.0, label="label")
    x = to_ms(pts["timestamp"])
    assert x[1] - x[0] == HOUR and x[0] == pd.Timestamp("2024-03-01").value / 1e6

    line = trace(fig, "series-cpu")
    np.testing.assert_array_equal(np.asarray(line.x), x)
    # The line breaks where the gap was filled.
    y = np.asarray(line.y, dtype=float)
    assert np.isnan(y[200:205]).all() and np.isfinite(y[195:200]).all()

    lower, upper = (t for t in fig.data if t.legendgroup == "band" and (t.yaxis or "y") == "y")
    assert upper.fill == "tonexty" and upper.name == "expected band"
    np.testing.assert_allclose(np.asarray(upper.y, dtype=float), pts["upper_cpu"], equal_nan=True)
    np.testing.assert_allclose(np.asarray(lower.y, dtype=float), pts["lower_cpu"], equal_nan=True)
    assert trace(fig, "expected").name == "expected"

    flagged = trace(fig, "flagged")
    assert flagged.mode == "markers" and flagged.marker.color == "#E45756"
    np.testing.assert_array_equal(np.asarray(flagged.x), x[[100, 101, 103, 300]])
    np.testing.assert_allclose(np.asarray(flagged.y), pts["cpu"].to_numpy()[[100, 101, 103, 300]])

    half = HOUR / 2
    # 100, 101 and 103 are one period (one point apart), 300 another.
    periods = trace(fig, "periods")
    assert spans_of(periods) == [(x[100] - half, x[103] + half), (x[300] - half, x[300] + half)]
    windows = trace(fig, "labels")
    assert windows.showlegend and windows.name == "labelled windows (1)"
    assert spans_of(windows) == [(x[98] - half, x[105] + half)]
    gaps = trace(fig, "gaps")
    assert gaps.showlegend and spans_of(gaps) == [(x[200] - half, x[204] + half)]
    # Different colours for the three kinds of span.
    assert len({periods.fillcolor, windows.fillcolor, gaps.fillcolor}) == 3

    # The score below, on its own axis sharing the time axis, with the threshold.
    score = trace(fig, "score", row_axis="y2")
    np.testing.assert_allclose(np.asarray(score.y), pts["anomaly_score"])
    threshold = trace(fig, "threshold", row_axis="y2")
    assert list(threshold.y) == [8.0, 8.0]
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"
    assert fig.layout.xaxis.type == "date" and fig.layout.xaxis2.type == "date"


def test_figure_without_band_label_or_threshold_draws_what_there_is():
    pts = points_table(gaps=(), windows=()).drop(columns=["label", "lower_cpu", "upper_cpu"])
    fig = series_figure(pts, ["cpu"], title="cpu", threshold=None, label="label")
    groups = {t.legendgroup for t in fig.data}
    assert {"series-cpu", "expected", "flagged", "periods", "score"} <= groups
    assert not groups & {"band", "labels", "gaps", "threshold"}


def test_several_channels_get_a_panel_each_above_one_score_panel():
    pts = points_table(gaps=(), windows=())
    pts["mem"] = pts["cpu"] * 2
    pts["expected_mem"] = pts["expected_cpu"] * 2
    fig = series_figure(pts, ["cpu", "mem"], title="two", threshold=8.0)
    assert trace(fig, "series-cpu").yaxis == "y" and trace(fig, "series-mem", row_axis="y2")
    assert trace(fig, "score", row_axis="y3").name == "anomaly score"
    np.testing.assert_allclose(
        np.asarray(trace(fig, "flagged", row_axis="y2").y),
        pts["mem"].to_numpy()[[100, 101, 103, 300]],
    )
    # One legend entry per kind of trace, whatever the number of panels.
    shown = [t.legendgroup for t in fig.data if t.showlegend is not False]
    assert len(shown) == len(set(shown))


def test_time_zone_aware_times_are_drawn_at_local_wall_clock_time():
    pts = points_table(n=100, tz="America/New_York", spikes=(50,), gaps=(), windows=())
    fig = series_figure(pts, ["cpu"], title="cpu")
    first = np.asarray(trace(fig, "series-cpu").x)[0]
    assert first == pd.Timestamp("2024-03-01 00:00").value / 1e6
    assert fig.layout.xaxis2.title.text == "timestamp (America/New_York)"


def test_reduction_keeps_every_flagged_point_and_the_band_outline():
    n = 40_000
    spikes = tuple(range(1_000, n, 3_777))
    pts = points_table(n, spikes=spikes, gaps=((20_000, 20_050),), windows=())
    fig = series_figure(pts, ["cpu"], title="cpu", limit=4_000)
    line = trace(fig, "series-cpu")
    drawn = np.asarray(line.x)
    assert 1_000 < drawn.size <= 4_000
    x = to_ms(pts["timestamp"])
    # Every flagged point is on the line and marked.
    assert set(x[list(spikes)]) <= set(drawn)
    assert len(trace(fig, "flagged").x) == len(spikes)
    # The drawn band reaches the same extremes as the full one.
    lower, upper = (t for t in fig.data if t.legendgroup == "band" and (t.yaxis or "y") == "y")
    assert np.nanmax(np.asarray(upper.y, float)) == np.nanmax(pts["upper_cpu"])
    assert np.nanmin(np.asarray(lower.y, float)) == np.nanmin(pts["lower_cpu"])
    # The line still breaks at the gap.
    y = np.asarray(line.y, dtype=float)
    inside = (drawn >= x[20_000]) & (drawn <= x[20_050])
    assert inside.any() and np.isnan(y[inside]).all()


def test_keep_points_short_series_untouched_long_ones_bounded():
    curve = np.arange(100.0)
    assert keep_points([curve], np.array([5]), 1_000).tolist() == list(range(100))
    rng = np.random.default_rng(1)
    curves = [rng.normal(size=200_000) for _ in range(4)]
    flagged = rng.choice(200_000, size=300, replace=False)
    drawn = keep_points(curves, flagged, 3_000)
    assert drawn.size <= 3_000 and set(flagged) <= set(drawn.tolist())
    assert np.all(np.diff(drawn) > 0)
    # More flagged points than the limit: all of them still.
    assert keep_points([curves[0]], np.arange(0, 200_000, 50), 1_000).size >= 4_000


def test_page_is_self_contained_and_holds_the_time_view(tmp_path):
    notes = ["5 missing timestamps filled by interpolation", "2 duplicate timestamps averaged"]
    result = stand_in(points_table(), notes=notes, periods={None: [24]})
    path = write_report(result, tmp_path / "series.html", source="data/cpu.csv")
    html = path.read_text(encoding="utf-8")
    library = get_plotlyjs()
    assert html.count(library[:200]) == 1
    rest = html.replace(library, "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", rest)
    assert "cdn.plot.ly" not in rest and "<script src" not in rest

    ids = set(re.findall(r'<section id="([a-z-]+)"', html))
    assert {"summary", "timeview", "top", "notes"} <= ids
    assert "columns-used" not in ids
    assert html.count("Plotly.newPlot(") == 1 == len(re.findall(r'class="plotly-graph-div"', html))
    assert '"name":"expected band"' in html and '"name":"labelled windows (1)"' in html
    assert "period: 24 (1 day)" in html
    assert "1 series of cpu: 400 points, one every 1 h, from 2024-03-01 00:00" in html
    for note in notes:
        assert f"<li>{note}</li>" in html
    assert "Every figure draws every point." in html
    assert "cpu.csv" in html and "stl" in html


def test_top_table_lists_flagged_points_with_their_reasons():
    pts = points_table()
    html = build_report(stand_in(pts))
    body = html[html.index('id="top-table"') :]
    body = body[: body.index("</table>")]
    head = re.findall(r'<th scope="col">([^<]*)</th>', body)
    assert head == ["rank", "when", "cpu", "score", "label", "reason"]
    rows = body.split("<tr>")[2:]
    assert len(rows) == 4
    # Highest score first: the spikes, each with the reason of the user's row.
    stamps = re.findall(r'data-value="(\d{13}\.0)"', body)
    times = [pd.Timestamp(int(float(v)), unit="ms") for v in stamps]
    expected = pts.loc[pts["is_anomaly"]].sort_values("anomaly_score", ascending=False)
    assert times == list(expected["timestamp"])
    assert body.count("is far above its usual level") == 4
    assert "All 4 flagged points, highest score first." in html


def test_reasons_found_for_rows_written_in_another_zone_and_off_the_grid():
    result = stand_in(points_table(tz="Europe/Paris"))
    shifted = result.frame["when"].dt.tz_convert("UTC") + pd.Timedelta("7min")
    result.frame["when"] = shifted.astype(str)  # as read from a file: text, in UTC
    html = build_report(result)
    body = html[html.index('id="top-table"') : html.index("</table>")]
    assert body.count("is far above its usual level") == 4


def test_no_flagged_point_lists_the_highest_scores():
    pts = points_table(spikes=(), windows=()).drop(columns=["label"])
    html = build_report(stand_in(pts))
    assert "No point was flagged; the 10 highest-scoring points." in html
    body = html[html.index('id="top-table"') : html.index("</table>")]
    assert len(body.split("<tr>")) - 2 == 10
    assert '"name":"flagged' not in html


def test_many_series_plots_the_most_flagged_twelve_and_says_how_many_are_not():
    parts = [
        points_table(
            120, spikes=tuple(range(10, 10 + k)), gaps=(), windows=(), group=f"host-{k:02d}"
        )
        for k in range(20)
    ]
    result = stand_in(pd.concat(parts, ignore_index=True))
    html = build_report(result)
    assert html.count("Plotly.newPlot(") == MAX_SERIES
    titles = re.findall(r'"text":"host = (host-\d\d)"', html)
    assert titles == [f"host-{k:02d}" for k in range(19, 19 - MAX_SERIES, -1)]
    hidden = sum(range(20 - MAX_SERIES))
    assert (
        f"Shown: the {MAX_SERIES} series with the most flagged points; {20 - MAX_SERIES} more "
        f"series ({hidden} flagged points in all) are not shown"
    ) in html
    # The table covers every series, hidden ones included, with the group column.
    assert "host-19" in html[html.index('id="top-table"') :]
    assert '<th scope="col">host</th>' in html


def test_big_series_report_stays_small():
    n = 20_000
    result = stand_in(points_table(n, spikes=tuple(range(500, n, 997)), windows=((700, 760),)))
    html = build_report(result)
    size = len(html.encode())
    small = len(build_report(stand_in(points_table(400))).encode())
    assert size - small < 1.5e6, (size, small)
    assert f"longer than {line_limit(1, 1):,} points (up to 20,000)" in html


def test_bad_series_results_are_refused():
    result = stand_in(points_table())
    with pytest.raises(AnomalyzerError, match="label column 'nope'"):
        build_report(result, label="nope")
    with pytest.raises(AnomalyzerError, match="detected along 'when'"):
        build_report(result, time="other")
    broken = stand_in(points_table())
    broken.points = broken.points.drop(columns=["anomaly_score"])
    with pytest.raises(AnomalyzerError, match="anomaly_score"):
        build_report(broken)


def plotted(html: str) -> list[list[dict]]:
    """The traces of each figure of a page, typed arrays decoded to numpy."""
    out = []
    decoder = json.JSONDecoder()
    for call in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", html):
        traces, _ = decoder.raw_decode(html, call.end())
        for t in traces:
            for key, value in t.items():
                if isinstance(value, dict) and "bdata" in value:
                    t[key] = np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
        out.append(traces)
    return out


def test_report_of_a_real_series_detection(tmp_path):
    rng = np.random.default_rng(0)
    n = 24 * 21
    t = pd.date_range("2024-05-01", periods=n, freq="h")
    cpu = 100 + 20 * np.sin(np.arange(n) / 24 * 2 * np.pi) + rng.normal(0, 1.5, n)
    cpu[300] += 60
    result = az.detect(pd.DataFrame({"timestamp": t, "cpu": cpu}), time="timestamp")
    html = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<section id="timeview">' in html and "1 series of cpu: 504 points" in html
    (traces,) = plotted(html)
    by_group = {tr.get("legendgroup"): tr for tr in traces if tr.get("yaxis", "y") == "y"}
    band = by_group["band"]
    assert band["name"] == "expected band" and band["fill"] == "tonexty"
    assert np.isfinite(band["y"]).sum() > n // 2
    spike = to_ms(pd.Series(t[[300]]))[0]
    flagged = by_group["flagged"]
    assert spike in flagged["x"]
    assert flagged["y"][list(flagged["x"]).index(spike)] == pytest.approx(cpu[300])
    body = html[html.index('id="top-table"') : html.index("</table>")]
    assert "2024-05-13 12:00:00" in body


_DRAWN_JS = """
var div = document.querySelector('#timeview .js-plotly-plot');
if (!div || !div._fullData) { return null; }
return {
  names: div._fullData.map(function (t) { return t.name; }),
  lines: div.querySelectorAll('.scatterlayer .trace .js-line').length,
  points: div.querySelectorAll('.scatterlayer .trace .point').length,
  fills: div.querySelectorAll('.scatterlayer .trace .js-fill').length,
  height: div.getBoundingClientRect().height
};
"""


def test_time_view_renders_in_a_browser(tmp_path):
    import browser_helpers

    browser_helpers.require()
    path = write_report(stand_in(points_table()), tmp_path / "series.html")
    with browser_helpers.chromium(tmp_path / "profile") as driver:
        driver.get(path.as_uri())
        deadline = time.monotonic() + 60
        drawn = None
        while time.monotonic() < deadline and not (drawn and drawn["lines"]):
            time.sleep(0.3)
            drawn = driver.execute_script(_DRAWN_JS)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert drawn is not None and drawn["height"] > 300
    assert "cpu" in drawn["names"] and "expected band" in drawn["names"]
    # Series, band, expected and score lines; flagged markers; band and span fills.
    assert drawn["lines"] >= 4 and drawn["points"] >= 8 and drawn["fills"] >= 4
