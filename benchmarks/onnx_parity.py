"""ONNX export: parity with the native scores, and latency, for every exportable detector.

For each detector that exports (``anomalyzer.export.exportable()``, ``auto``
included) a ``Model`` is fitted and exported (``to_onnx``, which runs its own
check), then its scores are compared once more here, outside the export:

- on each shared ADBench table (``../shared/data/adbench``), fitted and
  checked on at most ``--max-rows`` rows drawn at random (seed 0; default 1,000:
  29 tables x 15 detectors fitted, exported and checked must fit in a few
  minutes on two shared cores);
- on ``examples/transactions.csv`` (5,000 rows, mixed types: dates, text
  categories with missing values, numbers with missing values), all rows.

Parity columns: the largest ``|onnx - native|`` score difference, the largest
relative difference, and the flags that differ (in brackets: those whose
native score is more than 1e-5 from the threshold, which must be 0). The
targets are ``|diff| <= 1e-5`` (relative 1e-4 for ``ocsvm``).

Latency, on the transactions model: median wall time of scoring 1 row (200
calls through onnxruntime, 20 natively) and 10,000 rows (the table twice, 3
calls each) through an onnxruntime
session (the arrays prepared beforehand, as a service holding them would) and
through ``Model.score`` on a DataFrame (the native path, preprocessing
included as in the graph). Timings on a shared machine are pessimistic.

Run ``python benchmarks/onnx_parity.py`` (``--skip-adbench`` for the
transactions only, ``--detectors iforest pca`` for some detectors: a run
updates the rows of the detectors it measured in the results file, so the
whole table, about ten minutes on two shared cores, can be run in parts).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import anomalyzer as az
from anomalyzer.export import exportable, onnx_inputs
from anomalyzer.export.onnx import session

ROOT = Path(__file__).resolve().parents[1]
ADBENCH = ROOT.parent / "shared" / "data" / "adbench"
TRANSACTIONS = ROOT / "examples" / "transactions.csv"
RESULTS = ROOT / "benchmarks" / "results" / "onnx_parity.txt"
NEAR = 1e-5


def parity(model: az.Model, df: pd.DataFrame, proto: object) -> tuple[float, float, int, int]:
    """Max abs and relative score difference, flags that differ, and those away from the threshold."""
    sess = session(proto)
    feeds = onnx_inputs(model.preprocessor_, df)
    step = 500
    scores, flags = [], []
    for start in range(0, len(df), step):
        s, f = sess.run(None, {k: v[start : start + step] for k, v in feeds.items()})
        scores.append(s)
        flags.append(f)
    onnx_scores, onnx_flags = np.concatenate(scores), np.concatenate(flags)
    native = model.score(df)
    diff = np.abs(onnx_scores - native)
    rel = diff / np.maximum(np.abs(native), np.finfo(float).tiny)
    differ = onnx_flags != (native > model.threshold_)
    away = differ & (np.abs(native - model.threshold_) > NEAR)
    return float(diff.max()), float(rel.max()), int(differ.sum()), int(away.sum())


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def adbench_tables(names: list[str] | None, max_rows: int) -> list[tuple[str, pd.DataFrame]]:
    tables = []
    for path in sorted(ADBENCH.glob("*.npz"), key=lambda p: int(p.stem.split("_")[0])):
        if names and path.stem not in names:
            continue
        X = np.load(path)["X"]
        if len(X) > max_rows:
            rows = np.random.default_rng(0).choice(len(X), size=max_rows, replace=False)
            X = X[np.sort(rows)]
        tables.append((path.stem, pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])))
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="*", help="detector names (default: all exportable)")
    parser.add_argument("--datasets", nargs="*", help="ADBench names (default: all)")
    parser.add_argument("--max-rows", type=int, default=1000, help="rows per ADBench table")
    parser.add_argument("--skip-adbench", action="store_true", help="only the transactions")
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    names = args.detectors or exportable()
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    tables = []
    if not args.skip_adbench:
        if not ADBENCH.is_dir():
            sys.exit(f"ADBench data not found at {ADBENCH}; use --skip-adbench or add the data.")
        tables = adbench_tables(args.datasets, args.max_rows)
    transactions = pd.read_csv(TRANSACTIONS)
    twice = pd.concat([transactions, transactions], ignore_index=True)
    one = transactions.iloc[[17]]

    say(f"ONNX parity and latency (onnxruntime {__import__('onnxruntime').__version__})")
    say(
        f"ADBench: {len(tables)} tables, at most {args.max_rows:,} rows each (seed 0); "
        f"transactions: {len(transactions):,} rows, mixed types"
    )
    say()
    header = (
        f"{'detector':<12} {'ADBench max|diff|':>17} {'max rel':>8} {'flags':>8} "
        f"{'trans. max|diff|':>16} {'flags':>6} {'ort 1 row':>10} {'native 1':>9} "
        f"{'ort 10k':>9} {'native 10k':>10} {'MB':>5}"
    )
    say(header)
    say("-" * len(header))
    worst: dict[str, str] = {}
    rows: dict[str, str] = {}
    started = time.perf_counter()
    for name in names:
        ad_abs = ad_rel = 0.0
        ad_flags = ad_away = 0
        for table_name, df in tables:
            model = az.Model(name).fit(df)
            proto = model.to_onnx(data=df)
            a, r, f, w = parity(model, df, proto)
            if a > ad_abs:
                worst[name] = f"{name}: largest ADBench |diff| on {table_name}"
            ad_abs, ad_rel = max(ad_abs, a), max(ad_rel, r)
            ad_flags, ad_away = ad_flags + f, ad_away + w
        model = az.Model(name).fit(transactions, label="is_fraud")
        proto = model.to_onnx(data=transactions)
        t_abs, _, t_flags, t_away = parity(model, transactions, proto)
        sess = session(proto)
        feeds_one = onnx_inputs(model.preprocessor_, one)
        feeds_twice = onnx_inputs(model.preprocessor_, twice)
        ort_one = median_ms(lambda s=sess, f=feeds_one: s.run(None, f), 200)
        nat_one = median_ms(lambda m=model: m.score(one), 20)
        ort_10k = median_ms(lambda s=sess, f=feeds_twice: s.run(None, f), 3)
        nat_10k = median_ms(lambda m=model: m.score(twice), 3)
        ad = (
            f"{ad_abs:17.2e} {ad_rel:8.1e} {f'{ad_flags} ({ad_away})':>8}"
            if tables
            else (f"{'-':>17} {'-':>8} {'-':>8}")
        )
        rows[name] = (
            f"{name:<12} {ad} {t_abs:16.2e} {f'{t_flags} ({t_away})':>6} "
            f"{ort_one:8.3f}ms {nat_one:7.2f}ms {ort_10k:7.1f}ms {nat_10k:8.1f}ms "
            f"{proto.ByteSize() / 1e6:5.1f}"
        )
        say(rows[name])
    say()
    say(
        f"Total {time.perf_counter() - started:.0f} s on a shared 2-core machine (timings pessimistic)."
    )
    for line in worst.values():
        say(line)
    if not args.no_save:
        notes = lines[lines.index("-" * len(header)) + 1 + len(rows) :]
        save(lines[:2], header, rows, [n for n in notes if n.strip()])
        print(f"Wrote {RESULTS}")


def save(intro: list[str], header: str, rows: dict[str, str], notes: list[str]) -> None:
    """Write this run's rows into the results file, keeping the rows of detectors not run now.

    A run of some detectors (``--detectors``) updates their rows and notes only,
    so that the whole table can be measured in several runs of a few minutes.
    """
    names = exportable()
    kept: dict[str, str] = {}
    blocks: list[list[str]] = []
    if RESULTS.exists():
        previous = RESULTS.read_text().splitlines()
        if header in previous:
            for line in previous[previous.index(header) + 2 :]:
                first = line.split()[:1]
                if first and first[0] in names:
                    kept[first[0]] = line
                elif line.startswith("Run of "):
                    blocks.append([line])
                elif line.startswith("  ") and blocks:
                    blocks[-1].append(line)
    kept.update(rows)
    # Notes of earlier runs stay, less those on detectors measured again now.
    blocks = [[b[0], *(n for n in b[1:] if n.split(":")[0].strip() not in rows)] for b in blocks]
    body = [*intro, "", header, "-" * len(header), *(kept[n] for n in names if n in kept), ""]
    for block in [*blocks, [f"Run of {', '.join(rows)}:", *("  " + n for n in notes)]]:
        body += block
    RESULTS.write_text("\n".join(body) + "\n")


if __name__ == "__main__":
    main()
