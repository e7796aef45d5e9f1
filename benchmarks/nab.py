"""Time-series detectors on the NAB corpus: accuracy offline and causally, and streaming speed.

Run with ``python benchmarks/nab.py`` (``make bench`` does). Three tables:

1. Offline, as the time-series issue asks: every series detector (and PyOD's
   ``TimeSeriesOD``, ``MatrixProfile`` and ``SpectralResidual``) is fitted on
   the whole series and scores it; timestamps inside a labelled window count
   as anomalies. Per series and mean VUS-PR, AUC-PR and AUC-ROC (means over
   the series that hold an anomaly).
2. Causal, NAB's own protocol: each detector learns from the probationary
   period (the first 15% of a series, at most 750 points) and then scores
   every point from the points before it alone; NAB standard, reward-low-FP
   and reward-low-FN scores with the threshold optimised over the corpus per
   profile, as NAB does. One threshold for all series needs scores on one
   scale: ``auto`` makes its own (conformal surprises); the single detectors'
   scores are put through the same causal surprise here.
3. Streaming throughput: points per second through ``update`` one point at a
   time, on one core.

Seasonal periods are found from each series (its probationary part when
causal) knowing its time step, as the ``detect(..., time=...)`` front door does.

Options: ``--detectors a,b`` (default all but ``neural``), ``--neural`` (add
the neural detector, which needs torch), ``--skip-pyod``, ``--skip-offline``,
``--skip-causal``, ``--skip-stream``, ``--jobs N`` (series scored in parallel),
``--out FOLDER`` (CSV tables are written there too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nab_baselines import DATA, load_nab_corpus

from anomalyzer import timeseries
from anomalyzer.evaluate.metrics import evaluate
from anomalyzer.evaluate.nab import NabSeries, nab_scores
from anomalyzer.evaluate.ranges import vus
from anomalyzer.timeseries import conformal
from anomalyzer.timeseries.frame import infer_frequency
from anomalyzer.timeseries.seasonality import detect_periods

PYOD = ("pyod:TimeSeriesOD", "pyod:MatrixProfile", "pyod:SpectralResidual")
RESULTS = Path(__file__).resolve().parent / "results"


def _step(data: pd.DataFrame) -> pd.Timedelta:
    return infer_frequency(pd.DatetimeIndex(data["timestamp"]))


def _labels(n: int, windows: list[tuple[int, int]]) -> np.ndarray:
    y = np.zeros(n, dtype=np.int64)
    for start, end in windows:
        y[start : end + 1] = 1
    return y


def _probation(n: int) -> int:
    # NAB's probationary period: 15% of the series, at most 750 points.
    return int(min(np.floor(0.15 * n), 0.15 * 5000))


# Detectors whose ``period`` is one int; the others take a list (MatrixProfile
# and WindowDetector have none).
_ONE_PERIOD = {"forecast"}
_NO_PERIOD = {"matrix_profile", "window", "neural"}


def _make(name: str, values: np.ndarray, step: pd.Timedelta, **params) -> object:
    """The detector with the periods found in ``values`` knowing the step, as the front door does."""
    if name not in _NO_PERIOD:
        periods = detect_periods(values, freq=step)
        params["period"] = (periods[0] if periods else 0) if name in _ONE_PERIOD else periods
    return timeseries.make(name, **params)


def _offline_scores(name: str, values: np.ndarray, step: pd.Timedelta) -> np.ndarray:
    if name.startswith("pyod:"):
        return _pyod_scores(name[5:], values)
    return _make(name, values, step).fit(values).decision_scores_


def _pyod_scores(name: str, values: np.ndarray) -> np.ndarray:
    from pyod.models.ts_matrix_profile import MatrixProfile
    from pyod.models.ts_od import TimeSeriesOD
    from pyod.models.ts_spectral_residual import SpectralResidual

    cls = {
        "TimeSeriesOD": TimeSeriesOD,
        "MatrixProfile": MatrixProfile,
        "SpectralResidual": SpectralResidual,
    }[name]
    # PyOD's defaults, with TimeSeriesOD's isolation forest seeded so runs repeat.
    params = {}
    if name == "TimeSeriesOD":
        from pyod.models.iforest import IForest

        params["detector"] = IForest(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        det = cls(**params).fit(values.reshape(-1, 1))
    return np.nan_to_num(np.asarray(det.decision_scores_, dtype=np.float64))


def _causal_scores(name: str, values: np.ndarray, step: pd.Timedelta) -> np.ndarray:
    k = max(_probation(values.size), 50)
    det = _make(name, values[:k], step, causal=True).fit(values[:k])
    scores = det.decision_function(values)
    if name != "auto":
        # NAB sets one threshold for the whole corpus, so scores must mean the
        # same in every series: each single detector's scores become causal
        # conformal surprises (-log p among its own earlier scores), as auto's
        # members do inside auto.
        scores = conformal.surprise(scores, conformal.new_state(10_000), two_sided=False)
    return scores


def _one_series(task: tuple) -> dict:
    detector, series, values, _windows, mode, step = task
    start = time.perf_counter()
    try:
        if mode == "offline":
            scores = _offline_scores(detector, values, step)
        else:
            scores = _causal_scores(detector, values, step)
        error = ""
    except Exception as exc:  # a failing detector is a row, not a crash
        scores = np.zeros(values.size)
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    return {
        "detector": detector,
        "series": series,
        "scores": np.nan_to_num(scores),
        "seconds": seconds,
        "error": error,
    }


def _run(tasks: list, jobs: int) -> list[dict]:
    if jobs <= 1:
        return [_one_series(t) for t in tasks]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_one_series, tasks, chunksize=1))


def offline_table(corpus: list, detectors: list[str], jobs: int) -> pd.DataFrame:
    tasks = [
        (d, name, data["value"].to_numpy(float), windows, "offline", _step(data))
        for d in detectors
        for name, data, windows in corpus
    ]
    rows = []
    lookup = {name: windows for name, _, windows in corpus}
    for r in _run(tasks, jobs):
        y = _labels(r["scores"].size, lookup[r["series"]])
        row = {"detector": r["detector"], "series": r["series"], "seconds": r["seconds"]}
        if y.any():
            v = vus(y, r["scores"])
            ev = evaluate(y, r["scores"])
            row.update(vus_pr=v.vus_pr, auc_pr=ev.average_precision, auc_roc=ev.roc_auc)
        row["error"] = r["error"]
        rows.append(row)
    return pd.DataFrame(rows)


def causal_table(corpus: list, detectors: list[str], jobs: int) -> pd.DataFrame:
    tasks = [
        (d, name, data["value"].to_numpy(float), windows, "causal", _step(data))
        for d in detectors
        for name, data, windows in corpus
    ]
    by_detector: dict[str, list] = {}
    errors: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    lookup = {name: windows for name, _, windows in corpus}
    for r in _run(tasks, jobs):
        series = NabSeries(r["scores"], lookup[r["series"]], r["series"])
        by_detector.setdefault(r["detector"], []).append(series)
        seconds[r["detector"]] = seconds.get(r["detector"], 0.0) + r["seconds"]
        if r["error"]:
            errors.setdefault(r["detector"], []).append(f"{r['series']}: {r['error']}")
    rows = []
    for d, series in by_detector.items():
        res = nab_scores(series)
        rows.append(
            {
                "detector": d,
                "standard": res["standard"].score,
                "reward_low_fp": res["reward_low_fp_rate"].score,
                "reward_low_fn": res["reward_low_fn_rate"].score,
                "seconds": seconds[d],
                "seconds_per_series": seconds[d] / len(series),
                "errors": len(errors.get(d, [])),
            }
        )
    for d, errs in errors.items():
        for e in errs[:3]:
            print(f"  {d} failed on {e}")
    return pd.DataFrame(rows).sort_values("standard", ascending=False)


_STREAM_SECONDS = 20.0


def stream_table(corpus: list, detectors: list[str], points: int = 3000) -> pd.DataFrame:
    # The longest series, streamed one point at a time after fitting on its start.
    name, data, _ = max(corpus, key=lambda c: len(c[1]))
    values = data["value"].to_numpy(float)
    k = _probation(values.size)
    rows = []
    # One core: the process is pinned to one CPU and compiled code runs one thread.
    import numba

    numba.set_num_threads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    step = _step(data)
    for d in detectors:
        det = _make(d, values[:k], step, causal=True).fit(values[:k])
        stream = values[k : k + points]
        det.update(stream[:1])  # compile and warm caches outside the timing
        start = time.perf_counter()
        done = 0
        for x in stream[1:]:
            det.update(np.array([x]))
            done += 1
            if time.perf_counter() - start > _STREAM_SECONDS:
                break  # a slow detector is timed on the points it got through
        elapsed = time.perf_counter() - start
        rows.append({"detector": d, "points": done, "points_per_second": done / elapsed})
    print(f"(up to {points} points of {name}, at most {_STREAM_SECONDS:.0f} s each)")
    return pd.DataFrame(rows).sort_values("points_per_second", ascending=False)


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    metrics = ["vus_pr", "auc_pr", "auc_roc"]
    summary = table.groupby("detector")[[*metrics, "seconds"]].mean()
    summary = summary.rename(columns={"seconds": "seconds_per_series"})
    summary["errors"] = table.groupby("detector")["error"].apply(lambda e: int((e != "").sum()))
    return summary.sort_values("vus_pr", ascending=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--detectors", default="")
    parser.add_argument("--skip-pyod", action="store_true")
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--skip-causal", action="store_true")
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--per-series", action="store_true", help="print every series' row")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--neural", action="store_true", help="include the neural detector (needs torch)"
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"No NAB data at {args.data}; nothing to benchmark.")
        return
    corpus = load_nab_corpus(args.data)
    # The neural detector trains a network per series: only with --neural (or by name).
    ours = (
        args.detectors.split(",")
        if args.detectors
        else [d for d in timeseries.available() if d != "neural"]
    )
    if args.neural and "neural" not in ours:
        ours.append("neural")
    args.out.mkdir(parents=True, exist_ok=True)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 2000)
    n_points = sum(len(d) for _, d, _ in corpus)
    print(f"NAB corpus: {len(corpus)} series, {n_points} points, from {args.data}\n")

    if not args.skip_offline:
        detectors = ours + ([] if args.skip_pyod else list(PYOD))
        table = offline_table(corpus, detectors, args.jobs)
        table.to_csv(args.out / "nab_offline.csv", index=False)
        if args.per_series:
            for metric, title in (
                ("vus_pr", "VUS-PR"),
                ("auc_pr", "AUC-PR"),
                ("auc_roc", "AUC-ROC"),
            ):
                wide = table.pivot(index="series", columns="detector", values=metric)
                print(f"{title} per series (fit on the whole series, score it)")
                print(wide.round(3).to_string(), "\n")
        summary = _summary(table)
        print("Offline: mean over the series with an anomaly (fit on the whole series, score it)")
        print(summary.round(3).to_string(), "\n")

    if not args.skip_causal:
        table = causal_table(corpus, ours, args.jobs)
        table.to_csv(args.out / "nab_causal.csv", index=False)
        print("Causal: NAB scores (learn from the probationary period, score each point")
        print("from the past only; threshold optimised over the corpus per profile)")
        print(table.round(1).to_string(index=False), "\n")

    if not args.skip_stream:
        table = stream_table(corpus, ours)
        table.to_csv(args.out / "nab_stream.csv", index=False)
        print("Streaming: points per second through update(), one point per call, one core")
        print(table.round(0).to_string(index=False))


if __name__ == "__main__":
    main()
