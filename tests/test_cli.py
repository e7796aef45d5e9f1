"""The command line as a user runs it: a subprocess, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_cli

EXE = [sys.executable, "-m", "anomalyzer.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd)


def run_process(*args: str) -> subprocess.CompletedProcess:
    """The installed command in its own process: the smoke test of the real entry point."""
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=300)


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
    # With a label the run is scored against it: one planted anomaly, ranked first.
    assert "Against 'label' (1 anomaly): ROC-AUC 1.000, AP 1.000" in res.stdout
    scored = pd.read_csv(out)
    for col in ("anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason"):
        assert col in scored.columns
    assert scored.loc[scored["anomaly_rank"] == 1].index[0] == 7


def test_detectors_lists_every_detector():
    from anomalyzer.detectors import available

    res = run("detectors")
    assert res.returncode == 0
    for name in available(labels=True):
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


# -- models, scoring and reports -------------------------------------------------------


def _scores(path: Path) -> np.ndarray:
    return pd.read_csv(path)["anomaly_score"].to_numpy()


@pytest.fixture(scope="module")
def saved(csv, tmp_path_factory) -> tuple[Path, Path]:
    """A model saved by `detect --save`, and the scored file of that run."""
    folder = tmp_path_factory.mktemp("saved")
    model, scored = folder / "model.azm", folder / "scored.csv"
    # iforest scores a training row as it scores a new one; neighbour methods (and the
    # auto committee, which holds one) leave a training row out of its own neighbourhood.
    res = run("detect", str(csv), "--detector", "iforest", "--label", "label",
              "--save", str(model), "--out", str(scored))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Saved the model" in res.stdout
    return model, scored


def test_detect_writes_the_four_output_columns(saved, csv):
    scored = pd.read_csv(saved[1])
    assert list(scored.columns[-4:]) == ["anomaly_score", "is_anomaly", "anomaly_rank",
                                         "anomaly_reason"]  # fmt: skip
    assert len(scored) == len(pd.read_csv(csv))


def test_score_with_a_saved_model_gives_identical_scores(saved, csv, tmp_path):
    model, scored = saved
    out = tmp_path / "again.parquet"
    res = run("score", str(model), str(csv), "--out", str(out), "--top", "3")
    assert res.returncode == 0, res.stderr
    assert "rows flagged" in res.stdout and "Top rows" in res.stdout
    again = pd.read_parquet(out)
    first = pd.read_csv(scored)
    assert np.array_equal(again["anomaly_score"].to_numpy(), first["anomaly_score"].to_numpy())
    assert (again["is_anomaly"].to_numpy() == first["is_anomaly"].to_numpy()).all()
    assert (again["anomaly_rank"].to_numpy() == first["anomaly_rank"].to_numpy()).all()


def test_score_warns_about_extra_columns(saved, csv, tmp_path):
    data = pd.read_csv(csv).assign(unseen=1.0)
    path = tmp_path / "extra.csv"
    data.to_csv(path, index=False)
    res = run("score", str(saved[0]), str(path), "--top", "0")
    assert res.returncode == 0, res.stderr
    assert "Warning" in res.stderr and "'unseen'" in res.stderr


def test_detect_writes_a_report(csv, tmp_path):
    report = tmp_path / "report.html"
    res = run("detect", str(csv), "--label", "label", "--report", str(report), "--top", "0")
    assert res.returncode == 0, res.stderr
    html = report.read_text(encoding="utf-8")
    assert "Top anomalies" in html and "ROC curve" in html


def test_tampered_model_is_refused(saved, csv, tmp_path):
    raw = bytearray(saved[0].read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    bad = tmp_path / "tampered.azm"
    bad.write_bytes(bytes(raw))
    res = run("score", str(bad), str(csv))
    _one_sentence(res)
    assert "tampered.azm" in res.stderr


def _one_sentence(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, csv) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {
        "empty": folder / "empty.csv",
        "header": folder / "header.csv",
        "text": folder / "text.csv",
        "garbage": folder / "garbage.csv",
        "nonbinary": folder / "nonbinary.csv",
        "notmodel": folder / "model.azm",
        "wrongtype": folder / "wrongtype.csv",
        "nocolumn": folder / "nocolumn.csv",
    }
    files["empty"].write_bytes(b"")
    files["header"].write_text("a,b,c\n")
    words = [f"free text number {i} with several words" for i in range(40)]
    pd.DataFrame({"note": words, "more": [w + " again" for w in words]}).to_csv(
        files["text"], index=False
    )
    files["garbage"].write_bytes(np.random.default_rng(0).bytes(4000))
    pd.DataFrame({"a": range(30), "lab": [0, 1, 2] * 10}).to_csv(files["nonbinary"], index=False)
    files["notmodel"].write_text("not a model\n")
    data = pd.read_csv(csv)
    data.assign(a="lots").to_csv(files["wrongtype"], index=False)
    data.drop(columns=["b"]).to_csv(files["nocolumn"], index=False)
    return files


@pytest.mark.parametrize(
    "args, words",
    [
        (["detect", "{tmp}/missing.csv"], "not found"),
        (["detect", "{empty}"], "is empty"),
        (["detect", "{header}"], "has no rows"),
        (["detect", "{text}"], "No usable feature column"),
        (["detect", "{garbage}"], "not text"),
        (["detect", "{csv}", "--contamination", "lots"], "contamination"),
        (["detect", "{csv}", "--contamination", "0.9"], "contamination"),
        (["detect", "{csv}", "--detector", "forest"], "Unknown detector"),
        (["detect", "{csv}", "--label", "nope"], "Label column 'nope' not found"),
        (["detect", "{nonbinary}", "--label", "lab"], "must have two values"),
        (["detect", "{tmp}"], "is a directory"),
        (["detect", "{csv}", "--out", "{csv}/out.csv"], "not a folder"),
        (["detect", "{csv}", "--out", "/proc/out.csv"], "Cannot write"),
        (["detect", "{csv}", "--report", "{tmp}/report.pdf"], ".html"),
        (["detect", "{csv}", "--save", "{tmp}/no/such/model.azm"], "does not exist"),
        (["score", "{notmodel}", "{csv}"], "not an anomalyzer model file"),
        (["score", "{csv}", "{csv}"], "not an anomalyzer model file"),
        (["score", "{tmp}/missing.azm", "{csv}"], "not found"),
        (["score", "{model}", "{nocolumn}"], "'b'"),
        (["score", "{model}", "{wrongtype}"], "'a'"),
        (["score", "{model}", "{tmp}/missing.csv"], "not found"),
    ],
)
def test_more_bad_input_one_sentence_exit_2(args, words, csv, saved, bad_files, tmp_path):
    names = {"csv": csv, "tmp": tmp_path, "model": saved[0], **bad_files}
    res = run(*[a.format(**names) for a in args])
    line = _one_sentence(res)
    assert words in line


@pytest.mark.parametrize(
    "args", [["detect", "{csv}", "--bogus"], ["detect", "{csv}", "--top", "-1"], ["score"]]
)
def test_usage_errors_exit_2_without_traceback(args, csv):
    res = run(*[a.format(csv=csv) for a in args])
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout
    assert "Usage" in res.stderr and "Error" in res.stderr


def test_help_on_the_new_commands():
    for command in ("score", "detect"):
        res = run(command, "--help")
        assert res.returncode == 0
        assert "Usage" in res.stdout
    assert "--report" in run("detect", "--help").stdout


def test_the_installed_command_runs_in_its_own_process(csv, tmp_path):
    """The real entry point, as a shell starts it: summary out, a mistake is exit 2."""
    res = run_process("detect", str(csv), "--detector", "mad", "--top", "3")
    assert res.returncode == 0, res.stderr
    assert "300 rows" in res.stdout and "Top rows by anomaly score" in res.stdout
    res = run_process("detect", str(tmp_path / "missing.csv"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") <= 2
