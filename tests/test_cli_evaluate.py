"""``anomalyzer compare`` and ``anomalyzer benchmark`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_cli
from conftest import planted

EXE = [sys.executable, "-m", "anomalyzer.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd)


def run_process(*args: str) -> subprocess.CompletedProcess:
    """The installed command in its own process: the smoke test of the real entry point."""
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory) -> Path:
    X, y = planted(n=400, d=3, n_out=12, seed=4)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(is_bad=np.where(y == 1, "yes", "no"))
    path = tmp_path_factory.mktemp("cmp") / "labelled.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def npz_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench")
    for seed in (1, 2):
        X, y = planted(n=300, d=4, n_out=10, seed=seed)
        np.savez(folder / f"{seed}_set{seed}.npz", X=X, y=y)
    return folder


def test_compare_prints_leaderboard_and_writes_it(labelled_csv, tmp_path):
    out = tmp_path / "board.json"
    res = run("compare", str(labelled_csv), "--label", "is_bad", "--detectors", "mad,iforest",
              "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Leaderboard" in res.stdout and "mad" in res.stdout and "iforest" in res.stdout
    board = json.loads(out.read_text())
    assert [row["detector"] for row in board] == sorted(
        [row["detector"] for row in board],
        key=lambda d: -next(r["ap"] for r in board if r["detector"] == d),
    )
    assert all(row["status"] == "ok" and row["roc_auc"] > 0.9 for row in board)


def test_compare_csv_output(labelled_csv, tmp_path):
    out = tmp_path / "board.csv"
    res = run(
        "compare",
        str(labelled_csv),
        "--label",
        "is_bad",
        "--detectors",
        "zscore",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(out)["detector"].tolist() == ["zscore"]


def test_benchmark_reproduces_the_harness(npz_folder, tmp_path):
    out = tmp_path / "long.csv"
    # The harness forks a child per run: it runs in a process of its own, as users start it.
    res = run_process(
        "benchmark", str(npz_folder), "--detectors", "iforest,ecod", "--out", str(out)
    )
    assert res.returncode == 0, res.stderr
    printed = pd.read_csv(out)
    # The same data through the script `make bench` runs, in its own process
    # (the harness forks, which a test worker that has used OpenMP must not).
    script_out = tmp_path / "script.csv"
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "adbench.py"
    res_script = subprocess.run(
        [sys.executable, str(script), "--data", str(npz_folder), "--detectors", "iforest,ecod",
         "--no-pyod", "--out", str(script_out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res_script.returncode == 0, res_script.stderr
    direct = pd.read_csv(script_out)
    for name in ("iforest", "ecod"):
        a = printed.loc[printed["detector"] == name, "roc_auc"].mean()
        b = direct.loc[direct["detector"] == name, "roc_auc"].mean()
        assert round(a, 3) == round(b, 3)
        assert f"{a:.3f}" in res.stdout
    assert "rank" in res.stdout


def test_benchmark_on_tables_with_label(labelled_csv, tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "t.csv").write_text(labelled_csv.read_text())
    res = run_process("benchmark", str(folder), "--label", "is_bad", "--detectors", "mad")
    assert res.returncode == 0, res.stderr
    assert "mad" in res.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["compare", "{csv}", "--label", "nope"], "Label column 'nope' not found"),
        (["compare", "{csv}", "--label", "is_bad", "--out", "{tmp}/b.txt"], ".csv or .json"),
        (["benchmark", "{tmp}/missing"], "not found"),
        (["benchmark", "{tmp}"], "holds no .npz"),
    ],
)
def test_bad_input(args, words, labelled_csv, tmp_path):
    args = [a.format(csv=labelled_csv, tmp=tmp_path) for a in args]
    res = run(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert words in res.stderr
    assert "Traceback" not in res.stderr
