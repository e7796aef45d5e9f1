"""Our own kernels against the libraries they could be replaced by: time and agreement.

Two places where anomalyzer does not call the library made for the job:

- the matrix profile of ``matrix_profile`` (compiled kernels with stumpy's
  definitions: z-normalised Euclidean distance, exclusion zone ``ceil(m / 4)``)
  against ``stumpy.stump`` on NAB series, after both have compiled;
- ROC-AUC and average precision of ``anomalyzer.evaluate`` (one sort, ties as
  one threshold) against scikit-learn's ``roc_auc_score`` and
  ``average_precision_score``.

For each it prints seconds per call (best of three) and the largest absolute
difference of the results. Run ``python benchmarks/kernels.py``; results go to
``benchmarks/results/kernels.txt``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from anomalyzer.compiled import launch
from anomalyzer.evaluate import evaluate
from anomalyzer.timeseries.matrix_profile import _profile_parallel, _subsequence_stats

HERE = Path(__file__).resolve().parent
NAB = HERE.parents[1] / "shared" / "data" / "nab"
SERIES = ["realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv", "realTraffic/speed_7578.csv",
          "realTweets/Twitter_volume_AAPL.csv"]  # fmt: skip


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def our_profile(x: np.ndarray, m: int) -> np.ndarray:
    """Distances to the nearest non-trivial neighbour, as ``matrix_profile`` computes them."""
    n_rows = x.size - m + 1
    T = np.ascontiguousarray(x - x.mean())
    mu, isd, flat = (np.empty(n_rows) for _ in range(3))
    _subsequence_stats(T, m, 0, 1e-8 * float(T.std()), mu, isd, flat)
    excl = math.ceil(m / 4)
    lp, rp = launch(_profile_parallel, T, m, excl, n_rows - 1, 0, 0, mu, isd, flat,
                    np.zeros(n_rows), True, numba.get_num_threads())  # fmt: skip
    return np.sqrt(np.maximum(np.minimum(lp, rp), 0.0))


def matrix_profile_rows() -> list[dict]:
    import stumpy

    rows = []
    start = time.perf_counter()
    stumpy.stump(np.random.default_rng(0).normal(size=200), 16)
    compile_stumpy = time.perf_counter() - start
    start = time.perf_counter()
    our_profile(np.random.default_rng(0).normal(size=200), 16)
    compile_ours = time.perf_counter() - start
    for name in SERIES:
        path = NAB / name
        if not path.exists():
            continue
        x = pd.read_csv(path)["value"].to_numpy(dtype=np.float64)
        for m in (32, 128):
            t_ours, ours = best_of(lambda x=x, m=m: our_profile(x, m))
            t_lib, lib = best_of(lambda x=x, m=m: stumpy.stump(x, m)[:, 0].astype(np.float64))
            finite = np.isfinite(ours) & np.isfinite(lib)
            rows.append({
                "kernel": "matrix profile", "case": f"{Path(name).stem} ({x.size:,} pts), m={m}",
                "ours_s": t_ours, "library_s": t_lib, "speedup": t_lib / t_ours,
                "max_abs_diff": float(np.max(np.abs(ours[finite] - lib[finite]))),
            })  # fmt: skip
    rows.append({"kernel": "matrix profile", "case": "first call in a process (compiling)",
                 "ours_s": compile_ours, "library_s": compile_stumpy,
                 "speedup": compile_stumpy / compile_ours, "max_abs_diff": float("nan")})  # fmt: skip
    return rows


def metric_rows() -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for n in (10_000, 1_000_000, 5_000_000):
        y = (rng.random(n) < 0.02).astype(np.int64)
        # Rounded scores: many ties, where tie handling matters.
        scores = np.round(rng.normal(size=n) + 1.5 * y, 2)
        t_ours, rep = best_of(lambda y=y, s=scores: evaluate(y, s))
        t_lib, lib = best_of(
            lambda y=y, s=scores: (roc_auc_score(y, s), average_precision_score(y, s))
        )
        diff = max(abs(rep.roc_auc - lib[0]), abs(rep.average_precision - lib[1]))
        rows.append({"kernel": "ROC-AUC + AP", "case": f"{n:,} rows, tied scores",
                     "ours_s": t_ours, "library_s": t_lib, "speedup": t_lib / t_ours,
                     "max_abs_diff": diff})  # fmt: skip
    return rows


def main() -> None:
    table = pd.DataFrame(matrix_profile_rows() + metric_rows())
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "kernels.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
