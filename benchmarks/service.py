"""Latency and throughput of `anomalyzer serve` under an open-loop load, and a kill test.

Starts `anomalyzer serve` (one worker) on loopback over a fresh SQLite registry
with models trained on examples/transactions.csv, then drives it with an
open-loop generator (plain asyncio HTTP/1.1 keep-alive connections): requests leave at a fixed rate whatever
the answers do, and each latency is measured from the moment its request was
due, so a stalled server shows up as latency instead of hiding as a lower rate.

Scenarios (as the service issue's "Done when" lists them):
  1. 1-row `score` on an iforest model, 200 requests/s;
  2. 10,000-row `score` requests on the iforest model, 2 requests/s;
  3. 1-row `score` on an auto model, 100 requests/s;
  4. 1-row `score` at 100 requests/s while the `production` alias flips
     between two versions every 2 s (a model swap under load).
With --kill: feedback and promote writes from four clients, the server is
killed with SIGKILL mid-flight, restarted, and every write acknowledged with
2xx is looked up (SQLite, and PostgreSQL when its binaries are installed).

    python benchmarks/service.py [--duration 60] [--kill] [--out benchmarks/results/service.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "transactions.csv"
EXCLUDE = ("transaction_id", "timestamp", "customer_id", "note", "is_fraud")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`anomalyzer serve` in a child process, ready when /v2/health/ready answers 200."""

    def __init__(self, registry: str, workers: int = 1) -> None:
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "anomalyzer.cli", "serve", "--registry", registry,
             "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited while starting")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not become ready within 120 s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (user + system): what a request costs the
        server whatever else runs on the machine."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Result:
    scenario: str
    model: str
    rate: float
    seconds: float
    sent: int
    ok: int
    errors: int
    latencies: np.ndarray
    target: str
    cpu_ms: float = float("nan")

    def row(self) -> list[str]:
        lat = self.latencies * 1000 if self.latencies.size else np.array([np.nan])
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        return [
            self.scenario, self.model, f"{self.rate:g}", f"{self.seconds:g}", str(self.sent),
            str(self.errors), f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}",
            f"{self.ok / self.seconds:.1f}", f"{self.cpu_ms:.2f}", self.target,
        ]  # fmt: skip


class Connection:
    """One keep-alive HTTP/1.1 connection over asyncio streams: a few microseconds per request,
    so that the load generator, on the same cores as the server, takes little of their time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, head: bytes, body: bytes) -> int:
        self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


async def open_loop(
    url: str, key: str, bodies: list[bytes], rate: float, seconds: float
) -> tuple[int, int, int, np.ndarray]:
    """Send bodies round-robin at ``rate`` per second for ``seconds``; (sent, ok, errors, latencies).

    A request due while every open connection is busy gets a new connection
    (at most 256), so a slow answer never delays the next request.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    idle: list[Connection] = []
    n_open = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    n = int(rate * seconds)

    async def one(i: int, due: float) -> None:
        nonlocal errors, n_open
        body = bodies[i % len(bodies)]
        conn = idle.pop() if idle else None
        status = None
        if conn is not None:
            try:
                status = await conn.post(head, body)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                # The server closed an idle keep-alive connection: send again on a new one,
                # as HTTP clients do.
                conn.close()
                n_open -= 1
                conn = None
        if status is None:
            if n_open >= 256:
                errors += 1
                statuses[0] = statuses.get(0, 0) + 1  # 0: no connection left
                return
            n_open += 1
            try:
                conn = await Connection.open(host, port)
                status = await conn.post(head, body)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                statuses[-1] = statuses.get(-1, 0) + 1  # -1: connection failed
                if conn is not None:
                    conn.close()
                n_open -= 1
                return
        idle.append(conn)
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            errors += 1
            statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 120)
    for conn in idle:
        conn.close()
    if statuses:
        print(f"  error statuses: {statuses}", flush=True)
    return n, len(latencies), errors, np.asarray(latencies)


def row_bodies(df: pd.DataFrame, n: int, size: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    records = json.loads(df.drop(columns=list(EXCLUDE)).to_json(orient="records"))
    out = []
    for _ in range(n):
        idx = rng.integers(0, len(records), size)
        out.append(json.dumps({"rows": [records[i] for i in idx]}).encode())
    return out


def warm(url: str, key: str, body: bytes, n: int = 20) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for _ in range(n):
        httpx.post(url, content=body, headers=headers, timeout=60)


def load_scenarios(args: argparse.Namespace, tmp: Path) -> list[Result]:
    from anomalyzer import Model
    from anomalyzer.registry import Registry

    df = pd.read_csv(EXAMPLE)
    db = f"sqlite:///{tmp / 'registry.db'}"
    reg = Registry(db, actor="benchmark")
    for name, detector, seed in (("tx-iforest", "iforest", 0), ("tx-auto", "auto", 0),
                                 ("swap", "iforest", 0), ("swap", "iforest", 1)):  # fmt: skip
        model = Model(detector, exclude=EXCLUDE[:-1], random_state=seed).fit(df, label="is_fraud")
        reg.push(model.save(tmp / f"{name}-{seed}.azm"), name=name)
    reg.promote("swap", 1)
    key = reg.create_key("score")[1]
    server = Server(db)
    results = []
    try:
        one_row = row_bodies(df, 500, 1)
        big = row_bodies(df, 3, 10_000, seed=1)
        d = args.duration
        plan = [
            ("1-row score", "tx-iforest", one_row, 200.0, d, "p99 <= 10 ms, 0 errors"),
            ("10,000-row score", "tx-iforest", big, 2.0, min(d, 20), "p50 <= 150 ms"),
            ("1-row score", "tx-auto", one_row, 100.0, d, "p99 <= 25 ms"),
        ]
        for scenario, model, bodies, rate, seconds, target in plan:
            url = f"{server.url}/models/{model}/score"
            warm(url, key, bodies[0], 5 if len(bodies) < 10 else 30)
            cpu = server.cpu_seconds()
            sent, ok, errors, lat = asyncio.run(open_loop(url, key, bodies, rate, seconds))
            cpu_ms = (server.cpu_seconds() - cpu) / max(ok, 1) * 1000
            results.append(
                Result(scenario, model, rate, seconds, sent, ok, errors, lat, target, cpu_ms)
            )
            print(" | ".join(results[-1].row()), flush=True)
        # A model swap under load: the alias flips every 2 s while requests flow.
        url = f"{server.url}/models/swap/score"
        warm(url, key, one_row[0], 30)
        stop = threading.Event()

        def flip() -> None:
            version = 1
            while not stop.wait(2.0):
                version = 3 - version
                reg.promote("swap", version)

        flipper = threading.Thread(target=flip)
        flipper.start()
        seconds = min(d, 20)
        cpu = server.cpu_seconds()
        sent, ok, errors, lat = asyncio.run(open_loop(url, key, one_row, 100.0, seconds))
        cpu_ms = (server.cpu_seconds() - cpu) / max(ok, 1) * 1000
        stop.set()
        flipper.join()
        n_swaps = sum(1 for e in reg.audit("swap", limit=1000) if e.action == "promote") - 1
        results.append(Result(f"1-row score, {n_swaps} swaps", "swap", 100.0, seconds, sent, ok,
                              errors, lat, "0 failed requests", cpu_ms))  # fmt: skip
        print(" | ".join(results[-1].row()), flush=True)
    finally:
        server.stop()
        reg.close()
    return results


def kill_test(registry_url: str, sqlite_path: Path | None, tmp: Path, seconds: float) -> str:
    """Writes in flight, SIGKILL, restart: how many acknowledged writes are missing."""
    import httpx

    from anomalyzer import Model
    from anomalyzer.registry import Registry

    df = pd.read_csv(EXAMPLE).iloc[:1000]
    with Registry(registry_url, actor="benchmark") as reg:
        for seed in (0, 1):
            model = Model("iforest", exclude=EXCLUDE[:-1], random_state=seed, n_estimators=20)
            reg.push(model.fit(df).save(tmp / f"k{seed}.azm"), name="fraud")
        key = reg.create_key("admin")[1]
    server = Server(registry_url)
    headers = {"Authorization": f"Bearer {key}"}
    acked_feedback: list[int] = []
    acked_promotes = 0
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=5) as client:
            i = 0
            while not stop.is_set():
                i += 1
                body = {
                    "items": [{"row": {"amount": i}, "label": i % 2, "row_id": f"{worker}-{i}"}]
                }
                try:
                    r = client.post("/models/fraud/feedback", json=body)
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acked_feedback.extend(r.json()["ids"])

    def promoter() -> None:
        nonlocal acked_promotes
        with httpx.Client(base_url=server.url, headers=headers, timeout=5) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    r = client.post("/admin/models/fraud/promote", json={"version": 1 + n % 2})
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acked_promotes += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=promoter))
    for t in threads:
        t.start()
    time.sleep(seconds)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    integrity = "n/a"
    if sqlite_path is not None:
        with sqlite3.connect(sqlite_path) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    server = Server(registry_url)
    server.stop()
    with Registry(registry_url) as reg:
        stored = {f.id for f in reg.feedback("fraud")}
        promotes = [e for e in reg.audit("fraud", limit=1_000_000) if e.action == "promote"]
        alias_ok = reg.resolve("fraud").version == promotes[-1].version if promotes else True
    missing = len(set(acked_feedback) - stored)
    return (
        f"{len(acked_feedback)} feedback writes and {acked_promotes} promotes acknowledged in "
        f"{seconds:g} s before SIGKILL; after restart: {missing} acknowledged feedback rows missing, "
        f"{len(promotes)} promotes in the audit log (>= {acked_promotes}: "
        f"{'yes' if len(promotes) >= acked_promotes else 'NO'}), alias matches the last audited "
        f"promote: {'yes' if alias_ok else 'NO'}, integrity_check: {integrity}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds per 1-row scenario.")
    parser.add_argument("--kill", action="store_true", help="Also run the SIGKILL test.")
    parser.add_argument("--no-load", action="store_true", help="Skip the load scenarios.")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "service.txt")
    args = parser.parse_args()
    lines = [
        "# anomalyzer serve: open-loop load, one worker, loopback",
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"{os.cpu_count()} cores, load average before the run {os.getloadavg()[0]:.1f} "
        "(the machine was shared with other work: latencies are pessimistic)",
        "# latency from when each request was due to its answer; ok/s = answered 2xx per second;",
        "# server CPU ms/request = CPU time of the server process over the scenario / answered",
        "# requests (its cost whatever else runs on the machine); errors: 0 = the generator's 256",
        "# connections were all busy waiting for the server, -1 = connection failed, else HTTP status",
        "",
    ]
    header = ["scenario", "model", "rate/s", "seconds", "sent", "errors", "p50 ms", "p95 ms",
              "p99 ms", "ok/s", "server CPU ms/request", "target"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="anomalyzer-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        if not args.no_load:
            print(" | ".join(header), flush=True)
            results = load_scenarios(args, tmp)
            lines.append(" | ".join(header))
            lines.append(" | ".join("---" for _ in header))
            lines += [" | ".join(r.row()) for r in results]
        if args.kill:
            lines.append("")
            lines.append("# kill test (SIGKILL during feedback and promote writes)")
            sqlite_path = tmp / "kill.db"
            text = kill_test(f"sqlite:///{sqlite_path}", sqlite_path, tmp, 3.0)
            lines.append(f"SQLite: {text}")
            print(lines[-1], flush=True)
            sys.path.insert(0, str(ROOT / "tests"))
            try:
                from postgres_server import postgres_server

                with postgres_server() as pg:
                    text = kill_test(pg.new_database(), None, tmp, 3.0)
                lines.append(f"PostgreSQL: {text}")
            except RuntimeError as exc:
                lines.append(f"PostgreSQL: skipped ({exc})")
            print(lines[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
