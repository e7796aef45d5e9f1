"""The command line as a user runs it: a subprocess, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXE = [sys.executable, "-m", "anomalyzer.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300),
                       "c": rng.choice(["x", "y"], 300), "label": 0})  # fmt: skip
    df.loc[7, "a"] = 12.0
    df.loc[7, "label"] = 1
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    df.to_csv(path, index=False)
    return path


def test_detect_prints_summary_and_writes_scored_file(csv, tmp_path):
    out = tmp_path / "scored.csv"
    res = run("detect", str(csv), "--detector", "mad", "--label", "label", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "300 rows" in res.stdout
    assert "Features (3): a, b, c" in res.stdout
    assert "label" in res.stdout  # the label column is reported as not used
    scored = pd.read_csv(out)
    for col in ("anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason"):
        assert col in scored.columns
    assert scored.loc[scored["anomaly_rank"] == 1].index[0] == 7


def test_detectors_lists_every_detector():
    from anomalyzer.detectors import available

    res = run("detectors")
    assert res.returncode == 0
    for name in available():
        assert name in res.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["detect", "missing.csv"], "not found"),
        (["detect", "{csv}", "--detector", "nope"], "Unknown detector"),
        (["detect", "{csv}", "--contamination", "2"], "contamination must be"),
        (["detect", "{csv}", "--label", "nope"], "Label column 'nope' not found"),
        (["detect", "{csv}", "--out", "{tmp}/no/such/dir/x.csv"], "does not exist"),
        (["detect", "{csv}", "--out", "{tmp}/x.txt"], ".csv or .parquet"),
    ],
)
def test_bad_input_one_sentence_exit_2(args, words, csv, tmp_path):
    args = [a.format(csv=csv, tmp=tmp_path) for a in args]
    res = run(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert words in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_help_on_every_command():
    for args in (["--help"], ["detect", "--help"], ["detectors", "--help"]):
        res = run(*args)
        assert res.returncode == 0
        assert "Usage" in res.stdout
