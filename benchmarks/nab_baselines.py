"""NAB scores of two sanity baselines: the null detector and NAB's random detector.

Run with ``python benchmarks/nab_baselines.py [--data FOLDER]``. The corpus is
the NAB data in ``../shared/data/nab`` (``combined_windows.json`` maps
``<folder>/<file>.csv`` to its ``[start, end]`` timestamp windows; each CSV has
``timestamp,value``). The null detector gives every row 0 and scores 0 by
definition. The random detector is NAB's ``RandomDetector``: Python's
``random.uniform(0, 1)`` per row, re-seeded with 42 for every file; the mean
over seeds 0 to 9 shows the spread. NAB v1.0 publishes 11.0 (standard), 1.2
(reward low FP rate) and 19.5 (reward low FN rate) for random, the mean over
seeds on its 58 files (spread 7.95 to 16.83, -1.56 to 2.14 and 11.34 to 23.68);
this corpus holds a subset, so its numbers differ somewhat. An optimised
threshold never scores below the null detector, which can flag nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd

from anomalyzer.evaluate.nab import NabSeries, nab_scores, windows_to_positions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"


def load_nab_corpus(
    root: str | Path = DATA,
) -> list[tuple[str, pd.DataFrame, list[tuple[int, int]]]]:
    """``(name, data, windows)`` per NAB series, in name order.

    ``name`` is the key in ``combined_windows.json`` (``"<folder>/<file>.csv"``),
    ``data`` the CSV with ``timestamp`` parsed, ``windows`` inclusive row ranges.
    """
    root = Path(root)
    with open(root / "combined_windows.json") as f:
        labels = json.load(f)
    corpus = []
    for name in sorted(labels):
        data = pd.read_csv(root / name, parse_dates=["timestamp"])
        corpus.append((name, data, windows_to_positions(data["timestamp"], labels[name])))
    return corpus


def nab_random_scores(n: int, seed: int = 42) -> np.ndarray:
    """NAB's random detector on one file: ``random.uniform(0, 1)`` per row after ``seed``."""
    rng = random.Random(seed)
    return np.array([rng.uniform(0, 1) for _ in range(n)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"NAB folder (default: {DATA})")
    args = parser.parse_args(argv)
    corpus = load_nab_corpus(args.data)
    n_rows = sum(len(data) for _, data, _ in corpus)
    n_windows = sum(len(windows) for _, _, windows in corpus)
    print(f"{len(corpus)} series, {n_rows:,} rows, {n_windows} windows\n")

    def scores_of(make) -> dict[str, float]:
        series = [NabSeries(make(len(data)), windows, name) for name, data, windows in corpus]
        return {p: r.score for p, r in nab_scores(series).items()}

    rows = {
        "null (0)": scores_of(lambda n: np.zeros(n)),
        "random (NAB, seed 42)": scores_of(nab_random_scores),
    }
    start = time.perf_counter()
    seeds = [scores_of(lambda n, s=s: nab_random_scores(n, s)) for s in range(10)]
    rows["random, mean of seeds 0-9"] = pd.DataFrame(seeds).mean().to_dict()
    spread = pd.DataFrame(seeds).agg(["min", "max"])
    table = pd.DataFrame(rows).T
    print(table.round(2).to_string())
    print("\nrandom, seeds 0-9, min and max:")
    print(spread.round(2).to_string())
    print(f"\n(10 seeds x 3 profiles scored in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
