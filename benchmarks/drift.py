"""Drift monitoring: false alarms, power and naming in batches; alarms and delays on streams; scale.

    python benchmarks/drift.py                    # every part, writes benchmarks/results/drift.txt
    python benchmarks/drift.py --part batch --sets cover   # one part (batch, stream or
                                                  # scale), batch on some data sets; the
                                                  # same section of drift.txt is replaced
    python benchmarks/drift.py --quick            # fewer batches and streams, a smoke run

Batch (``Model.monitor`` with its default rules, iforest models with
contamination 0.01): each data set keeps 10 numeric columns and gets an 11th,
categorical one (the first column's training quartiles as levels a-d). A model
is fitted on training rows (normal rows only for ADBench); batches of 1,000
rows are drawn from the other rows. Scenarios: no shift (200 batches), a mean
shift of 0.25, 0.5 and 1 training SD in one of the 10 columns (a different
column per batch, in turn), a new category in 10% of the rows, a scale change
(deviations from the median x1.5 in one column) and 10% missing values in one
column. Printed: the share of batches with drift (false-alarm rate for no
shift, power otherwise) and, among detected batches, the share whose first
drifted column is the shifted one.

Stream (:class:`~anomalyzer.monitor.StreamDrift`, default settings): clean
streams of 20,000 points (false alarms per 20,000 points), and streams
shifted by 0.5 and 1 SD after 2,000 points (median delay to the first alarm
after the change, and the share missed: no alarm within 2,000 points). The
streams: standard normal points; ADBench anomaly scores of held-out normal
rows in random order (the model's training scores as the reference; flags fed
too), the shift added to the scores; NAB series in time order, the first
1,000 points as the reference, the shift added to the values. NAB's own
alarm counts include the series' real changes.

Scale: ``Model.monitor`` on 1,000,000 new rows (10 numeric, 2 categorical
columns) against an iforest model fitted on 20,000 rows; wall time, target 30 s.

Data: ``../shared/data/adbench`` and ``../shared/data/nab`` (skipped with a
note when missing). Nothing here is tuned to these data sets; the rules and
detector settings are the library's defaults.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import anomalyzer as az
from anomalyzer.data.sketches import numeric_sketch
from anomalyzer.monitor.stream import StreamDrift

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "drift.txt"
BATCH = 1000
N_FEATURES = 10
ADBENCH = ("10_cover", "30_satellite")
SHIFTS = (0.25, 0.5, 1.0)
STREAM_CLEAN = 20_000
CHANGE_AT = 2_000
AFTER = 2_000


# -- data ----------------------------------------------------------------------------------


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """10 numeric columns of different shapes (normal, log-normal, counts, gamma), correlated in pairs."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, N_FEATURES))
    base[:, 1::2] = 0.6 * base[:, 0::2] + 0.8 * base[:, 1::2]
    cols = {}
    for j in range(N_FEATURES):
        z = base[:, j]
        kind = j % 4
        if kind == 0:
            cols[f"f{j}"] = 50 + 10 * z
        elif kind == 1:
            cols[f"f{j}"] = np.exp(3 + 0.5 * z)
        elif kind == 2:
            cols[f"f{j}"] = np.floor(np.exp(1.5 + 0.4 * z)).astype(float)
        else:
            cols[f"f{j}"] = 5 * (z + 3) ** 2 / 9
    return pd.DataFrame(cols)


def adbench(name: str) -> pd.DataFrame | None:
    path = DATA / "adbench" / f"{name}.npz"
    if not path.exists():
        return None
    d = np.load(path)
    X = d["X"][d["y"] == 0]
    keep = [j for j in range(X.shape[1]) if len(np.unique(X[:, j])) > 5][:N_FEATURES]
    return pd.DataFrame(X[:, keep], columns=[f"f{j}" for j in range(len(keep))])


def with_segment(df: pd.DataFrame, edges: np.ndarray) -> pd.DataFrame:
    out = df.copy()
    out["segment"] = np.array(list("abcd"))[np.searchsorted(edges, df["f0"].to_numpy())]
    return out


def batch_sets(names: list[str]) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(name, training rows, pool of new rows) per data set."""
    sets = []
    if "synthetic" in names:
        sets.append(("synthetic", synthetic(10_000, 0), synthetic(50_000, 1)))
    for name in ADBENCH:
        if name.split("_", 1)[1] not in names:
            continue
        df = adbench(name)
        if df is None:
            print(f"skipped {name}: {DATA / 'adbench'} not found")
            continue
        df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
        n_train = min(10_000, int(0.4 * len(df)))
        sets.append((name.split("_", 1)[1], df.iloc[:n_train], df.iloc[n_train:]))
    out = []
    for name, train, pool in sets:
        edges = np.quantile(train["f0"], [0.25, 0.5, 0.75])
        out.append((name, with_segment(train, edges), with_segment(pool, edges)))
    return out


# -- batch -----------------------------------------------------------------------------------


def scenarios(
    train: pd.DataFrame,
) -> dict[str, Callable[[pd.DataFrame, int], tuple[pd.DataFrame, str]]]:
    sd = train.std(numeric_only=True)
    med = train.median(numeric_only=True)

    def none(b: pd.DataFrame, j: int) -> tuple[pd.DataFrame, str]:
        return b, ""

    def mean(k: float) -> Callable[[pd.DataFrame, int], tuple[pd.DataFrame, str]]:
        def shift(b: pd.DataFrame, j: int) -> tuple[pd.DataFrame, str]:
            col = f"f{j}"
            return b.assign(**{col: b[col] + k * sd[col]}), col

        return shift

    def category(b: pd.DataFrame, j: int) -> tuple[pd.DataFrame, str]:
        out = b.copy()
        out.loc[out.index[::10], "segment"] = "new"
        return out, "segment"

    def scale(b: pd.DataFrame, j: int) -> tuple[pd.DataFrame, str]:
        col = f"f{j}"
        return b.assign(**{col: med[col] + 1.5 * (b[col] - med[col])}), col

    def missing(b: pd.DataFrame, j: int) -> tuple[pd.DataFrame, str]:
        col = f"f{j}"
        out = b.copy()
        out.loc[out.index[::10], col] = np.nan
        return out, col

    return {
        "no shift": none,
        **{f"mean +{k:g} SD": mean(k) for k in SHIFTS},
        "new category (10%)": category,
        "scale x1.5": scale,
        "10% missing": missing,
    }


def run_batch(quick: bool, sets: list[str]) -> str:
    n_clean, n_shifted = (40, 10) if quick else (200, 40)
    lines = [
        "Batch drift (Model.monitor, default rules; 1,000-row batches; iforest, contamination 0.01)",
        f"{'data':<11} {'scenario':<20} {'batches':>7} {'drift':>7} {'named first':>12} {'s/batch':>8}",
    ]
    for name, train, pool in batch_sets(sets):
        model = az.Model("iforest", contamination=0.01).fit(train)
        rng = np.random.default_rng(7)
        for scenario, make in scenarios(train).items():
            n = n_clean if scenario == "no shift" else n_shifted
            alarms = named = 0
            t0 = time.perf_counter()
            for i in range(n):
                rows = rng.choice(len(pool), BATCH, replace=False)
                batch, col = make(pool.iloc[rows].reset_index(drop=True), i % N_FEATURES)
                report = model.monitor(batch)
                if report.drifted:
                    alarms += 1
                    named += bool(col) and report.drifted_columns[:1] == [col]
            seconds = (time.perf_counter() - t0) / n
            first = f"{named / alarms:.0%}" if alarms and scenario != "no shift" else "-"
            lines.append(
                f"{name:<11} {scenario:<20} {n:>7} {alarms / n:>7.1%} {first:>12} {seconds:>8.2f}"
            )
            print(lines[-1], flush=True)
    lines.append(
        "Targets: false alarms <= 5% (no shift); power >= 95% at +0.5 SD; named first >= 90%."
    )
    return "\n".join(lines)


# -- stream ----------------------------------------------------------------------------------


def first_alarm(watch: StreamDrift, x: np.ndarray, flags: np.ndarray | None) -> list[int]:
    return sorted({e.index for e in watch.update_many(x, flags)})


def stream_sources(quick: bool) -> list[tuple[str, Callable[[np.random.Generator, int], tuple]]]:
    """(name, draw) where draw(rng, n) gives (reference sketch or None, points, flags or None, sd)."""
    out = []

    def normal(rng: np.random.Generator, n: int) -> tuple:
        return numeric_sketch(rng.normal(size=5000)), rng.normal(size=n), None, 1.0

    out.append(("normal", normal))
    for name in ADBENCH[:1] if quick else ADBENCH:
        df = adbench(name)
        if df is None:
            continue
        df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
        n_train = min(10_000, int(0.4 * len(df)))
        model = az.Model("iforest", contamination=0.01).fit(df.iloc[:n_train])
        scores = model.score(df.iloc[n_train:])
        ref = model.sketch_["scores"]

        def draw(rng: np.random.Generator, n: int, s=scores, r=ref, t=model.threshold_) -> tuple:
            x = rng.choice(s, n, replace=True)
            return r, x, x > t, float(r["std"])

        out.append((f"{name.split('_', 1)[1]} scores", draw))
    return out


def nab_series() -> list[tuple[str, np.ndarray]]:
    root = DATA / "nab"
    if not root.exists():
        print(f"skipped NAB: {root} not found")
        return []
    out = []
    for key in sorted(json.loads((root / "combined_windows.json").read_text())):
        values = pd.read_csv(root / key)["value"].to_numpy(dtype=float)
        if len(values) >= 1000 + CHANGE_AT and len(np.unique(values[:1000])) >= 20:
            out.append((key, values))
    return out


def run_stream(quick: bool, sets: list[str]) -> str:
    n_clean, n_shift = (5, 20) if quick else (20, 100)
    lines = [
        "Stream drift (StreamDrift defaults: Page-Hinkley delta 0.25 threshold 25, ADWIN delta 0.001)",
        f"{'stream':<22} {'alarms/20k clean':>16} {'delay 1 SD':>11} {'missed':>7} "
        f"{'delay 0.5 SD':>13} {'missed':>7}",
    ]
    for name, draw in stream_sources(quick):
        rng = np.random.default_rng(11)
        clean = 0
        for _ in range(n_clean):
            ref, x, flags, _sd = draw(rng, STREAM_CLEAN)
            clean += len(first_alarm(StreamDrift(ref), x, flags))
        cells = [f"{clean / n_clean:>16.2f}"]
        for k in (1.0, 0.5):
            delays, missed = [], 0
            for _ in range(n_shift):
                ref, x, flags, sd = draw(rng, CHANGE_AT + AFTER)
                x = x.copy()
                x[CHANGE_AT:] += k * sd
                if flags is not None:
                    flags = flags.copy()
                    flags[CHANGE_AT:] = x[CHANGE_AT:] > np.quantile(x[:CHANGE_AT], 0.99)
                after = [i for i in first_alarm(StreamDrift(ref), x, flags) if i >= CHANGE_AT]
                if after:
                    delays.append(after[0] - CHANGE_AT)
                else:
                    missed += 1
            med = f"{np.median(delays):.0f}" if delays else "-"
            cells += [f"{med:>11}" if k == 1.0 else f"{med:>13}", f"{missed / n_shift:>7.0%}"]
        lines.append(f"{name:<22} " + " ".join(cells))
        print(lines[-1], flush=True)
    series = nab_series()
    if series:
        rng = np.random.default_rng(13)
        per_20k, delays, missed, n = [], {1.0: [], 0.5: []}, {1.0: 0, 0.5: 0}, 0
        for _key, values in series[: 10 if quick else None]:
            watch = StreamDrift(warmup=1000)
            alarms = first_alarm(watch, values, None)
            per_20k.append(len(alarms) / max(len(values) - 1000, 1) * 20_000)
            sd = float(np.std(values[:1000])) or 1.0
            for k in (1.0, 0.5):
                for _ in range(2):
                    at = 1000 + int(rng.integers(500, max(501, len(values) - 1000 - 1500)))
                    x = values.copy()
                    x[at:] += k * sd
                    after = [
                        i
                        for i in first_alarm(StreamDrift(warmup=1000), x[: at + AFTER], None)
                        if i >= at
                    ]
                    if after:
                        delays[k].append(after[0] - at)
                    else:
                        missed[k] += 1
            n += 1
        lines.append(
            f"{'NAB values (' + str(n) + ')':<22} {np.median(per_20k):>16.2f} "
            f"{np.median(delays[1.0]):>11.0f} {missed[1.0] / (2 * n):>7.0%} "
            f"{np.median(delays[0.5]):>13.0f} {missed[0.5] / (2 * n):>7.0%}"
        )
        lines.append(
            "NAB: alarms per 20k on the unshifted series (median over series; real changes "
            "included); the shift starts at a random point."
        )
        print(lines[-2], flush=True)
    lines.append(
        "Targets: <= 1 false alarm per 20,000 clean points; median delay <= 100 (1 SD), "
        "<= 250 (0.5 SD); missed <= 5%."
    )
    return "\n".join(lines)


# -- scale -----------------------------------------------------------------------------------


def run_scale(quick: bool, sets: list[str]) -> str:
    n = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(3)
    big = synthetic(n, 5)
    big["segment"] = rng.choice(["a", "b", "c", "d"], n)
    big["country"] = rng.choice([f"c{i:02d}" for i in range(30)], n)
    train = synthetic(20_000, 6)
    train["segment"] = rng.choice(["a", "b", "c", "d"], 20_000)
    train["country"] = rng.choice([f"c{i:02d}" for i in range(30)], 20_000)
    model = az.Model("iforest", contamination=0.01).fit(train)
    t0 = time.perf_counter()
    report = model.monitor(big)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.score(big)
    scoring = time.perf_counter() - t0
    line = (
        f"Scale: Model.monitor on {n:,} rows x 12 columns (iforest fitted on 20,000 rows): "
        f"{seconds:.1f} s (target 30 s), of which scoring alone takes {scoring:.1f} s; "
        f"drift reported: {report.drifted}"
    )
    print(line, flush=True)
    return line


# -- main ------------------------------------------------------------------------------------

PARTS = {"batch": run_batch, "stream": run_stream, "scale": run_scale}


def save(sections: dict[str, str], quick: bool) -> None:
    """Write the sections run now into drift.txt, keeping the others from an earlier run."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    kept = dict(re.findall(r"=== (.+?) ===\n(.*?)(?=\n=== |\Z)", old, flags=re.S))
    kept.update(sections)
    body = "\n".join(f"=== {k} ===\n{kept[k].rstrip()}\n" for k in sorted(kept))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(body)
    print(f"Wrote {RESULTS}" + (" (quick run)" if quick else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=sorted(PARTS), action="append")
    parser.add_argument("--quick", action="store_true", help="fewer batches and streams")
    parser.add_argument(
        "--sets",
        default="synthetic,cover,satellite",
        help="batch data sets, comma-separated (each takes about 4 minutes on 2 busy cores)",
    )
    args = parser.parse_args(argv)
    parts = args.part or list(PARTS)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    sections = {}
    for part in parts:
        t0 = time.perf_counter()
        text = PARTS[part](args.quick, sets)
        key = f"batch ({', '.join(sets)})" if part == "batch" else part
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        seconds = time.perf_counter() - t0
        sections[key] = f"{text}\n(run {stamp}, {seconds:.0f} s, on a shared 2-core machine)"
    if not args.quick:
        save(sections, args.quick)


if __name__ == "__main__":
    main()
