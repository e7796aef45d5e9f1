"""The HTML report: self-contained, complete, escaped, and small for big tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

import anomalyzer as az
from anomalyzer.errors import AnomalyzerError
from anomalyzer.report import build_report, write_report
from anomalyzer.report.content import MAX_TABLE_ROWS, input_frame, rank_columns
from anomalyzer.result import DetectionResult, scored_frame


def table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "id": [f"R{i:07d}" for i in range(n)],
            "when": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 90, n), "D")
            ).astype(str),
            "amount": rng.lognormal(3, 0.5, n).round(2),
            "distance": rng.gamma(2.0, 4.0, n).round(1),
            "shop": rng.choice(["north", "south", "east", "west"], n),
            "online": rng.choice([True, False], n),
            "fraud": 0,
        }
    )
    out = rng.choice(n, size=max(3, n // 100), replace=False)
    df.loc[out, "amount"] *= 60
    df.loc[out[:2], "shop"] = "<script>alert(1)</script>"
    df.loc[out, "fraud"] = 1
    return df


@pytest.fixture(scope="module")
def result() -> DetectionResult:
    return az.detect(table(), "iforest", label="fraud", contamination=0.01)


@pytest.fixture(scope="module")
def html(result) -> str:
    return build_report(result, source="data/table.csv")


def test_report_is_one_self_contained_file(result, tmp_path):
    path = write_report(result, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    # plotly.js inline, once; apart from it, nothing refers to the network.
    library = get_plotlyjs()
    assert text.count(library[:200]) == 1
    rest = text.replace(library, "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", rest)
    assert "cdn.plot.ly" not in rest and "<script src" not in rest
    assert text.count("Plotly.newPlot(") == len(re.findall(r'class="plotly-graph-div"', text))


def test_report_has_every_section(html):
    ids = set(re.findall(r'<section id="([a-z-]+)"', html))
    assert {"summary", "scores", "top", "columns", "projection", "labels", "time"} <= ids
    assert "ROC curve" in html and "Confusion matrix" in html
    assert "Over time (when)" in html
    for words in ("rows", "columns used", "detector", "threshold", "flagged", "1,500", "table.csv"):
        assert words in html


def test_top_table_rows_ranked_with_reasons(result, html):
    body = html[html.index('id="top-table"') :]
    body = body[: body.index("</table>")]
    rows = re.findall(r"<tr[ >]", body)[1:]  # the first is the header
    assert len(rows) == min(MAX_TABLE_ROWS, max(result.n_anomalies, 10))
    top = result.top(3)
    for reason in top["anomaly_reason"]:
        assert str(reason).split(" ")[0] in body
    ranks = re.findall(r'<tr(?: class="flagged")?>\s*<td class="num" data-value="(\d+)"', body)
    assert [int(r) for r in ranks] == list(range(1, len(rows) + 1))


def test_user_text_is_escaped(html):
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "\\u003cscript" in html


def test_columns_ranked_by_contribution(result, html):
    views = html[html.index('<section id="columns"') : html.index('<section id="projection"')]
    assert views.count("Plotly.newPlot(") >= 3
    frame = result.frame
    by_rank = np.argsort(frame["anomaly_rank"].to_numpy())
    ranked = rank_columns(result, input_frame(frame), by_rank, result.n_anomalies)
    # The planted anomalies are in amount: its view comes first.
    assert ranked[0] == "amount"
    assert views.index('"text":"amount"') < views.index('"text":"distance"')


def test_no_label_and_no_dates(tmp_path):
    df = table(400).drop(columns=["when", "fraud"])
    text = build_report(az.detect(df, "mad"))
    ids = set(re.findall(r'<section id="([a-z-]+)"', text))
    assert "labels" not in ids and "time" not in ids
    assert {"summary", "scores", "top", "projection"} <= ids


def test_one_feature_and_no_flags():
    df = pd.DataFrame({"x": np.linspace(0, 1, 200)})
    text = build_report(az.detect(df, "zscore"))
    assert "nothing to project" in text
    assert "No row was flagged" in text


def test_label_with_one_class_is_a_note_not_a_failure():
    df = table(300).assign(fraud=0)
    text = build_report(az.detect(df, "mad", label="fraud"))
    assert "No evaluation" in text


def test_bad_arguments(result, tmp_path):
    with pytest.raises(AnomalyzerError, match="label column 'nope'"):
        build_report(result, label="nope")
    with pytest.raises(AnomalyzerError, match="time column 'nope'"):
        build_report(result, time="nope")
    with pytest.raises(AnomalyzerError, match="directory"):
        write_report(result, tmp_path)
    with pytest.raises(AnomalyzerError, match="does not exist"):
        write_report(result, tmp_path / "no" / "r.html")
    with pytest.raises(AnomalyzerError, match="DetectionResult"):
        build_report("not a result")  # type: ignore[arg-type]


def test_big_table_report_stays_small():
    """Figures sample and bin: 300k rows make a report about as big as 1.5k rows."""
    small = len(build_report(az.detect(table(1500), "mad")))
    big_df = table(300_000, seed=1)
    model = az.Model("mad").fit(big_df.iloc[:5000])
    scores = model.score(big_df)
    flags = scores > model.threshold_
    reasons = {int(i): "planted" for i in np.flatnonzero(flags)[:50]}
    big = DetectionResult(scored_frame(big_df, scores, flags, reasons), model)
    size = len(build_report(big).encode())
    assert size < 20e6
    # The automatic threshold flags about 2.3% of normal rows (2 robust
    # deviations), and flagged rows are listed: hence 3 MB, not less.
    assert size - small < 3e6, (size, small)
