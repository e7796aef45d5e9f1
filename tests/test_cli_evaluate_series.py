"""``anomalyzer evaluate``: a scored file against its labels, as a table or as time series."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomalyzer import cli
from anomalyzer.evaluate.nab import NabSeries, label_windows, nab_scores

EXE = [sys.executable, "-m", "anomalyzer.cli"]
N = 200
runner = CliRunner()


def labels() -> np.ndarray:
    # Both ranges lie after NAB's probationary period (the first 15% of rows).
    y = np.zeros(N, dtype=np.int64)
    y[100:110] = 1
    y[150:153] = 1
    return y


def scored_frame(
    scores: np.ndarray, flags: np.ndarray, y: np.ndarray | None = None
) -> pd.DataFrame:
    y = labels() if y is None else y
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=len(y), freq="h").astype(str),
            "value": np.arange(len(y), dtype=float),
            "label": np.where(y == 1, "anomaly", "normal"),
            "anomaly_score": scores,
            "is_anomaly": flags,
        }
    )
    # Shuffled: --time must put the rows back in order for ranges and NAB to come out right.
    return frame.sample(frac=1.0, random_state=0)


@pytest.fixture()
def perfect(tmp_path: Path) -> Path:
    y = labels()
    path = tmp_path / "perfect.csv"
    scored_frame(y.astype(float), y.astype(bool)).to_csv(path, index=False)
    return path


@pytest.fixture()
def zeros(tmp_path: Path) -> Path:
    path = tmp_path / "zeros.csv"
    scored_frame(np.zeros(N), np.zeros(N, dtype=bool)).to_csv(path, index=False)
    return path


def invoke(*args: str) -> dict:
    """Run the command in-process and return the metrics it writes to a JSON file."""
    out = Path(args[0]).with_name("metrics.json")
    res = runner.invoke(cli.app, ["evaluate", *args, "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)
    return json.loads(out.read_text())


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the real entry point (which maps errors to exit codes) in-process."""
    monkeypatch.setattr(sys, "argv", ["anomalyzer", *args])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


def test_tabular_metrics_of_perfect_scores(perfect):
    res = runner.invoke(cli.app, ["evaluate", str(perfect), "--label", "label"])
    assert res.exit_code == 0, res.output
    assert "ROC-AUC" in res.output and "precision@13" in res.output
    assert "tp 13" in res.output and "fp 0  fn 0  tn 187" in res.output
    doc = invoke(str(perfect), "--label", "label")
    assert doc["mode"] == "tabular"
    m = doc["metrics"]
    assert (m["roc_auc"], m["average_precision"], m["precision_at_k"], m["f1"]) == (1, 1, 1, 1)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (13, 0, 0, 187)


def test_tabular_flags_give_known_confusion(tmp_path):
    flags = np.zeros(N, dtype=int)
    flags[[100, 101, 5, 6, 7]] = 1  # 2 true positives, 3 false positives
    path = tmp_path / "flags.csv"
    scored_frame(np.linspace(0, 1, N), flags).to_csv(path, index=False)
    m = invoke(str(path), "--label", "label")["metrics"]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 3, 11, 184)
    assert m["precision"] == pytest.approx(0.4) and m["recall"] == pytest.approx(2 / 13)


def test_series_metrics_of_perfect_scores(perfect):
    res = runner.invoke(
        cli.app, ["evaluate", str(perfect), "--label", "label", "--time", "timestamp",
                  "--max-buffer", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for words in ("VUS-PR", "range F1", "point-adjusted F1", "NAB standard", "flatters random"):
        assert words in res.output
    doc = invoke(str(perfect), "--label", "label", "--time", "timestamp", "--max-buffer", "0")
    m = doc["metrics"]
    assert doc["mode"] == "series" and m["n_ranges"] == 2
    for key in ("roc_auc", "average_precision", "vus_roc", "vus_pr", "range_f1", "pa_f1"):
        assert m[key] == pytest.approx(1.0), key
    for profile in ("standard", "reward_low_fp_rate", "reward_low_fn_rate"):
        assert m[f"nab_{profile}"] == pytest.approx(100.0)


def test_series_metrics_of_constant_scores(zeros):
    m = invoke(str(zeros), "--label", "label", "--time", "timestamp")["metrics"]
    assert m["roc_auc"] == pytest.approx(0.5)
    assert m["range_f1"] == 0.0 and m["pa_f1"] == 0.0
    for profile in ("standard", "reward_low_fp_rate", "reward_low_fn_rate"):
        assert m[f"nab_{profile}"] == pytest.approx(0.0)


def test_series_needs_time_order(perfect):
    # The same perfect scores without sorting by time would see the shuffled ranges as
    # many: sorting is what gives exactly the two labelled ranges and a perfect range F1.
    m = invoke(str(perfect), "--label", "label", "--time", "timestamp")["metrics"]
    assert m["n_ranges"] == 2 and m["range_f1"] == 1.0


def test_series_with_groups_averages_and_pools_nab(tmp_path):
    y = labels()
    good = scored_frame(y.astype(float), y.astype(bool)).assign(host="a")
    # Inverted scores: every anomaly ranked last, so this group's ROC-AUC is 0.
    bad = scored_frame(1.0 - y, np.zeros(N, dtype=bool)).assign(host="b")
    quiet = scored_frame(np.zeros(N), np.zeros(N, dtype=bool), np.zeros(N, dtype=int))
    frame = pd.concat([good, bad, quiet.assign(host="c")]).sample(frac=1.0, random_state=1)
    path = tmp_path / "groups.csv"
    frame.to_csv(path, index=False)
    res = runner.invoke(
        cli.app, ["evaluate", str(path), "--label", "label", "--time", "timestamp",
                  "--group", "host"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "averaged over the 2 series" in res.output and "one corpus" in res.output
    doc = invoke(str(path), "--label", "label", "--time", "timestamp", "--group", "host")
    m = doc["metrics"]
    assert (m["n_series"], m["n_series_with_anomaly"], m["n_points"]) == (3, 2, 3 * N)
    assert set(doc["groups"]) == {"a", "b"}
    assert doc["groups"]["a"]["roc_auc"] == 1.0 and doc["groups"]["b"]["roc_auc"] == 0.0
    assert m["roc_auc"] == pytest.approx(0.5)
    assert m["range_f1"] == pytest.approx(0.5)  # 1 for a, 0 for b (nothing flagged)
    expected = nab_scores(
        [
            NabSeries(y.astype(float), label_windows(y), "a"),
            NabSeries(1.0 - y, label_windows(y), "b"),
            NabSeries(np.zeros(N), [], "c"),
        ]
    )
    for profile, result in expected.items():
        assert m[f"nab_{profile}"] == pytest.approx(result.score)


def test_csv_out_is_long_form(perfect, tmp_path):
    out = tmp_path / "m.csv"
    res = runner.invoke(
        cli.app, ["evaluate", str(perfect), "--label", "label", "--time", "timestamp",
                  "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["scope", "metric", "value"]
    values = table.set_index("metric")["value"]
    assert float(values["nab_standard"]) == pytest.approx(100.0)
    assert float(values["roc_auc"]) == 1.0


def test_flag_column_is_optional(tmp_path):
    y = labels()
    path = tmp_path / "noflags.csv"
    scored_frame(y.astype(float), y).drop(columns="is_anomaly").to_csv(path, index=False)
    res = runner.invoke(cli.app, ["evaluate", str(path), "--label", "label", "--time", "timestamp"])
    assert res.exit_code == 0, res.output
    assert "no range or point-adjusted metrics" in res.output
    m = invoke(str(path), "--label", "label", "--time", "timestamp")["metrics"]
    assert m["range_f1"] is None and m["nab_standard"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    "args, words",
    [
        (["{tmp}/missing.csv", "--label", "label"], "not found"),
        (["{csv}", "--label", "nope"], "Label column 'nope' not found; the columns are: timestamp"),
        (["{csv}", "--label", "label", "--score", "nope"], "Score column 'nope' not found"),
        (["{csv}", "--label", "label", "--flag", "nope"], "Flag column 'nope' not found"),
        (["{csv}", "--label", "label", "--time", "nope"], "Time column 'nope' not found"),
        (["{csv}", "--label", "three"], "must have two values"),
        (["{csv}", "--label", "label", "--score", "text"], "not numbers, such as 'high'"),
        (["{csv}", "--label", "label", "--group", "value"], "give the time column with --time"),
        (["{csv}", "--label", "label", "--out", "{tmp}/m.txt"], ".csv or .json"),
        (["{csv}", "--label", "normal"], "both normal and anomalous rows"),
    ],
)
def test_bad_input_one_sentence_exit_2(args, words, perfect, tmp_path, monkeypatch, capsys):
    frame = pd.read_csv(perfect)
    frame["three"] = np.arange(len(frame)) % 3
    frame["text"] = "high"
    frame["normal"] = 0
    frame.to_csv(perfect, index=False)
    args = [a.format(csv=perfect, tmp=tmp_path) for a in args]
    code, out, err = run_main(monkeypatch, capsys, "evaluate", *args)
    assert code == 2, (out, err)
    assert words in " ".join(err.split())
    assert "Traceback" not in err + out
    assert err.strip().startswith("Error:") and err.count("\n") <= 3  # one sentence, wrapped


def test_subprocess_run(perfect, tmp_path):
    out = tmp_path / "m.json"
    res = subprocess.run(
        [*EXE, "evaluate", str(perfect), "--label", "label", "--time", "timestamp",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "NAB standard" in res.stdout and "VUS-ROC" in res.stdout
    assert json.loads(out.read_text())["metrics"]["nab_standard"] == pytest.approx(100.0)
