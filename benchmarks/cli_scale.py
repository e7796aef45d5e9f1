"""The command line at scale: `anomalyzer detect` on a 1M-row x 20-column CSV, end to end.

Writes a table of numbers and a few categorical columns with planted anomalies
to a temporary folder, runs ``anomalyzer detect`` on it as a user would (a
subprocess, default settings), then once more with ``--report``, and prints the
wall time and the peak memory (maximum resident set size) of each run.
Target: 60 s and 4 GiB per run on 2 cores.

    python benchmarks/cli_scale.py                 # 1M rows
    python benchmarks/cli_scale.py --rows 200000   # quicker
    python benchmarks/cli_scale.py --profile       # also where the time goes (cProfile)
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 60.0
TARGET_MIB = 4096.0
N_NUMERIC = 16
CATEGORIES = {
    "country": (["DE", "FR", "NL", "BE", "AT", "ES", "IT", "PL", "SE", "DK"], ["NR", "KP"]),
    "merchant": (["grocery", "fuel", "restaurant", "pharmacy", "travel", "clothing"], ["casino"]),
    "channel": (["online", "in_store", "phone"], ["atm_abroad"]),
    "segment": ([f"s{i:02d}" for i in range(40)], ["s99"]),
}


def make_table(n: int, seed: int = 0, share: float = 0.002) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` rows: 16 numeric columns (Gaussian, log-normal, counts), 4 categorical; anomalies planted."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for j in range(N_NUMERIC):
        kind = j % 4
        if kind == 0:
            cols[f"x{j:02d}"] = rng.normal(100.0 * (j + 1), 10.0 * (j + 1), n).round(3)
        elif kind == 1:
            cols[f"x{j:02d}"] = rng.lognormal(3.0, 0.6, n).round(2)
        elif kind == 2:
            cols[f"x{j:02d}"] = rng.poisson(4 + j, n).astype(np.int64)
        else:
            cols[f"x{j:02d}"] = rng.gamma(2.0, 5.0, n).round(2)
    for name, (common, _) in CATEGORIES.items():
        p = rng.dirichlet(np.ones(len(common)) * 2.0)
        cols[name] = rng.choice(np.array(common, dtype=object), n, p=p)
    df = pd.DataFrame(cols)
    planted = rng.choice(n, size=max(1, int(share * n)), replace=False)
    kinds = np.arange(planted.size) % 3
    numeric = [c for c in df.columns if c.startswith("x")]
    for kind in range(3):
        rows = planted[kinds == kind]
        if kind == 0:  # a value far out in one numeric column
            for col in rng.choice(numeric, size=3, replace=False):
                part = rows[rng.random(rows.size) < 0.4]
                _set(df, part, col, df[col].median() * rng.uniform(20, 60, part.size))
        elif kind == 1:  # a level never seen otherwise
            for name, (_, rare) in CATEGORIES.items():
                part = rows[rng.random(rows.size) < 0.5]
                df.loc[part, name] = rng.choice(rare, part.size)
        else:  # several columns a little off at once
            for col in rng.choice(numeric, size=5, replace=False):
                std = float(df[col].std())
                _set(df, rows, col, df.loc[rows, col].to_numpy() + 6.0 * std)
    return df, np.sort(planted)


def _set(df: pd.DataFrame, rows: np.ndarray, col: str, values: np.ndarray) -> None:
    """Planted values, rounded in count columns (pandas keeps their integer type)."""
    if pd.api.types.is_integer_dtype(df[col].dtype):
        values = np.round(values).astype(df[col].dtype)
    df.loc[rows, col] = values


def run_child(args: list[str], log: Path) -> tuple[float, float, int]:
    """Run ``args`` with its output in ``log``: wall seconds, peak MiB, exit code."""
    start = time.perf_counter()
    with log.open("wb") as fh:
        pid = os.posix_spawn(args[0], args, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, fh.fileno(), 1), (os.POSIX_SPAWN_DUP2, fh.fileno(), 2),
        ])  # fmt: skip
        # wait4 gives this child's own resource usage (RUSAGE_CHILDREN keeps the
        # maximum over all children, which would mix the runs).
        _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="profile the plain run (cProfile)")
    parser.add_argument("--detector", help="detector to use (default: the command line's default)")
    parser.add_argument("--keep", type=Path, help="write the CSV and outputs here and keep them")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cli_scale_") as tmp:
        folder = opts.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / f"scale_{opts.rows}.csv"
        if data.exists():  # kept from an earlier run with --keep: same seed, same table
            print(f"using {data}")
        else:
            t0 = time.perf_counter()
            df, planted = make_table(opts.rows)
            df.to_csv(data, index=False)
            size_mib = data.stat().st_size / 2**20
            print(f"wrote {data.name}: {len(df):,} rows x {df.shape[1]} columns, "
                  f"{size_mib:.0f} MiB, {planted.size:,} planted anomalies "
                  f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
            del df

        cli = [sys.executable, "-m", "anomalyzer.cli", "detect", str(data), "--top", "10"]
        if opts.detector:
            cli += ["--detector", opts.detector]
        report = folder / "report.html"
        runs = [
            ("detect", "plain", cli),
            ("detect --report", "report", [*cli, "--report", str(report)]),
        ]
        if opts.profile:
            prof = ["-m", "cProfile", "-o", str(folder / "detect.prof")]
            runs.append(("detect (cProfile)", "profile", [sys.executable, *prof, *cli[1:]]))
        print(f"\n{'run':<20} {'wall s':>8} {'peak MiB':>9}  {'exit':>4}  target")
        failed = False
        for name, slug, args in runs:
            log = folder / f"{slug}.log"
            wall, peak, code = run_child(args, log)
            ok = code == 0 and wall <= TARGET_SECONDS and peak <= TARGET_MIB
            failed |= code != 0
            extra = f"  report {report.stat().st_size / 2**20:.1f} MiB" if slug == "report" else ""
            print(
                f"{name:<20} {wall:8.1f} {peak:9.0f}  {code:>4}  {'met' if ok else 'MISSED'}{extra}"
            )
            if code != 0:
                print(log.read_text(errors="replace")[-2000:])
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        print(f"\npeak of all children (RUSAGE_CHILDREN): {children:.0f} MiB")
        summary = (folder / "plain.log").read_text(errors="replace").splitlines()
        for line in summary:
            if line.startswith(("Read", "Features", "Detector")):
                print(line)
        if opts.profile and (folder / "detect.prof").exists():
            print("\nwhere the time goes (cumulative, top 30):")
            pstats.Stats(str(folder / "detect.prof")).sort_stats("cumulative").print_stats(30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
