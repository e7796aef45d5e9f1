"""``anomalyzer detect DATA --time COL`` as a user runs it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_ts_model import metrics_frame
from typer.testing import CliRunner

import anomalyzer as az
from anomalyzer import cli
from anomalyzer.timeseries.model import SeriesModel

runner = CliRunner()


def invoke(*args: str):
    res = runner.invoke(cli.app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


@pytest.fixture(scope="module")
def hosts_csv(tmp_path_factory) -> Path:
    parts = []
    for g in range(3):
        part = metrics_frame(n=24 * 15, seed=g, spike=100 + 10 * g)
        part["mem"] = 20 + np.random.default_rng(g).normal(0, 0.5, len(part))
        parts.append(part.assign(host=f"web-{g}"))
    path = tmp_path_factory.mktemp("ts_cli") / "metrics.csv"
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


def test_detect_time_group_out_save(hosts_csv, tmp_path):
    out, model = tmp_path / "scored.csv", tmp_path / "model.azm"
    res = invoke("detect", str(hosts_csv), "--time", "timestamp", "--group", "host", "--value",
                 "cpu", "--detector", "rolling_z", "--out", str(out), "--save", str(model),
                 "--top", "3")  # fmt: skip
    assert res.exit_code == 0, res.output
    text = res.output
    assert "Series 3 (by 'host')" in text and "values: cpu" in text
    assert "Periods" in text and "1 day" in text
    assert "points flagged" in text and "Top points by anomaly score" in text
    assert "above the expected band" in text
    scored = pd.read_csv(out)
    assert len(scored) == 3 * 24 * 15
    for col in ("anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason"):
        assert col in scored.columns
    spikes = [360 * g + 100 + 10 * g for g in range(3)]
    assert scored.loc[spikes, "is_anomaly"].all()
    fitted = az.load(model)
    assert isinstance(fitted, SeriesModel) and fitted.channels == ["cpu"]


def test_detect_time_single_series_default_detector(tmp_path):
    path = tmp_path / "cpu.csv"
    metrics_frame(weekly=False).to_csv(path, index=False)
    report = tmp_path / "report.html"
    res = invoke("detect", str(path), "--time", "timestamp", "--top", "2", "--report", str(report))
    assert res.exit_code == 0, res.output
    assert "Series 1:" in res.output and "Periods 24 points (1 day)" in res.output
    assert "Detector auto:" in res.output and "Top points by anomaly score" in res.output
    assert report.stat().st_size > 0 and f"Wrote the report {report}" in res.output


def test_detectors_lists_series_detectors():
    from anomalyzer import timeseries

    res = invoke("detectors")
    assert res.exit_code == 0
    assert "Time-series detectors" in res.output
    for name in timeseries.available():
        assert name in res.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["--time", "when"], "Column 'when' given as time= is not in the table"),
        (
            ["--time", "timestamp", "--group", "rack"],
            "Column 'rack' given as group= is not in the table",
        ),
        (["--time", "timestamp", "--detector", "iforest"], "Unknown time-series detector"),
        (["--group", "host"], "add --time"),
    ],
)
def test_bad_series_options_one_sentence_exit_2(args, words, hosts_csv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["anomalyzer", "detect", str(hosts_csv), *args])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert words in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.strip().count("\n") == 0  # one sentence, on one line
