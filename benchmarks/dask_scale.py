"""Scale-out on Dask: a Parquet data set with planted anomalies, scored on a LocalCluster.

Three parts, each on a fresh ``LocalCluster`` of ``--workers`` processes with
``--memory`` each (2 x 2 GiB by default):

1. ``iforest``: the workers write ``--rows`` x ``--cols`` Gaussian rows with
   planted anomalies (a share ``--rate`` of rows, three columns pushed 6-10
   SD out) as Parquet files of ``--rows-per-file`` rows, one task per file (no
   process ever holds the data set); ``detect_dask`` fits on a sample,
   scores every row and writes the scored data set. Printed: wall time,
   rows/s, the peak memory of each worker, worker restarts, and the share of
   planted anomalies flagged next to a local ``detect`` on a
   ``--local-rows`` slice of the same data.
2. ``auto``: the same for the ``auto`` committee (contamination ``auto``) on
   ``--auto-rows`` rows: the committee scores far fewer rows per second.
3. ``--group``: ``--series`` series x ``--points`` points of server metrics
   (``benchmarks/ts_groups.py``'s generator), one model per series on the
   workers; wall time, per-series cost and peak memory per worker.

    python benchmarks/dask_scale.py                         # the full sizes (100M rows)
    python benchmarks/dask_scale.py --rows 10_000_000 --auto-rows 200_000 --series 500

Results go to ``benchmarks/results/dask_scale.txt`` (``--append`` adds to it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "dask_scale.txt"
LABEL = "is_planted"


def make_part(index: int, rows: int, cols: int, rate: float, seed: int, path: str) -> int:
    """Write one file of the data set (runs on a worker)."""
    rng = np.random.default_rng([seed, index])
    X = rng.normal(size=(rows, cols))
    planted = rng.random(rows) < rate
    where = np.flatnonzero(planted)
    # Three of the columns of each planted row pushed 6-10 SD out, in either direction.
    hit = np.argsort(rng.random((where.size, cols)), axis=1)[:, :3]
    X[where[:, None], hit] += rng.choice([-1.0, 1.0], hit.shape) * rng.uniform(6, 10, hit.shape)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(cols)])
    df[LABEL] = planted
    df.to_parquet(path, index=False)
    return rows


def make_series_part(index: int, hosts: int, points: int, seed: int, path: str) -> int:
    """Write the metrics of ``hosts`` hosts (runs on a worker)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ts_groups import make_metrics

    df, _ = make_metrics(hosts, points, seed=seed + index)
    df["host"] = f"b{index:04d}-" + df["host"].astype(str)
    df.to_parquet(path, index=False)
    return len(df)


def warm(client: Any) -> float:
    """Import the package and load the compiled kernels on every worker: start-up is not scoring time."""
    t = time.perf_counter()
    client.run(_load)
    return time.perf_counter() - t


def _load() -> None:
    import anomalyzer.engines.dask  # noqa: F401

    _warm_series()


def _warm_series(detector: str = "auto") -> None:
    """Run the series path once on a short series: numba loads its compiled kernels."""
    import anomalyzer as az

    t = pd.date_range("2026-01-01", periods=600, freq="5min")
    y = np.sin(np.arange(600) / 20.0) + np.random.default_rng(0).normal(0, 0.1, 600)
    az.detect(pd.DataFrame({"t": t, "y": y}), detector, time="t", n_jobs=1)


class Peaks:
    """Polls the resident memory of every worker; remembers the peak and the workers seen."""

    def __init__(self, client: Any, every: float = 0.5) -> None:
        self.client, self.every = client, every
        self.peak: dict[str, int] = {}
        self.first = set(client.scheduler_info()["workers"])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                for addr, rss in self.client.run(_rss).items():
                    self.peak[addr] = max(self.peak.get(addr, 0), rss)
            except Exception:  # a worker restarting: the next poll sees its successor
                pass
            self._stop.wait(self.every)

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def restarts(self) -> int:
        return len(set(self.peak) - self.first)

    def text(self) -> str:
        return ", ".join(f"{v / 2**30:.2f}" for v in sorted(self.peak.values(), reverse=True))


class Stages:
    """Records when each step of the engine was last reported, to print where the time went."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.last: dict[str, float] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        self.last[step.split(" ")[0]] = time.perf_counter() - self.t0

    def text(self) -> str:
        marks = sorted(self.last.items(), key=lambda kv: kv[1])
        return ", ".join(f"{name.lower()} until {t:.1f} s" for name, t in marks)


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def generate(
    client: Any, folder: Path, rows: int, per_file: int, cols: int, rate: float, seed: int
) -> float:
    from dask import delayed

    folder.mkdir(parents=True)
    sizes = [min(per_file, rows - s) for s in range(0, rows, per_file)]
    tasks = [
        delayed(make_part)(i, n, cols, rate, seed, str(folder / f"data.{i:05d}.parquet"))
        for i, n in enumerate(sizes)
    ]
    t = time.perf_counter()
    client.compute(tasks, sync=True)
    return time.perf_counter() - t


def recall(flags: np.ndarray, planted: np.ndarray) -> tuple[float, float]:
    hit = int((flags & planted).sum())
    return hit / max(int(planted.sum()), 1), hit / max(int(flags.sum()), 1)


def table_run(
    args: argparse.Namespace, tmp: Path, detector: str, rows: int, cont: Any, lines: list[str]
) -> None:
    import dask.dataframe as dd

    import anomalyzer as az
    from anomalyzer.engines.cluster import dask_client
    from anomalyzer.engines.detection import detect_dask

    data, out = tmp / f"{detector}_data", tmp / f"{detector}_scored"
    per_file = min(args.rows_per_file, rows)
    with dask_client(workers=args.workers, memory_per_worker=args.memory) as client:
        start = warm(client)
        gen = generate(client, data, rows, per_file, args.cols, args.rate, args.seed)
        size = sum(f.stat().st_size for f in data.iterdir())
        with Peaks(client) as peaks:
            t = time.perf_counter()
            stages = Stages()
            summary = detect_dask(
                str(data), detector, out=out, contamination=cont, exclude=[LABEL],
                sample_rows=args.sample_rows, client=client, random_state=args.seed,
                progress=stages,
            )  # fmt: skip
            wall = time.perf_counter() - t
        res = dd.read_parquet(str(out), columns=["is_anomaly", LABEL])
        hits = (res["is_anomaly"] & res[LABEL]).sum()
        n_planted, n_flag, n_hit = client.compute(
            [res[LABEL].sum(), res["is_anomaly"].sum(), hits], sync=True
        )
    print(
        f"dask {detector}: {rows:,} rows, wall {wall:.1f} s, {rows / wall:,.0f} rows/s, "
        f"peak RSS per worker (GiB) {peaks.text()}, recovered {n_hit / max(n_planted, 1):.3f}; "
        f"steps: {stages.text()}",
        flush=True,
    )
    # Local: the same detector on the first rows, in this process.
    files = sorted(data.iterdir())
    local_rows = min(args.local_rows, rows)
    slice_ = pd.concat([pd.read_parquet(f) for f in files[: -(-local_rows // per_file)]]).head(
        local_rows
    )
    t = time.perf_counter()
    local = az.detect(slice_, detector, contamination=cont, exclude=[LABEL], random_state=args.seed)
    local_wall = time.perf_counter() - t
    planted = slice_[LABEL].to_numpy()
    l_rec, l_prec = recall(local.frame["is_anomaly"].to_numpy(), planted)
    scored_slice = pd.concat(
        [
            pd.read_parquet(out / f"part.{i:05d}.parquet", columns=["is_anomaly"])
            for i in range(len(files[: -(-local_rows // per_file)]))
        ]
    ).head(local_rows)
    s_rec, s_prec = recall(scored_slice["is_anomaly"].to_numpy(), planted)
    shutil.rmtree(data)
    shutil.rmtree(out)
    lines += [
        f"## {detector} (contamination {cont}) on {rows:,} rows x {args.cols} columns",
        f"data: {len(files)} Parquet files of {per_file:,} rows, {size / 2**30:.2f} GiB, written by the workers in {gen:.1f} s; planted rate {args.rate}",
        f"cluster: {args.workers} workers x {args.memory} (imports and kernel loading on the workers {start:.1f} s, not counted); model fitted on a sample of {summary.sample_rows:,} rows",
        f"dask    : wall {wall:8.1f} s  {rows / wall:12,.0f} rows/s  peak RSS per worker (GiB): {peaks.text()}  worker restarts: {peaks.restarts}",
        f"          threshold {summary.threshold:.5g}, flagged {n_flag:,} of {rows:,}; planted {n_planted:,}, recovered {n_hit / max(n_planted, 1):.3f} (precision {n_hit / max(n_flag, 1):.3f})",
        f"          steps: {stages.text()}",
        f"          on the first {local_rows:,} rows: recovered {s_rec:.3f} (precision {s_prec:.3f})",
        f"local   : detect on the first {local_rows:,} rows: wall {local_wall:.1f} s, threshold {local.threshold:.5g}, recovered {l_rec:.3f} (precision {l_prec:.3f})",
        "",
    ]


def group_run(args: argparse.Namespace, tmp: Path, lines: list[str]) -> None:
    from dask import delayed

    from anomalyzer.engines.cluster import dask_client
    from anomalyzer.engines.detection import detect_dask

    data, out = tmp / "series_data", tmp / "series_scored"
    data.mkdir()
    per_file = max(1, min(args.series, args.hosts_per_file))
    blocks = [min(per_file, args.series - s) for s in range(0, args.series, per_file)]
    with dask_client(workers=args.workers, memory_per_worker=args.memory) as client:
        start = warm(client)
        tasks = [
            delayed(make_series_part)(
                i, h, args.points, args.seed, str(data / f"m.{i:05d}.parquet")
            )
            for i, h in enumerate(blocks)
        ]
        t = time.perf_counter()
        rows = sum(client.compute(tasks, sync=True))
        gen = time.perf_counter() - t
        with Peaks(client) as peaks:
            t = time.perf_counter()
            stages = Stages()
            summary = detect_dask(
                str(data), args.series_detector, out=out, time="timestamp", group="host",
                client=client, progress=stages,
            )  # fmt: skip
            wall = time.perf_counter() - t
    local_line = "local   : skipped (--local-series 0)"
    n_local = min(args.local_series, args.series)
    if n_local:
        import anomalyzer as az

        files = sorted(data.iterdir())
        local_df = pd.concat([pd.read_parquet(f) for f in files])
        local_df = local_df[local_df["host"].isin(local_df["host"].unique()[:n_local])]
        _warm_series()
        t = time.perf_counter()
        local = az.detect(local_df, args.series_detector, time="timestamp", group="host")
        lw = time.perf_counter() - t
        cores = os.cpu_count() or 1
        local_line = (
            f"local   : detect --group on {n_local:,} of these series in this process "
            f"(its own {cores} worker processes): wall {lw:.1f} s, "
            f"{lw * cores / n_local * 1000:.1f} ms of process time per series, "
            f"{local.n_anomalies:,} rows flagged"
        )
    shutil.rmtree(data)
    shutil.rmtree(out)
    lines += [
        f"## --group: {args.series:,} series x {args.points:,} points ({rows:,} rows), detector {args.series_detector}",
        f"data: {len(blocks)} Parquet files written by the workers in {gen:.1f} s; imports and kernel loading on the workers {start:.1f} s, not counted",
        f"dask    : wall {wall:8.1f} s  {rows / wall:12,.0f} rows/s  {wall * args.workers / args.series * 1000:.1f} ms of worker time per series  peak RSS per worker (GiB): {peaks.text()}  worker restarts: {peaks.restarts}",
        f"          steps: {stages.text()}",
        f"          {summary.n_series:,} series scored, {summary.flags:,} rows flagged ({summary.share:.2%})",
        local_line,
        "",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000_000)
    p.add_argument("--cols", type=int, default=10)
    p.add_argument("--rows-per-file", type=int, default=1_000_000)
    p.add_argument("--rate", type=float, default=0.001)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory", default="2GiB")
    p.add_argument("--sample-rows", type=int, default=100_000)
    p.add_argument("--local-rows", type=int, default=1_000_000)
    p.add_argument(
        "--auto-rows", type=int, default=100_000_000, help="rows for the auto run (0 skips it)"
    )
    p.add_argument(
        "--series", type=int, default=10_000, help="series for the --group run (0 skips it)"
    )
    p.add_argument("--points", type=int, default=2_000)
    p.add_argument("--hosts-per-file", type=int, default=100)
    p.add_argument("--series-detector", default="auto")
    p.add_argument(
        "--local-series", type=int, default=1_000, help="series scored locally to compare (0 skips)"
    )
    p.add_argument("--skip-iforest", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--append", action="store_true", help="add to the results file")
    args = p.parse_args()
    lines = [
        f"# dask_scale ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, "
        f"shared with other work, load average {os.getloadavg()[0]:.1f} at the start)",
        "# command: python benchmarks/dask_scale.py " + " ".join(sys.argv[1:]),
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="dask_scale_") as name:
        tmp = Path(name)
        if not args.skip_iforest and args.rows:
            table_run(args, tmp, "iforest", args.rows, args.rate, lines)
            print("\n".join(lines), flush=True)
        if args.auto_rows:
            table_run(args, tmp, "auto", args.auto_rows, "auto", lines)
            print("\n".join(lines[-8:]), flush=True)
        if args.series:
            group_run(args, tmp, lines)
            print("\n".join(lines[-6:]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a" if args.append else "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
