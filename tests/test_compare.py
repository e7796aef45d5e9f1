"""Comparing detectors on labelled data: ranking, failures, time budget, progress."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from conftest import planted

from anomalyzer.detectors import statistical
from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate import compare
from anomalyzer.evaluate.compare import COLUMNS

# Detectors that are quick on a few hundred rows.
CHOSEN = ["zscore", "mad", "iqr", "hbos", "iforest"]


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    X, y = planted(n=300, d=3, n_out=12, seed=3)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["is_fraud"] = np.where(y == 1, "fraud", "ok")
    return df


def test_table_is_sorted_by_ap_with_every_detector(labelled):
    table = compare(labelled, "is_fraud", CHOSEN)
    assert list(table.columns) == list(COLUMNS)
    assert sorted(table["detector"]) == sorted(CHOSEN)
    assert (table["status"] == "ok").all()
    assert table["ap"].is_monotonic_decreasing
    assert table["ap"].between(0, 1).all() and table["roc_auc"].between(0, 1).all()
    # The planted anomalies are far out: the best detector finds them.
    assert table["roc_auc"].iloc[0] > 0.9
    assert (table["fit_seconds"] > 0).all() and (table["score_seconds"] > 0).all()
    assert str(table["n_flagged"].dtype) == "Int64"
    assert labelled["is_fraud"].eq("fraud").sum() == 12  # the input is left alone


def test_a_detector_that_raises_gets_an_error_row(labelled, monkeypatch):
    def broken(self, X):
        raise RuntimeError("scores went\nmissing")

    monkeypatch.setattr(statistical.MAD, "_score", broken)
    table = compare(labelled, "is_fraud", ["mad", "zscore", "iqr"])
    assert table["detector"].tolist()[-1] == "mad"
    row = table.set_index("detector").loc["mad"]
    assert row["status"] == "error: RuntimeError: scores went missing"
    assert np.isnan(row["ap"]) and pd.isna(row["n_flagged"])
    assert (table.loc[table["detector"] != "mad", "status"] == "ok").all()


def test_a_slow_detector_is_over_budget_and_the_rest_go_on(labelled, monkeypatch):
    release = threading.Event()
    fit = statistical.ZScore._fit

    def slow_fit(self, X):
        release.wait(timeout=30)
        fit(self, X)

    monkeypatch.setattr(statistical.ZScore, "_fit", slow_fit)
    try:
        table = compare(labelled, "is_fraud", ["zscore", "mad"], time_budget=0.5)
    finally:
        release.set()  # let the abandoned worker finish now
    row = table.set_index("detector").loc["zscore"]
    assert row["status"] == "over time budget"
    assert np.isnan(row["fit_seconds"])
    assert table.set_index("detector").loc["mad", "status"] == "ok"
    assert table["detector"].tolist() == ["mad", "zscore"]


def test_progress_is_called_before_each_detector(labelled):
    calls = []
    compare(labelled, "is_fraud", ["mad", "zscore"], progress=lambda *a: calls.append(a))
    assert calls == [("mad", 0, 2), ("zscore", 1, 2)]


def test_reads_a_path_and_takes_labels_as_values(labelled, tmp_path):
    path = tmp_path / "fraud.csv"
    labelled.drop(columns="is_fraud").to_csv(path, index=False)
    labels = (labelled["is_fraud"] == "fraud").to_numpy()
    table = compare(path, labels, "MAD", contamination=0.05)
    assert table["detector"].tolist() == ["mad"]
    assert table["status"].tolist() == ["ok"]
    assert table["n_flagged"].iloc[0] == pytest.approx(0.05 * len(labelled), abs=2)


def test_default_runs_every_available_detector(labelled, monkeypatch):
    from anomalyzer import detectors

    monkeypatch.setattr(detectors, "available", lambda: ["mad", "iqr"])
    assert sorted(compare(labelled, "is_fraud")["detector"]) == ["iqr", "mad"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"label": "missing"}, "Label column 'missing' not found"),
        ({"label": [0, 1]}, "2 value"),
        ({"label": "a"}, "two values"),
        ({"label": "is_fraud", "detectors": ["nope"]}, "Unknown detector"),
        ({"label": "is_fraud", "detectors": []}, "at least one detector"),
        ({"label": "is_fraud", "time_budget": 0}, "time_budget"),
        ({"label": "is_fraud", "contamination": 2.0}, "contamination"),
    ],
)
def test_user_mistakes_fail_before_fitting(labelled, kwargs, words):
    with pytest.raises(AnomalyzerError, match=words):
        compare(labelled, **kwargs)


def test_one_class_labels_fail_before_fitting(labelled):
    df = labelled.assign(is_fraud="ok")
    with pytest.raises(AnomalyzerError, match="needs both normal and anomalous rows"):
        compare(df, "is_fraud", ["mad"])
