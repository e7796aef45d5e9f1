"""Model and detect: from a messy table to scored, flagged, explained rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import anomalyzer as az
from anomalyzer.errors import AnomalyzerError
from anomalyzer.result import OUTPUT_COLUMNS


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({
        "id": [f"row-{i}" for i in range(n)],
        "amount": rng.lognormal(3.5, 0.3, n).round(2),
        "items": rng.poisson(3, n),
        "country": rng.choice(["DE", "FR", "NL"], n),
        "constant": 1.0,
    })  # fmt: skip
    df.loc[5, "amount"] = 4000.0
    df.loc[17, "country"] = "XK"
    df.loc[rng.choice(n, 20, replace=False), "items"] = np.nan
    return df


def test_detect_adds_output_columns_and_keeps_input(table):
    before = table.copy(deep=True)
    result = az.detect(table, "iforest", contamination=0.01)
    pd.testing.assert_frame_equal(table, before)  # the user's frame is untouched
    assert list(result.frame.columns) == [*table.columns, *OUTPUT_COLUMNS]
    pd.testing.assert_frame_equal(result.frame[table.columns], table)
    frame = result.frame
    assert frame["anomaly_rank"].min() == 1
    assert sorted(frame["anomaly_rank"]) == list(range(1, len(table) + 1))
    assert (
        frame.loc[frame["anomaly_rank"] == 1, "anomaly_score"].item()
        == frame["anomaly_score"].max()
    )
    assert frame["is_anomaly"].dtype == bool
    assert result.n_anomalies == int((result.scores > result.threshold).sum())
    assert (result.anomalies["anomaly_reason"] != "").all()


def test_planted_rows_are_flagged_with_reasons(table):
    result = az.detect(table, "mad", contamination=0.01)
    flagged = result.anomalies
    assert 5 in flagged.index
    assert "amount" in flagged.loc[5, "anomaly_reason"]
    assert "x its typical value" in flagged.loc[5, "anomaly_reason"]


def test_rare_category_reason():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"country": rng.choice(["DE", "FR"], 2000), "v": rng.normal(size=2000)})
    df.loc[3, "country"] = "XK"
    result = az.detect(df, "knn")
    assert result.frame.loc[3, "anomaly_rank"] == 1
    assert "country = 'XK'" in result.frame.loc[3, "anomaly_reason"]
    reason = az.Model("knn").fit(df).reasons(df.loc[[3]])[0]
    assert "country = 'XK' occurs in 0.05% of rows" in reason


def test_model_scores_new_rows_and_ignores_id_and_constant(table):
    model = az.Model("knn", contamination=0.02).fit(table)
    assert "id" not in model.schema.features and "constant" not in model.schema.features
    new = pd.DataFrame({"id": ["a", "b"], "amount": [33.0, 9000.0], "items": [3, 2],
                        "country": ["DE", "DE"], "constant": [1.0, 1.0]})  # fmt: skip
    scores = model.score(new)
    assert scores[1] > scores[0]
    assert model.predict(new).tolist() == [False, True]
    contrib = model.explain(new)
    assert list(contrib.columns) == model.schema.features
    assert contrib.loc[1].idxmax() == "amount"


def test_same_seed_same_result(table):
    a = az.detect(table, "iforest", random_state=3).scores
    b = az.detect(table, "iforest", random_state=3).scores
    pd.testing.assert_series_equal(a, b)


def test_detector_params_pass_through(table):
    model = az.Model("knn", n_neighbors=7).fit(table)
    assert model.detector_.n_neighbors == 7
    with pytest.raises(AnomalyzerError, match="no parameter 'depth'"):
        az.Model("knn", depth=3)


def test_label_column_is_not_a_feature(table):
    df = table.assign(is_fraud=0)
    df.loc[5, "is_fraud"] = 1
    model = az.Model("iforest").fit(df, label="is_fraud")
    assert "is_fraud" not in model.schema.features


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"detector": "nope"}, "Unknown detector 'nope'"),
        ({"contamination": 0.7}, "contamination must be"),
        ({"contamination": "lots"}, "contamination must be"),
    ],
)
def test_bad_model_parameters(kwargs, words):
    with pytest.raises(AnomalyzerError, match=words):
        az.Model(**kwargs)


def test_non_binary_label_is_refused(table):
    df = table.assign(kind=np.arange(len(table)) % 3)
    with pytest.raises(AnomalyzerError, match="Label 'kind' must have two values"):
        az.Model("iforest").fit(df, label="kind")


def test_unknown_label_column(table):
    with pytest.raises(AnomalyzerError, match="Label column 'fraud' not found"):
        az.Model("iforest").fit(table, label="fraud")


def test_unfitted_model_says_so():
    with pytest.raises(AnomalyzerError, match="not fitted"):
        az.Model("iforest").score(pd.DataFrame({"x": [1.0]}))


def test_output_column_names_do_not_overwrite_user_columns():
    df = pd.DataFrame({"anomaly_score": np.arange(50.0), "x": np.r_[np.zeros(49), 9.0]})
    frame = az.detect(df, "mad").frame
    assert "anomaly_score_input" in frame.columns
    np.testing.assert_array_equal(frame["anomaly_score_input"], np.arange(50.0))
