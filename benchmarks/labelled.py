"""Labels help: ``supervised`` and ``semi`` against the unsupervised ``auto`` on held-out rows.

Run with ``python benchmarks/labelled.py --help``. Each ADBench data set is split
70/30, stratified on the label (``random_state=0``). ``supervised`` and ``semi``
learn from the 70% with its labels, ``auto`` (or the detector named with
``--unsupervised``; ``iforest`` stands in while ``auto`` is not in the
registry) from the same rows without them; all three score the 30% with
``decision_function``. Average precision, ROC-AUC and fit + score seconds are
printed per data set and averaged per method, and written long-form to a CSV
file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from anomalyzer import benchmarking, detectors

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "labelled.csv"
SEED = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", help="comma-separated parts of data set file names; default: all"
    )
    parser.add_argument(
        "--max-train",
        type=int,
        default=100_000,
        help="stratified sample of at most this many training rows (default 100000)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"CSV file to write (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--unsupervised",
        default="auto",
        help="the unsupervised detector to compare with (default: auto, or iforest while "
        "auto is not in the registry)",
    )
    parser.add_argument("--data", type=Path, default=DATA, help=f"data folder (default: {DATA})")
    return parser.parse_args(argv)


def unsupervised_method(name: str = "auto") -> tuple[str, str | None]:
    """The unsupervised method to beat, and a note when ``iforest`` stands in for ``auto``.

    >>> unsupervised_method("knn")
    ('knn', None)
    """
    if name != "auto" or "auto" in detectors.available():
        return detectors.spec(name).name, None
    return "iforest", "'auto' is not in the registry yet; 'iforest' stands in for it."


def split(
    X: np.ndarray, y: np.ndarray, max_train: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Stratified 70/30 split; the training part cut to ``max_train`` rows (stratified too).

    >>> X, y = np.arange(40.0).reshape(20, 2), np.r_[np.zeros(16), np.ones(4)]
    >>> X_tr, X_te, y_tr, y_te, note = split(X, y, max_train=100)
    >>> len(y_tr), len(y_te), int(y_te.sum()), note
    (14, 6, 1, None)
    """
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=SEED)
    note = None
    if len(y_tr) > max_train:
        before = len(y_tr)
        X_tr, _, y_tr, _ = train_test_split(
            X_tr, y_tr, train_size=max_train, stratify=y_tr, random_state=SEED
        )
        note = f"training part sampled from {before:,} to {len(y_tr):,} rows (stratified)"
    return X_tr, X_te, y_tr, y_te, note


def build(name: str, **params: Any) -> Any:
    """A detector of the registry, seeded when it takes a seed."""
    if detectors.accepts(name, "random_state"):
        params.setdefault("random_state", SEED)
    return detectors.make(name, **params)


def run_method(
    name: str,
    X_tr: np.ndarray,
    y_tr: np.ndarray,
    X_te: np.ndarray,
    y_te: np.ndarray,
    labels: bool,
) -> dict[str, Any]:
    """Fit ``name`` on the training part (with labels or without), score the test part."""
    det = build(name)
    start = time.perf_counter()
    if labels:
        det.fit(X_tr, y_tr)
    else:
        det.fit(X_tr)
    scores = det.decision_function(X_te)
    seconds = time.perf_counter() - start
    return {
        "ap": float(average_precision_score(y_te, scores)),
        "roc_auc": float(roc_auc_score(y_te, scores)),
        "seconds": seconds,
    }


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Mean AP, ROC-AUC and seconds per method, and on how many data sets its AP is best.

    A tie for the best AP counts for every method in it.
    """
    top = df["ap"] >= df.groupby("dataset")["ap"].transform("max")
    best = df.loc[top, "method"].value_counts()
    out = df.groupby("method", sort=False)[["ap", "roc_auc", "seconds"]].mean()
    out.columns = ["mean_ap", "mean_roc_auc", "mean_seconds"]
    out["best_ap"] = best.reindex(out.index).fillna(0).astype(int)
    return out.sort_values("mean_ap", ascending=False).reset_index()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"ADBench data not found at {args.data}; nothing to benchmark.")
        return 0
    parts = [p for p in (args.datasets or "").split(",") if p.strip()]
    paths = benchmarking.find_datasets(args.data, parts)
    if not paths:
        print("No data set selected; nothing to benchmark.")
        return 0
    unsupervised, why = unsupervised_method(args.unsupervised)
    if why:
        print(why)
    methods = [("supervised", True), ("semi", True), (unsupervised, False)]
    rows = []
    for path in paths:
        name = benchmarking.dataset_name(path)
        X, y = benchmarking.load_dataset(path)
        X_tr, X_te, y_tr, y_te, note = split(X, y, args.max_train)
        if note:
            print(f"{name}: {note}")
        for method, labels in methods:
            result = run_method(method, X_tr, y_tr, X_te, y_te, labels)
            rows.append({"dataset": name, "method": method, "n_train": len(y_tr), **result})
            print(
                f"{name:<14} {method:<11} AP {result['ap']:.3f}  ROC-AUC {result['roc_auc']:.3f}  "
                f"{result['seconds']:7.2f} s",
                flush=True,
            )
    df = pd.DataFrame(rows)
    wide = df.pivot(index="dataset", columns="method", values="ap")
    wide = wide.reindex(index=df["dataset"].unique(), columns=[m for m, _ in methods])
    print("\nAP on the test parts")
    print(benchmarking.format_table(wide, index=True))
    print("\nMeans over data sets")
    print(benchmarking.format_table(summarise(df), digits={"mean_seconds": 2, "best_ap": 0}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(f"\nWrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
