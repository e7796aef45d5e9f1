"""The one scoring path: ``Model.score_frame`` and ``SeriesModel.score_frame``, and ``anomalyzer score`` on both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_ts_model import metrics_frame
from typer.testing import CliRunner

import anomalyzer as az
from anomalyzer import cli
from anomalyzer.scored import OUTPUT_COLUMNS

runner = CliRunner()


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"amount": rng.lognormal(3, 0.3, 400), "kind": rng.choice(["a", "b"], 400)})
    df.loc[7, "amount"] = 5_000.0
    return df


def test_score_frame_matches_detect_on_new_rows(table):
    model = az.Model("mad").fit(table)
    scored = model.score_frame(table)
    assert list(scored.columns) == [*table.columns, *OUTPUT_COLUMNS]
    np.testing.assert_allclose(scored["anomaly_score"], model.score(table))
    assert scored["anomaly_rank"].iloc[7] == 1 and bool(scored["is_anomaly"].iloc[7])
    assert "amount" in scored["anomaly_reason"].iloc[7]
    # Rows not flagged and outside the top ten carry no reason.
    assert (scored["anomaly_reason"] == "").sum() >= len(table) - max(
        10, scored["is_anomaly"].sum()
    )


def test_score_frame_of_an_empty_frame_is_empty(table):
    model = az.Model("iforest").fit(table)
    empty = model.score_frame(table.iloc[:0])
    assert len(empty) == 0
    assert list(empty.columns) == [*table.columns, *OUTPUT_COLUMNS]


def test_score_frame_reports_progress_per_chunk(table):
    seen: list[int] = []
    az.Model("mad").fit(table).score_frame(table, progress=seen.append)
    assert sum(seen) == len(table)


def test_series_score_frame_and_empty(tmp_path):
    data = metrics_frame(n=24 * 15, seed=0, spike=200)
    model = az.SeriesModel("rolling_z").fit(data, "timestamp", value="cpu")
    scored = model.score_frame(data)
    assert list(scored.columns) == [*data.columns, *OUTPUT_COLUMNS]
    assert scored["anomaly_rank"].iloc[200] <= 3
    assert len(model.score_frame(data.iloc[:0])) == 0


def test_cli_score_accepts_a_series_model(tmp_path):
    data = metrics_frame(n=24 * 15, seed=1, spike=150)
    path = tmp_path / "cpu.csv"
    data.to_csv(path, index=False)
    saved = tmp_path / "cpu.azm"
    res = runner.invoke(cli.app, ["detect", str(path), "--time", "timestamp", "--value", "cpu",
                                  "--detector", "rolling_z", "--save", str(saved)])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = tmp_path / "scored.csv"
    res = runner.invoke(cli.app, ["score", str(saved), str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "rolling_z" in res.stdout and "per series" in res.stdout
    scored = pd.read_csv(out)
    assert len(scored) == len(data) and scored["anomaly_rank"].iloc[150] <= 3


def test_cli_score_table_model_uses_the_scoring_path(table, tmp_path):
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    saved = tmp_path / "t.azm"
    az.Model("mad").fit(table).save(saved)
    out = tmp_path / "scored.csv"
    res = runner.invoke(cli.app, ["score", str(saved), str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    expected = az.load(saved).score_frame(pd.read_csv(data))
    got = pd.read_csv(out, keep_default_na=False)
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"])
    assert got["anomaly_reason"].tolist() == expected["anomaly_reason"].tolist()


def test_load_table_and_load_series_refuse_the_other_kind_in_one_sentence(table, tmp_path):
    from anomalyzer.errors import AnomalyzerError

    table_file = az.Model("mad").fit(table).save(tmp_path / "t.azm")
    data = metrics_frame(n=24 * 15, seed=2, spike=100)
    series_file = (
        az.SeriesModel("rolling_z").fit(data, "timestamp", value="cpu").save(tmp_path / "s.azm")
    )
    assert isinstance(az.load_table(table_file), az.Model)
    assert isinstance(az.load_series(series_file), az.SeriesModel)
    with pytest.raises(AnomalyzerError, match="holds a series model; read it with load_series"):
        az.load_table(series_file)
    with pytest.raises(AnomalyzerError, match="holds a table model; read it with load_table"):
        az.load_series(table_file)


def test_registry_lists_and_builds_both_kinds_with_one_error_for_bad_parameters():
    from anomalyzer import detectors, timeseries
    from anomalyzer.errors import AnomalyzerError

    assert timeseries.available() == detectors.available(kind="series")
    assert detectors.name_of(detectors.make("auto", kind="series")) == "auto"
    assert type(detectors.make("auto")).__name__ == "Auto"
    for name, kind in (("iforest", "table"), ("rolling_z", "series")):
        with pytest.raises(AnomalyzerError, match=f"Detector '{name}' has no parameter 'bogus'"):
            detectors.make(name, kind=kind, bogus=1)
