"""A throw-away PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` under a temporary folder.

The cluster listens on a free loopback port, trusts local connections and is
removed when stopped. PostgreSQL refuses to run as root, so as root the
cluster is created and run as the unprivileged ``nobody`` user (``runuser``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/lib/postgresql/16/bin")
_names = itertools.count()


def find_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    for folder in _BIN_DIRS:
        if all((Path(folder) / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A running cluster; :meth:`new_database` gives each test its own database URL."""

    def __init__(self, root: Path, port: int, run_as: list[str]) -> None:
        self.root, self.port, self._run_as = root, port, run_as
        self.data = root / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self._run_as, str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "-w", "stop"],
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip

    _bin: Path


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a cluster, yield it, stop and remove it; RuntimeError says why it could not start."""
    binaries = find_binaries()
    if binaries is None:
        raise RuntimeError(
            "PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql"
        )
    root = Path(tempfile.mkdtemp(prefix="anomalyzer-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("nobody")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(
                "running as root and there is no 'nobody' user to run PostgreSQL as"
            ) from None
        os.chown(root, user.pw_uid, user.pw_gid)
        root.chmod(0o700)
        run_as = ["runuser", "-u", "nobody", "--"]
    port = free_port()
    server = PostgresServer(root, port, run_as)
    server._bin = binaries
    env = {**os.environ, "LC_ALL": "C", "HOME": str(root)}
    try:
        subprocess.run(
            [*run_as, str(binaries / "initdb"), "-D", str(server.data), "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, env=env, timeout=120, cwd=root,
        )  # fmt: skip
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=on "
            "-c shared_buffers=16MB -c max_connections=50"
        )
        subprocess.run(
            [*run_as, str(binaries / "pg_ctl"), "-D", str(server.data), "-o", options,
             "-l", str(root / "server.log"), "-w", "-t", "60", "start"],
            check=True, capture_output=True, env=env, timeout=90, cwd=root,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(
            f"PostgreSQL could not start: {detail.decode(errors='replace')[-300:] or exc}"
        ) from None
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
