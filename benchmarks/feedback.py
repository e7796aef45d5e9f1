"""An analyst labels what the detector shows first: anomalies found after 10, 50, 100 and 300 labels.

On each of the eight data sets of the Active Anomaly Discovery papers
(``../shared/data/feedback``, first column ``anomaly`` / ``nominal``) a
simulated analyst is shown one row at a time, always the top-ranked row not
yet labelled, and answers with its true label, up to a budget of 300 rows (or
all rows of a smaller set). Three rankings are compared, over 10 seeds (the
forest's seed):

- ``unsupervised``: the isolation forest (100 trees of 256 rows) without
  feedback: the rows in its score order;
- ``aad``: :class:`anomalyzer.feedback.ForestFeedback` on the same forest,
  one AAD weight update after every label (the papers' defaults: tau 0.03,
  Ca = Cn = Cx = 1, sigma2 0.5, uniform prior; nothing tuned per data set);
- ``semi``: the ``semi`` detector (kNN on the rows labelled normal, lifted
  near labelled anomalies), refitted on the labels so far after every 10
  labels, unlabelled rows scored; the first 10 rows (and any batch before two
  rows are labelled normal) come from the forest's ranking.

The simulations run on one thread (numba, BLAS and OpenMP): on a shared
two-core machine, threads fighting over the cores cost far more than they
share on data sets of a few thousand rows. Then each update (weights and
re-ranking) is timed on 100,000 rows of synthetic data (10 Gaussian features,
1% shifted rows), 300 labels one at a time, with numba's default threads.

Results are cached per data set in ``benchmarks/results/feedback.json`` so
that sets can be run in separate calls (``--data mammography``); every call
rewrites ``benchmarks/results/feedback.txt`` from all sets run so far.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from anomalyzer import detectors
from anomalyzer.feedback import ForestFeedback, top

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "feedback"
RESULTS = ROOT / "benchmarks" / "results"
SETS = ("abalone", "ann_thyroid_1v3", "cardiotocography_1", "covtype_sub", "kddcup_sub",
        "mammography", "shuttle_sub", "yeast")  # fmt: skip
CHECKPOINTS = (10, 50, 100, 300)
METHODS = ("unsupervised", "aad", "semi")
SEMI_BATCH = 10


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(DATA / f"{name}.csv")
    y = (df.iloc[:, 0].astype(str).str.strip() == "anomaly").to_numpy().astype(np.int64)
    return df.iloc[:, 1:].to_numpy(dtype=np.float64), y


def run_aad(X: np.ndarray, y: np.ndarray, budget: int, seed: int) -> dict[str, np.ndarray]:
    learner = ForestFeedback.from_data(X, random_state=seed)
    unsupervised = y[learner.ranking()[:budget]]
    shown = []
    for _ in range(budget):
        row = int(top(learner.scores_, shown)[0])
        shown.append(row)
        learner.update([row], [y[row]])
    return {"unsupervised": np.cumsum(unsupervised), "aad": np.cumsum(y[shown])}


def run_semi(X: np.ndarray, y: np.ndarray, budget: int, seed: int) -> np.ndarray:
    forest = detectors.make("iforest", n_estimators=100, max_samples=256, random_state=seed).fit(X)
    scores = forest.decision_scores_
    shown: list[int] = []
    while len(shown) < budget:
        batch = top(scores, shown, min(SEMI_BATCH, budget - len(shown)))
        shown.extend(int(r) for r in batch)
        labelled = np.full(len(y), np.nan)
        labelled[shown] = y[shown]
        if (labelled == 0).sum() >= 2:
            scores = detectors.make("semi", random_state=seed).fit(X, labelled).decision_scores_
    return np.cumsum(y[shown])


def time_updates(n_rows: int = 100_000, n_labels: int = 300) -> dict[str, float]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 10))
    y = np.zeros(n_rows, dtype=np.int64)
    k = n_rows // 100
    X[:k] += rng.normal(0.0, 4.0, size=(k, 10))
    y[:k] = 1
    learner = ForestFeedback.from_data(X, random_state=0)
    threads = numba.get_num_threads()
    learner.update([0], [1])  # compile outside the timing
    learner.forget([0])
    times, cpu, shown = [], [], []
    for _ in range(n_labels):
        row = int(top(learner.scores_, shown)[0])
        shown.append(row)
        start, start_cpu = time.perf_counter(), time.process_time()
        learner.update([row], [y[row]])
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ms = np.asarray(times) * 1000
    cpu_ms = np.asarray(cpu) * 1000
    return {"rows": n_rows, "labels": n_labels, "threads": threads,
            "median_ms": float(np.median(ms)),
            "p90_ms": float(np.quantile(ms, 0.9)), "max_ms": float(ms.max()),
            "cpu_median_ms": float(np.median(cpu_ms)), "cpu_max_ms": float(cpu_ms.max()),
            "load": os.getloadavg()[0]}  # fmt: skip


def run_set(name: str, seeds: int, budget: int) -> dict:
    X, y = load(name)
    budget = min(budget, len(y))
    curves: dict[str, list[list[int]]] = {m: [] for m in METHODS}
    start = time.perf_counter()
    threads = numba.get_num_threads()
    for seed in range(seeds):
        numba.set_num_threads(1)
        try:
            with threadpool_limits(1):
                out = run_aad(X, y, budget, seed)
                out["semi"] = run_semi(X, y, budget, seed)
        finally:
            numba.set_num_threads(threads)
        for m in METHODS:
            curves[m].append(out[m].tolist())
        print(f"  {name} seed {seed}: unsupervised {out['unsupervised'][-1]}, "
              f"aad {out['aad'][-1]}, semi {out['semi'][-1]}", flush=True)  # fmt: skip
    return {"rows": len(y), "anomalies": int(y.sum()), "budget": budget, "seeds": seeds,
            "seconds": time.perf_counter() - start, "curves": curves}  # fmt: skip


def at(curve: list[int], k: int) -> int:
    return curve[min(k, len(curve)) - 1]


def table(results: dict, timing: dict | None) -> str:
    lines = [
        "Anomalies found vs labels (queries), mean ± sd over seeds; budget 300 or the data size.",
        "Machine shared with other jobs (2 cores): times are pessimistic.",
        "",
        f"{'data set':<20} {'rows':>6} {'anom':>5} {'method':<13}"
        + "".join(f"{'@' + str(k):>13}" for k in CHECKPOINTS)
        + f"{'aad/unsup':>11}",
    ]
    verdicts = []
    for name in SETS:
        if name not in results:
            continue
        r = results[name]
        final = {}
        for m in METHODS:
            cells = []
            for k in CHECKPOINTS:
                v = np.array([at(c, k) for c in r["curves"][m]], dtype=float)
                cells.append(f"{v.mean():8.1f} ±{v.std():4.1f}")
            final[m] = np.mean([c[-1] for c in r["curves"][m]])
            ratio = (
                f"{final['aad'] / max(final['unsupervised'], 1e-9):10.2f}x" if m == "aad" else ""
            )
            head = f"{name:<20} {r['rows']:>6} {r['anomalies']:>5}" if m == METHODS[0] else " " * 32
            lines.append(f"{head} {m:<13}" + "".join(f"{c:>13}" for c in cells) + ratio)
        ratio = final["aad"] / max(final["unsupervised"], 1e-9)
        target = 1.5 if name in ("ann_thyroid_1v3", "mammography") else 0.95
        verdicts.append(f"{name}: aad {final['aad']:.1f} vs unsupervised {final['unsupervised']:.1f} "
                        f"at {r['budget']} labels = {ratio:.2f}x (target >= {target}x): "
                        f"{'met' if ratio >= target else 'NOT met'}; {r['seeds']} seeds, "
                        f"{r['seconds']:.0f} s")  # fmt: skip
    lines += ["", *verdicts]
    if timing:
        lines += ["", f"AAD update (weights + re-ranking) at {timing['rows']:,} rows, "
                  f"{timing['labels']} labels one at a time, {timing.get('threads', '?')} numba threads: median {timing['median_ms']:.1f} ms, "
                  f"90th percentile {timing['p90_ms']:.1f} ms, max {timing['max_ms']:.1f} ms "
                  f"(target <= 200 ms); processor time (all threads) median "
                  f"{timing.get('cpu_median_ms', float('nan')):.1f} ms, max "
                  f"{timing.get('cpu_max_ms', float('nan')):.1f} ms; load average "
                  f"{timing.get('load', float('nan')):.1f} on 2 cores during the run."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(SETS), help="comma-separated data set names")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--no-timing", action="store_true", help="skip the 100k-row update timing")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"Feedback data not found at {DATA}; the benchmark needs ../shared/data/feedback.")
    names = [n.strip() for n in args.data.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SETS))
    if unknown:
        sys.exit(f"Unknown data set(s): {', '.join(unknown)}; choose from {', '.join(SETS)}.")
    cache = RESULTS / "feedback.json"
    saved = json.loads(cache.read_text()) if cache.exists() else {"sets": {}, "timing": None}
    for name in names:
        saved["sets"][name] = run_set(name, args.seeds, args.budget)
        cache.write_text(json.dumps(saved))
    if not args.no_timing:
        saved["timing"] = time_updates()
        cache.write_text(json.dumps(saved))
    text = table(saved["sets"], saved["timing"])
    print(text)
    (RESULTS / "feedback.txt").write_text(text)


if __name__ == "__main__":
    main()
