"""Many series at once: `anomalyzer detect --time --group` on 1,000 hosts x 2,000 points.

Writes a CSV of server metrics (a ``timestamp`` every 5 minutes, a ``host``
column, ``cpu`` with a daily cycle and noise, and a few planted spikes, dips
and level shifts per host) to a temporary folder, runs

    anomalyzer detect FILE --time timestamp --group host --out scored.csv

as a user would (a subprocess, the default ``auto`` detector), and prints the
wall time, the CPU time, the peak memory (of the largest process, and of the
whole process tree with its workers) and how many planted anomalies were
flagged. Target: 120 s end to end on this machine.

    python benchmarks/ts_groups.py                     # 1,000 hosts x 2,000 points
    python benchmarks/ts_groups.py --hosts 100         # quicker
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 120.0
STEP = pd.Timedelta("5min")
DAY = int(pd.Timedelta("1D") // STEP)
# A shift counts as found when a point this many steps from its start is flagged.
SHIFT_SLACK = 12


def make_metrics(hosts: int, points: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The metrics table and the planted anomalies (host, position, kind)."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2026-03-02", periods=points, freq=STEP)
    phase = np.arange(points) % DAY
    cpu = np.empty((hosts, points))
    planted = []
    for h in range(hosts):
        level, amp = rng.uniform(20, 60), rng.uniform(5, 20)
        x = level + amp * np.sin(2 * np.pi * phase / DAY + rng.uniform(0, 2 * np.pi))
        x += rng.normal(0, 0.05 * amp + 0.5, points)
        spots = rng.choice(np.arange(100, points - 100), size=4, replace=False)
        for i, pos in enumerate(np.sort(spots)):
            kind = ("spike", "dip", "spike", "shift")[i]
            if kind == "spike":
                x[pos] += rng.uniform(4, 8) * amp
            elif kind == "dip":
                x[pos] -= rng.uniform(4, 8) * amp
            else:
                x[pos:] += rng.choice([-1, 1]) * rng.uniform(0.3, 0.6) * level
            planted.append((f"host-{h:04d}", int(pos), kind))
        cpu[h] = x
    df = pd.DataFrame(
        {
            "timestamp": np.tile(t.strftime("%Y-%m-%d %H:%M:%S").to_numpy(), hosts),
            "host": np.repeat([f"host-{h:04d}" for h in range(hosts)], points),
            "cpu": cpu.ravel().round(3),
        }
    )
    return df, pd.DataFrame(planted, columns=["host", "pos", "kind"])


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            self._stop.wait(self.every)


def _tree_rss(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += [c for c, p in parents.items() if p == pid]
    return total


def run_child(args: list[str], log: Path) -> tuple[float, float, float, float, int]:
    """Wall s, CPU s, peak MiB of the largest process, peak MiB of the tree, exit code."""
    start = time.perf_counter()
    with log.open("wb") as fh:
        pid = os.posix_spawn(args[0], args, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, fh.fileno(), 1), (os.POSIX_SPAWN_DUP2, fh.fileno(), 2),
        ])  # fmt: skip
        with TreeMemory(pid) as tree:
            _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024.0, tree.peak / 2**20, os.waitstatus_to_exitcode(status)


def found(scored: pd.DataFrame, planted: pd.DataFrame, points: int) -> pd.Series:
    """Per kind, the share of planted anomalies with a flagged point where they are."""
    flags = scored["is_anomaly"].to_numpy(dtype=bool)
    hosts = {h: i for i, h in enumerate(pd.unique(scored["host"]))}
    hit = []
    for host, pos, kind in planted.itertuples(index=False):
        base = hosts[host] * points
        stop = pos + (SHIFT_SLACK if kind == "shift" else 0) + 1
        hit.append(bool(flags[base + pos : base + stop].any()))
    return planted.assign(found=hit).groupby("kind")["found"].agg(["sum", "count"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="write the CSV and outputs here and keep them")
    opts = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ts_groups_") as tmp:
        folder = opts.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / f"metrics_{opts.hosts}x{opts.points}.csv"
        t0 = time.perf_counter()
        df, planted = make_metrics(opts.hosts, opts.points)
        df.to_csv(data, index=False)
        print(f"wrote {data.name}: {len(df):,} rows ({opts.hosts:,} hosts x {opts.points:,} "
              f"points, 5-minute steps), {data.stat().st_size / 2**20:.0f} MiB, "
              f"{len(planted):,} planted anomalies ({time.perf_counter() - t0:.1f} s)")  # fmt: skip
        del df
        scored_path = folder / "scored.csv"
        args = [sys.executable, "-m", "anomalyzer.cli", "detect", str(data), "--time",
                "timestamp", "--group", "host", "--out", str(scored_path), "--top", "5"]  # fmt: skip
        log = folder / "detect.log"
        wall, cpu, peak, tree, code = run_child(args, log)
        print(log.read_text(errors="replace")[-4000:])
        if code != 0:
            print(f"anomalyzer detect failed (exit {code})")
            return 1
        scored = pd.read_csv(scored_path, usecols=["host", "is_anomaly"])
        table = found(scored, planted, opts.points)
        flagged = int(scored["is_anomaly"].sum())
        print(f"cores: {cores}  (os.cpu_count())")
        print(f"wall: {wall:.1f} s   CPU (all processes): {cpu:.1f} s")
        print(f"peak memory: largest process {peak:,.0f} MiB, process tree {tree:,.0f} MiB")
        print(f"flagged rows: {flagged:,} of {len(scored):,} ({flagged / len(scored):.2%})")
        for kind, row in table.iterrows():
            print(f"planted {kind:<6} found {row['sum']:,} of {row['count']:,}")
        total = table["sum"].sum() / table["count"].sum()
        print(f"planted anomalies found: {total:.1%}")
        ok = wall <= TARGET_SECONDS
        print(f"{'PASS' if ok else 'FAIL'}: {wall:.1f} s against the {TARGET_SECONDS:.0f} s "
              f"target on {cores} cores")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
