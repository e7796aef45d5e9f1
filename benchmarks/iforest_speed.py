"""Speed and accuracy of anomalyzer's IForest against PyOD's IForest on the ADBench data.

Each detector is fitted on all rows of a data set and then scores those rows
again with ``decision_function``: "fit" is the fit alone (both detectors score
the training rows inside it, for ``decision_scores_``), "score" the second
pass, "cpu" the processor time of both summed over threads (the work done,
which moves less than wall-clock time on a machine shared with other jobs).
ROC-AUC is that of ``decision_scores_`` against the labels. PyOD runs as
configured by default (one thread) and, in the "x2 total" column, with two
threads (``n_jobs=2`` for the trees and a two-thread joblib backend for the
scoring), to compare like with like on a two-core machine.

Run ``python benchmarks/iforest_speed.py`` for the data sets with more than
100k rows, ``--all`` for all 29, or name data sets: ``... 16_http 33_skin``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from anomalyzer.detectors.iforest import IForest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"
BIG = ["10_cover", "11_donors", "16_http", "33_skin"]


def time_detector(make: object, X: np.ndarray, y: np.ndarray, repeat: int) -> tuple:
    """Best-of-``repeat`` fit, score and CPU seconds, and the ROC-AUC of the training scores."""
    fits, scores, cpus = [], [], []
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        det = make().fit(X)
        fitted = time.perf_counter()
        det.decision_function(X)
        fits.append(fitted - start)
        scores.append(time.perf_counter() - fitted)
        cpus.append(time.process_time() - cpu)
    return min(fits), min(scores), min(cpus), roc_auc_score(y, det.decision_scores_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", help="data set names (default: those > 100k rows)")
    parser.add_argument("--all", action="store_true", help="all data sets in the folder")
    parser.add_argument("--repeat", type=int, default=1, help="runs per detector; best is shown")
    parser.add_argument("--seed", type=int, default=0, help="random_state of both detectors")
    parser.add_argument("--no-threads", action="store_true", help="skip the two-thread PyOD run")
    args = parser.parse_args()

    if not DATA.is_dir():
        sys.exit(f"ADBench data not found at {DATA}; put the .npz files (X, y) there first.")
    try:
        from joblib import parallel_backend
        from pyod.models.iforest import IForest as PyODIForest
    except ImportError:
        sys.exit("PyOD is not installed; install it with: pip install pyod")

    names = sorted(p.stem for p in DATA.glob("*.npz")) if args.all else args.datasets or BIG
    missing = [n for n in names if not (DATA / f"{n}.npz").exists()]
    if missing:
        sys.exit(f"Data set(s) {', '.join(missing)} not found in {DATA}.")

    # The first fit loads the compiled kernels from numba's cache (or compiles
    # them, once per machine); keep that out of the timings.
    start = time.perf_counter()
    IForest(n_estimators=2, random_state=0).fit(np.random.default_rng(0).normal(size=(300, 2)))
    print(f"anomalyzer IForest kernels ready in {time.perf_counter() - start:.2f} s")

    def ours() -> IForest:
        return IForest(random_state=args.seed)

    def pyod() -> PyODIForest:
        return PyODIForest(random_state=args.seed)

    class PyODThreads:
        """PyOD's IForest with two threads for fitting and scoring."""

        def fit(self, X: np.ndarray) -> PyODThreads:
            with parallel_backend("threading", n_jobs=2):
                self.det = PyODIForest(random_state=args.seed, n_jobs=2).fit(X)
            self.decision_scores_ = self.det.decision_scores_
            return self

        def decision_function(self, X: np.ndarray) -> np.ndarray:
            with parallel_backend("threading", n_jobs=2):
                return self.det.decision_function(X)

    header = (
        f"{'data set':<16}{'rows':>8}{'cols':>5} | {'ours fit':>8}{'score':>7}{'total':>7}{'cpu':>7}"
        f" | {'PyOD fit':>8}{'score':>7}{'total':>7}{'cpu':>7}{'x2 total':>9}"
        f" | {'speed-up':>8}{'vs x2':>7}{'cpu':>7} | {'AUC ours':>8}{'PyOD':>7}"
    )
    print(header)
    print("-" * len(header))
    aucs = []
    for name in sorted(names, key=lambda n: int(n.split("_")[0])):
        data = np.load(DATA / f"{name}.npz")
        X, y = np.ascontiguousarray(data["X"], dtype=np.float64), data["y"]
        o_fit, o_score, o_cpu, o_auc = time_detector(ours, X, y, args.repeat)
        p_fit, p_score, p_cpu, p_auc = time_detector(pyod, X, y, args.repeat)
        o_total, p_total = o_fit + o_score, p_fit + p_score
        if args.no_threads:
            t_total = float("nan")
        else:
            t_fit, t_score, _, _ = time_detector(PyODThreads, X, y, args.repeat)
            t_total = t_fit + t_score
        aucs.append((o_auc, p_auc))
        threads = "  n/a" if np.isnan(t_total) else f"{t_total / o_total:>5.1f}x"
        print(
            f"{name:<16}{X.shape[0]:>8}{X.shape[1]:>5}"
            f" | {o_fit:>8.3f}{o_score:>7.3f}{o_total:>7.3f}{o_cpu:>7.2f}"
            f" | {p_fit:>8.3f}{p_score:>7.3f}{p_total:>7.3f}{p_cpu:>7.2f}{t_total:>9.3f}"
            f" | {p_total / o_total:>7.1f}x {threads}{p_cpu / o_cpu:>6.1f}x"
            f" | {o_auc:>8.4f}{p_auc:>7.4f}",
            flush=True,
        )
    mean = np.mean(aucs, axis=0)
    print(f"mean ROC-AUC over {len(aucs)} data set(s): ours {mean[0]:.4f}, PyOD {mean[1]:.4f}")


if __name__ == "__main__":
    main()
