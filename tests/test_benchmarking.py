"""The benchmark harness on tiny synthetic data sets: runs, failures, summaries, files."""

from __future__ import annotations

import importlib.util
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import planted
from sklearn.metrics import average_precision_score, roc_auc_score

from anomalyzer import benchmarking
from anomalyzer.detectors.statistical import ZScore
from anomalyzer.errors import AnomalyzerError

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists() or os.name != "posix",
    reason="the harness forks and reads /proc (Linux)",
)

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "adbench.py"


def write_npz(folder: Path, name: str, n: int, seed: int, dtype: type = np.float64) -> Path:
    X, y = planted(n=n, d=3, n_out=max(2, n // 20), seed=seed)
    path = folder / name
    np.savez(path, X=X.astype(dtype), y=y)
    return path


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    write_npz(tmp_path, "2_small.npz", 60, seed=1)
    write_npz(tmp_path, "10_large.npz", 300, seed=2, dtype=np.int16)
    write_npz(tmp_path, "1_tiny.npz", 40, seed=3)
    return tmp_path


# Stand-ins with known behaviour; the harness only needs fit and decision_scores_.


class FirstColumn:
    def fit(self, X: np.ndarray) -> FirstColumn:
        self.decision_scores_ = np.abs(X[:, 0])
        return self


class Hungry(FirstColumn):
    """Holds 128 MiB while fitting, so its peak memory stands out."""

    def fit(self, X: np.ndarray) -> Hungry:
        self.block_ = np.ones(128 * 2**20 // 8)
        return super().fit(X)


class Sleepy:
    def fit(self, X: np.ndarray) -> Sleepy:
        time.sleep(60)
        return self


class Broken:
    def fit(self, X: np.ndarray) -> Broken:
        raise RuntimeError("boom\nsecond line")


class Crashing:
    def fit(self, X: np.ndarray) -> Crashing:
        os._exit(3)


class NaNScores:
    def fit(self, X: np.ndarray) -> NaNScores:
        self.decision_scores_ = np.full(X.shape[0], np.nan)
        return self


def test_find_datasets_order_patterns_and_size(folder):
    names = [p.name for p in benchmarking.find_datasets(folder)]
    assert names == ["1_tiny.npz", "2_small.npz", "10_large.npz"]
    assert [p.name for p in benchmarking.find_datasets(folder, ["SMALL", "tiny"])] == [
        "1_tiny.npz",
        "2_small.npz",
    ]
    assert [p.name for p in benchmarking.find_datasets(folder, max_rows=100)] == [
        "1_tiny.npz",
        "2_small.npz",
    ]
    assert benchmarking.dataset_shape(folder / "10_large.npz") == (315, 3)
    assert benchmarking.dataset_name(folder / "10_large.npz") == "large"


def test_load_dataset_converts_once(folder):
    X, y = benchmarking.load_dataset(folder / "10_large.npz")
    assert X.dtype == np.float64 and X.flags.c_contiguous
    assert set(np.unique(y)) == {0, 1}


def test_load_dataset_without_arrays(tmp_path):
    np.savez(tmp_path / "bad.npz", data=np.zeros(3))
    with pytest.raises(AnomalyzerError, match="must hold arrays named 'X' and 'y'"):
        benchmarking.load_dataset(tmp_path / "bad.npz")


def test_run_benchmark_matches_direct_evaluation(folder):
    seen: list[dict] = []
    paths = benchmarking.find_datasets(folder, ["small", "large"])
    df = benchmarking.run_benchmark(["zscore", "mad"], paths, progress=seen.append)
    assert list(df.columns) == list(benchmarking.RESULT_COLUMNS)
    assert len(df) == 4 and len(seen) == 4
    assert (df["status"] == "ok").all()
    assert df["dataset"].tolist() == ["small", "small", "large", "large"]
    X, y = benchmarking.load_dataset(folder / "10_large.npz")
    scores = ZScore().fit(X).decision_scores_
    row = df[(df["dataset"] == "large") & (df["detector"] == "zscore")].iloc[0]
    assert row["n_rows"] == 315 and row["n_features"] == 3
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y, scores))
    assert row["ap"] == pytest.approx(average_precision_score(y, scores))
    assert (df["seconds"] > 0).all() and (df["peak_mib"] > 0).all()


def test_failures_become_rows_and_the_run_goes_on(folder):
    path = folder / "1_tiny.npz"
    builders = {
        "sleepy": Sleepy,
        "broken": Broken,
        "crashing": Crashing,
        "nan": NaNScores,
        "first": FirstColumn,
    }
    df = benchmarking.run_benchmark(
        ["sleepy", "no-such-detector", "broken", "crashing", "nan", "first"],
        [path],
        timeout=1.0,
        builders=builders,
    )
    status = dict(zip(df["detector"], df["status"], strict=True))
    assert status["sleepy"] == "timeout"
    assert status["no-such-detector"].startswith("error: AnomalyzerError: Unknown detector")
    assert status["broken"] == "error: RuntimeError: boom second line"
    assert status["crashing"].startswith("error:") and "exit code 3" in status["crashing"]
    assert status["nan"].startswith("error: ValueError")
    assert status["first"] == "ok"
    failed = df[df["status"] != "ok"]
    assert failed[["roc_auc", "ap", "peak_mib"]].isna().all().all()
    assert df.loc[df["detector"] == "sleepy", "seconds"].iloc[0] >= 1.0


def test_peak_memory_belongs_to_the_run(folder):
    path = folder / "2_small.npz"
    df = benchmarking.run_benchmark(
        ["lean", "hungry"], [path], builders={"lean": FirstColumn, "hungry": Hungry}
    )
    lean, hungry = df["peak_mib"].tolist()
    # The reset just before fitting leaves the parent's memory as the baseline.
    assert hungry - lean > 100


def results_frame() -> pd.DataFrame:
    """Three detectors on two data sets; c fails on the big one."""
    rows = [
        ("small", 100, "a", 0.90, 0.50, 1.0, 100.0, "ok"),
        ("small", 100, "b", 0.80, 0.60, 2.0, 110.0, "ok"),
        ("small", 100, "c", 0.70, 0.40, 0.5, 120.0, "ok"),
        ("big", 200_000, "a", 0.60, 0.30, 10.0, 300.0, "ok"),
        ("big", 200_000, "b", 0.70, 0.20, 40.0, 350.0, "ok"),
        ("big", 200_000, "c", math.nan, math.nan, 600.0, math.nan, "timeout"),
    ]
    df = pd.DataFrame(
        rows,
        columns=["dataset", "n_rows", "detector", "roc_auc", "ap", "seconds", "peak_mib", "status"],
    )
    df.insert(2, "n_features", 5)
    return df


def test_summarise_means_ranks_and_costs():
    summary = benchmarking.summarise(results_frame()).set_index("detector")
    assert summary.attrs["largest"] == "big"
    assert summary.loc["a", "mean_roc_auc"] == pytest.approx(0.75)
    # c's mean is over the data set it finished; its timeout ranks last on 'big'.
    assert summary.loc["c", "mean_roc_auc"] == pytest.approx(0.70)
    assert summary.loc["c", "failed"] == 1
    assert summary.loc["a", "rank_roc_auc"] == pytest.approx(1.5)  # 1st, then 2nd
    assert summary.loc["b", "rank_roc_auc"] == pytest.approx(1.5)  # 2nd, then 1st
    assert summary.loc["c", "rank_roc_auc"] == pytest.approx(3.0)
    assert summary.loc["b", "rank_ap"] == pytest.approx(1.5)
    assert summary.loc["a", "total_s"] == pytest.approx(11.0)
    assert summary.loc["b", "max_s"] == pytest.approx(40.0)
    assert summary.loc["b", "max_peak_mib"] == pytest.approx(350.0)
    assert summary.loc["b", "largest_s"] == pytest.approx(40.0)
    assert math.isnan(summary.loc["c", "largest_peak_mib"])
    assert list(summary.index)[-1] == "c"


def test_metric_table_layout():
    table = benchmarking.metric_table(results_frame(), "roc_auc")
    assert list(table.index) == ["small", "big"]
    assert list(table.columns) == ["a", "b", "c"]


def test_speedup_table():
    df = results_frame().replace({"detector": {"a": "iforest", "b": "pyod:iforest"}})
    speed = benchmarking.speedup_table(df)
    assert speed["dataset"].tolist() == ["big"]
    assert speed["speedup"].iloc[0] == pytest.approx(4.0)
    assert benchmarking.speedup_table(results_frame()).empty
    text = benchmarking.render_text(df)
    assert "iforest vs pyod:iforest" in text and "4.0" in text


def test_write_results(tmp_path):
    df = results_frame()
    csv_path, md_path = benchmarking.write_results(df, tmp_path / "out" / "bench.csv")
    back = pd.read_csv(csv_path)
    assert list(back.columns) == list(benchmarking.RESULT_COLUMNS)
    pd.testing.assert_frame_equal(back, df[list(benchmarking.RESULT_COLUMNS)], check_dtype=False)
    md = md_path.read_text()
    assert md_path.suffix == ".md"
    assert "| detector |" in md and "peak resident memory" in md and "timeout" in md


def load_script():
    spec = importlib.util.spec_from_file_location("adbench_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_end_to_end(folder, tmp_path, capsys):
    script = load_script()
    out = tmp_path / "res" / "adbench.csv"
    args = ["--data", str(folder), "--detectors", "zscore,iqr", "--max-rows", "100"]
    code = script.main([*args, "--no-pyod", "--out", str(out), "--timeout", "60"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Skipping 1 data set(s) over 100 rows: large" in printed
    assert "ROC-AUC per data set" in printed and "Summary" in printed
    assert len(pd.read_csv(out)) == 4
    assert out.with_suffix(".md").exists()


def test_script_without_data(tmp_path, capsys):
    assert load_script().main(["--data", str(tmp_path / "missing")]) == 0
    assert "not found" in capsys.readouterr().out


def test_adengine_reference_scores_every_row():
    from pyod_reference import build_reference

    X, _ = planted(n=200, d=3, n_out=6, seed=9)
    ref = build_reference("pyod:adengine").fit(X)
    assert ref.decision_scores_.shape == (X.shape[0],)
    assert np.isfinite(ref.decision_scores_).all()
