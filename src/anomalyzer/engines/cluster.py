"""Connecting to a Dask cluster, or starting one on this machine.

With a scheduler address (``tcp://host:8786``, as printed by ``dask
scheduler``) the work runs on that cluster's workers; without one a
``LocalCluster`` of worker processes is started here, sized to the machine
(one single-threaded worker per core, the memory shared between them) unless
``workers`` and ``memory_per_worker`` say otherwise, and closed afterwards.

>>> parse_memory("2GiB")
'2GiB'
>>> parse_memory("lots")
Traceback (most recent call last):
...
anomalyzer.errors.AnomalyzerError: Cannot read memory per worker 'lots'; give a size such as 2GiB or 512MB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anomalyzer.errors import AnomalyzerError

# Seconds to wait for a scheduler at the given address before giving up.
CONNECT_TIMEOUT = "10s"
# Dask logs every shuffle start and stop at WARNING: noise for someone scoring a table.
_QUIET_LOGGERS = ("distributed.shuffle", "distributed.shuffle._scheduler_plugin")


def parse_memory(text: str | None) -> str | None:
    """Check a memory size such as ``2GiB`` and return it (None stays None)."""
    if text is None:
        return None
    from dask.utils import parse_bytes

    try:
        if parse_bytes(text) <= 0:
            raise ValueError(text)
    except (ValueError, TypeError):
        raise AnomalyzerError(
            f"Cannot read memory per worker '{text}'; give a size such as 2GiB or 512MB."
        ) from None
    return text


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    memory_per_worker: str | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a ``LocalCluster`` started for the block."""
    from distributed import Client, LocalCluster

    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    memory = parse_memory(memory_per_worker)
    if workers is not None and workers < 1:
        raise AnomalyzerError(f"--workers must be at least 1, not {workers}.")
    if scheduler:
        if workers is not None or memory is not None:
            raise AnomalyzerError(
                "--workers and --memory-per-worker size a local cluster; leave them out with "
                "--scheduler (the cluster's workers were started with their own sizes)."
            )
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise AnomalyzerError(
                f"Cannot reach the Dask scheduler at '{scheduler}' ({exc}); check the address, "
                "e.g. tcp://host:8786 as printed by `dask scheduler`."
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers or default_workers(),
        threads_per_worker=1,
        processes=True,
        memory_limit=memory or "auto",
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def default_workers() -> int:
    """One worker process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def dashboard(client: Any) -> str | None:
    """The address of the cluster's dashboard, or None when it has none."""
    try:
        link = client.dashboard_link
    except (AttributeError, KeyError):
        return None
    return str(link) if link else None
