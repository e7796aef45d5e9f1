"""ADBench's classical data sets: every detector of the registry against PyOD's references.

Run with ``make bench`` or ``python benchmarks/adbench.py --help``. Each
detector is fitted without labels on all rows of each data set and scores
the same rows; ROC-AUC, average precision, fit + score seconds and peak
memory are printed, written long-form to a CSV file and summarised in a
markdown file next to it. The work is done by :mod:`anomalyzer.benchmarking`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from anomalyzer import benchmarking

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "adbench.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--detectors",
        help="comma-separated detector names (registry names or pyod:iforest, pyod:ecod, "
        "pyod:knn); default: every registered detector and the three PyOD references",
    )
    parser.add_argument(
        "--datasets", help="comma-separated parts of data set file names; default: all"
    )
    parser.add_argument("--max-rows", type=int, help="skip data sets with more rows than this")
    parser.add_argument("--no-pyod", action="store_true", help="leave out the PyOD references")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"CSV file to write (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds before a run is stopped (default 600)"
    )
    parser.add_argument("--data", type=Path, default=DATA, help=f"data folder (default: {DATA})")
    return parser.parse_args(argv)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _progress(total: int) -> Any:
    done = 0

    def report(row: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if row["status"] == "ok":
            detail = (
                f"ROC-AUC {row['roc_auc']:.3f}  AP {row['ap']:.3f}  "
                f"{row['seconds']:.2f} s  {row['peak_mib']:.0f} MiB"
            )
        else:
            detail = row["status"]
        step = f"[{done:>{len(str(total))}}/{total}]"
        print(f"{step} {row['dataset']:<14} {row['detector']:<14} {detail}", flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"ADBench data not found at {args.data}; nothing to benchmark.")
        return 0
    detectors = _split(args.detectors) or benchmarking.default_detectors(not args.no_pyod)
    if args.no_pyod:
        detectors = [d for d in detectors if not d.startswith("pyod:")]
    every = benchmarking.find_datasets(args.data, _split(args.datasets))
    datasets = benchmarking.find_datasets(args.data, _split(args.datasets), args.max_rows)
    skipped = sorted(set(every) - set(datasets))
    if skipped:
        names = ", ".join(benchmarking.dataset_name(p) for p in skipped)
        print(f"Skipping {len(skipped)} data set(s) over {args.max_rows:,} rows: {names}")
    if not datasets or not detectors:
        print("No data set or detector selected; nothing to benchmark.")
        return 0

    print(
        f"{len(detectors)} detector(s) x {len(datasets)} data set(s), timeout {args.timeout:g} s; "
        f"{benchmarking.PEAK_NOTE}.",
        flush=True,
    )
    df = benchmarking.run_benchmark(
        detectors,
        datasets,
        timeout=args.timeout,
        progress=_progress(len(detectors) * len(datasets)),
    )
    summary = benchmarking.summarise(df)
    print()
    print(benchmarking.render_text(df, summary))
    csv_path, md_path = benchmarking.write_results(df, args.out, summary)
    print(f"\nWrote {csv_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
