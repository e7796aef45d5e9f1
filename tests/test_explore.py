"""az.explore on the example files and the network-intrusion table: profiles, counts, page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import anomalyzer as az
from anomalyzer.errors import AnomalyzerError
from anomalyzer.explore.columns import outlier_counts

ROOT = Path(__file__).resolve().parents[1]
TRANSACTIONS = ROOT / "examples" / "transactions.csv"
METRICS = ROOT / "examples" / "server_metrics.csv"
INTRUSION = ROOT.parent / "shared" / "data" / "cases" / "network_intrusion.csv.gz"


def test_outlier_rules_on_known_values():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, 2000), [12.0, -15.0, 30.0]]
    counts = outlier_counts(x)
    # All three far values pass every rule; the normal bulk adds only a few
    # beyond 1.5 IQR (about 0.7% of normal data) and fewer beyond 3 SD / 3 MAD.
    assert counts.z >= 3 and counts.mad >= 3 and counts.iqr >= 3
    assert counts.z <= 10 and counts.mad <= 12 and 5 <= counts.iqr <= 40
    # A column that is mostly one value still counts its far values (MAD is zero).
    assert outlier_counts(np.r_[np.zeros(95), 1, 1, 1, 1, 50.0]).mad == 1


def test_transactions_profile():
    df = pd.read_csv(TRANSACTIONS)
    before = df.copy()
    report = az.explore(df, label="is_fraud")
    pd.testing.assert_frame_equal(df, before)  # the input is left alone
    frame = report.to_frame()
    assert frame.loc["transaction_id", "role"] == "id"
    assert frame.loc["amount", "role"] == "numeric"
    assert frame.loc["country", "role"] == "categorical"
    assert frame.loc["is_fraud", "role"] == "label"
    # Missing shares match pandas' own count.
    assert frame.loc["note", "missing"] == pytest.approx(df["note"].isna().mean())
    amount = df["amount"].to_numpy()
    assert frame.loc["amount", "median"] == pytest.approx(np.median(amount))
    assert frame.loc["amount", "beyond_z3"] == int(
        (np.abs(amount - amount.mean()) > 3 * amount.std()).sum()
    )
    assert frame.loc["amount", "beyond_mad"] > frame.loc["amount", "beyond_z3"]
    assert report.duplicate_rows == 0
    # Timestamps of events: irregular, with the daily rhythm of the row counts found.
    t = report.time
    assert t is not None and t.column == "timestamp" and not t.regular
    assert any(96 in p for p in t.periods.values())  # 96 buckets of 15 min: a day
    assert "timestamp" in report.summary()


def test_server_metrics_time_profile():
    report = az.explore(METRICS)
    t = report.time
    assert t is not None
    assert t.group == "host" and t.n_series == 5
    assert t.step == pd.Timedelta("5min") and t.regular and t.n_gaps == 0
    assert 288 in t.periods["cpu"]  # a daily season of five-minute points
    assert report.strong_pairs[0][:2] == ("cpu", "mem")


def test_gaps_are_found_and_time_can_be_named():
    t = pd.date_range("2026-01-01", periods=500, freq="1min")
    df = pd.DataFrame({"when": t.astype(str), "v": np.arange(500.0) % 7}).drop(
        index=range(200, 260)
    )
    report = az.explore(df, time="when")
    assert report.time.n_gaps == 1
    start, end, _ = report.time.gaps[0]
    assert end - start == pd.Timedelta("61min")


def test_duplicates_are_counted():
    df = pd.DataFrame({"id": ["a", "b", "b", "c"] * 10, "x": [1.0, 2.0, 2.0, 3.0] * 10})
    report = az.explore(df, roles={"id": "id"})
    assert report.duplicate_rows == 37
    assert report.duplicate_ids == {"id": 40}


def test_unknown_time_column_is_one_sentence():
    with pytest.raises(AnomalyzerError, match="Column 'when' given as time="):
        az.explore(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), time="when")


def test_report_never_overwrites_its_input(tmp_path):
    data = tmp_path / "t.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}).to_csv(data, index=False)
    with pytest.raises(AnomalyzerError):
        az.explore(data).write(data)
    assert data.read_text().startswith("x")


@pytest.mark.skipif(not INTRUSION.exists(), reason=f"{INTRUSION} is missing (../shared/data)")
def test_network_intrusion_table(tmp_path):
    report = az.explore(INTRUSION)
    frame = report.to_frame()
    assert report.n_rows == 23_876
    assert {"protocol_type", "service", "flag"} <= set(frame.index[frame["role"] == "categorical"])
    assert frame.loc["num_outbound_cmds", "role"] == "constant"
    assert frame.loc["src_bytes", "beyond_iqr"] > 0
    assert report.time is None
    path = report.write(tmp_path / "explore.html")
    html = path.read_text(encoding="utf-8")
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html
    assert html.count('class="plotly-graph-div"') >= 30
    assert "protocol_type" in html
