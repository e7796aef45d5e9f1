"""Series detectors on the UCR ECG recordings: fit on the train part, score the test part.

Run with ``python benchmarks/ecg.py`` (``make bench`` does). The three ECG
recordings of ``../shared/data/cases/ecg/`` (UCR anomaly archive, KDD Cup
2021) each hold one labelled anomalous region after the train/test split
point. Every series detector (``anomalyzer.timeseries.available()``, the
neural one included where torch is installed) is fitted on the train part,
with the seasonal periods found in it, and scores the test part. Per
recording: VUS-PR on the test labels, the rank (1-3) of the first of the
three highest-scoring periods that overlaps the labelled region
(:func:`anomalyzer.evaluate.periods.region_rank`; ``-`` when none does), and
the seconds to fit and score (on the CPU unless a GPU is present).

Options: ``--detectors a,b`` (default all), ``--out FOLDER``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nab import _make

from anomalyzer import timeseries
from anomalyzer.evaluate.periods import region_rank
from anomalyzer.evaluate.ranges import vus

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cases" / "ecg"
RESULTS = Path(__file__).resolve().parent / "results"
STEP = pd.Timedelta("1s")  # the recordings' synthetic timestamps are one second apart


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train values, test values and test labels of one recording."""
    df = pd.read_csv(path)
    train = (df["split"] == "train").to_numpy()
    values = df["value"].to_numpy(np.float64)
    return values[train], values[~train], df["label"].to_numpy()[~train]


def run_one(name: str, train: np.ndarray, test: np.ndarray, y: np.ndarray) -> dict:
    start = time.perf_counter()
    try:
        det = _make(name, train, STEP).fit(train)
        scores = np.nan_to_num(det.decision_function(test))
        error = ""
    except Exception as exc:  # a failing detector is a row, not a crash
        scores, error = np.zeros(test.size), f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    rank = region_rank(y, scores, k=3)
    return {
        "detector": name,
        "vus_pr": vus(y, scores).vus_pr,
        "rank_in_top3": rank if rank is not None else "-",
        "seconds": seconds,
        "error": error,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--detectors", default="")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*.csv.gz")) if args.data.is_dir() else []
    if not files:
        print(f"No ECG recordings at {args.data}; nothing to benchmark.")
        return
    names = args.detectors.split(",") if args.detectors else timeseries.available()
    rows = []
    for path in files:
        train, test, y = load(path)
        series = path.name.removesuffix(".csv.gz")
        print(f"{series}: train {train.size:,} points, test {test.size:,}, labelled {int(y.sum())}")
        for name in names:
            rows.append({"series": series, **run_one(name, train, test, y)})
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "ecg.csv", index=False)
    pd.set_option("display.width", 200)
    print("\nPer recording (fit on train, score test): VUS-PR, rank of the labelled region")
    print("among the three highest-scoring periods, seconds to fit and score")
    for metric in ("vus_pr", "rank_in_top3", "seconds"):
        wide = table.pivot(index="detector", columns="series", values=metric)
        print(f"\n{metric}")
        print(wide.round(3).to_string() if metric != "rank_in_top3" else wide.to_string())
    hits = table.assign(hit=table["rank_in_top3"] != "-").groupby("detector")
    summary = pd.DataFrame(
        {
            "mean_vus_pr": hits["vus_pr"].mean(),
            "regions_in_top3": hits["hit"].sum().astype(int),
            "seconds_per_series": hits["seconds"].mean(),
            "errors": hits["error"].apply(lambda e: int((e != "").sum())),
        }
    ).sort_values("mean_vus_pr", ascending=False)
    print(f"\nSummary over {len(files)} recordings")
    print(summary.round(3).to_string())
    for err in table.loc[table["error"] != "", ["detector", "series", "error"]].itertuples():
        print(f"  {err.detector} failed on {err.series}: {err.error}")


if __name__ == "__main__":
    main()
