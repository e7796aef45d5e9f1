"""`anomalyzer models`, `keys` and `serve`: in-process commands, and a real server on loopback.

The real-server tests follow docs/service.md (train, push, key, serve, curl,
promote) and kill the server with SIGKILL while writes are in flight.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")

from typer.testing import CliRunner

from anomalyzer.cli import app
from anomalyzer.registry import Registry

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "transactions.csv"
runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("trained")
    out = {}
    for name, detector in (("a", "iforest"), ("b", "mad")):
        path = tmp / f"{name}.azm"
        _run("detect", str(EXAMPLE), "--detector", detector, "--exclude",
             "transaction_id,timestamp,customer_id,note", "--label", "is_fraud", "--top", "0",
             "--save", str(path))  # fmt: skip
        out[name] = path
    return out


def test_models_commands(tmp_path: Path, trained: dict[str, Path]) -> None:
    reg = ["--registry", str(tmp_path / "r.db")]
    out = _run(
        "models", "push", str(trained["a"]), "--name", "fraud", "--metric", "roc_auc=0.91", *reg
    )
    assert "version 1: iforest (table)" in out
    out = _run("models", "push", str(trained["b"]), "--name", "fraud", *reg)
    assert "version 2: mad (table)" in out
    out = _run("models", "list", *reg)
    assert "fraud" in out and "iforest" not in out  # the newest version's detector
    _run("models", "promote", "fraud", "1", "--alias", "production", *reg)
    shown = json.loads(_run("models", "show", "fraud", "--json", *reg))
    assert shown["aliases"] == {"production": 1}
    assert shown["versions"][0]["metrics"] == {"roc_auc": 0.91}
    result = runner.invoke(app, ["models", "delete", "fraud", "--version", "1", *reg])
    assert result.exit_code != 0
    assert "promote another version first" in str(result.exception) + result.output
    assert "Deleted fraud version 2" in _run("models", "delete", "fraud", "--version", "2", *reg)
    assert "promote" in _run("models", "audit", "fraud", *reg)
    key = _run("keys", "create", "--scope", "admin", "--quiet", *reg).strip()
    with Registry(str(tmp_path / "r.db")) as r:
        assert r.verify_key(key).scope == "admin"
        key_id = r.keys()[0].id
    assert "active" in _run("keys", "list", *reg)
    _run("keys", "revoke", key_id, *reg)
    assert "revoked" in _run("keys", "list", *reg)


def test_bad_input_is_one_sentence(tmp_path: Path) -> None:
    from anomalyzer.errors import AnomalyzerError

    bogus = tmp_path / "x.azm"
    bogus.write_text("no")
    reg = ["--registry", str(tmp_path / "r.db")]
    for args, words in (
        (["models", "push", str(bogus), "--name", "m"], "not an anomalyzer model file"),
        (["models", "show", "nothing"], "No model named 'nothing'"),
        (["keys", "create", "--scope", "root"], "Unknown key scope"),
        (["models", "push", str(bogus), "--name", "m", "--metric", "auc"], "NAME=NUMBER"),
        (["serve", "--max-body-mb", "0"], "--max-body-mb must be positive"),
    ):
        result = runner.invoke(app, [*args, *reg])
        assert isinstance(result.exception, AnomalyzerError), result.output
        assert words in str(result.exception) and "\n" not in str(result.exception)
    # The command line turns them into exit code 2 without a traceback.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "anomalyzer.cli", "models", "show", "nothing", *reg],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "No model named 'nothing'" in proc.stderr


# -- a real server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``anomalyzer serve`` in a child process on a free loopback port."""

    def __init__(self, registry: str, *extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "ANOMALYZER_SERVICE_REFRESH": "0.2",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "anomalyzer.cli", "serve", "--registry", registry,
             "--port", str(self.port), *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-500:]}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready in 90 s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def test_readme_five_commands(tmp_path: Path, trained: dict[str, Path]) -> None:
    """Train (the fixture), push, key, serve, curl a row, promote: as docs/service.md shows."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    db = str(tmp_path / "registry.db")
    _run("models", "push", str(trained["a"]), "--name", "fraud", "--registry", db)
    key = _run("keys", "create", "--scope", "score", "--quiet", "--registry", db).strip()
    server = Server(db)
    try:
        row = {"rows": [{"amount": 9800.0, "merchant_category": "electronics", "country": "US",
                         "channel": "online", "distance_from_home_km": 4200.0,
                         "transactions_last_24h": 14, "currency": "USD"}]}  # fmt: skip

        def curl() -> dict:
            proc = subprocess.run(
                ["curl", "-s", "-H", f"Authorization: Bearer {key}", "-H",
                 "Content-Type: application/json", "-d", json.dumps(row),
                 f"{server.url}/models/fraud/score"],
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            return json.loads(proc.stdout)

        first = curl()
        assert first["version"] == 1 and first["results"][0]["is_anomaly"] is True
        assert first["results"][0]["reason"]
        _run("models", "push", str(trained["b"]), "--name", "fraud", "--registry", db)
        _run("models", "promote", "fraud", "2", "--alias", "production", "--registry", db)
        deadline = time.monotonic() + 20
        while curl()["version"] != 2:
            assert time.monotonic() < deadline, "the promoted version was not served"
            time.sleep(0.2)
    finally:
        server.stop()


def test_kill_9_keeps_acknowledged_writes(tmp_path: Path, trained: dict[str, Path]) -> None:
    """SIGKILL during feedback and promote writes: every 2xx write is there after a restart."""
    import httpx

    db = tmp_path / "registry.db"
    with Registry(str(db)) as reg:
        reg.push(trained["a"], name="fraud")
        reg.push(trained["b"], name="fraud")
        key = reg.create_key("admin")[1]
    server = Server(str(db))
    headers = {"Authorization": f"Bearer {key}"}
    acked_feedback: list[int] = []
    acked_promotes: list[int] = []
    stop = threading.Event()

    def feedback_writer(worker: int) -> None:
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
        with httpx.Client(base_url=server.url, headers=headers, timeout=5) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    r = client.post("/admin/models/fraud/promote", json={"version": 1 + n % 2})
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acked_promotes.append(1 + n % 2)

    threads = [threading.Thread(target=feedback_writer, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=promoter))
    for t in threads:
        t.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked_feedback) > 10 and acked_promotes
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    server = Server(str(db))  # a restart on the same file
    server.stop()
    with Registry(str(db)) as reg:
        stored = {f.id for f in reg.feedback("fraud")}
        assert set(acked_feedback) <= stored
        promotes = [e for e in reg.audit("fraud", limit=100_000) if e.action == "promote"]
        assert len(promotes) >= len(acked_promotes)
        # The alias points at the last promote that was committed (audit and alias agree).
        assert reg.resolve("fraud").version == promotes[-1].version
