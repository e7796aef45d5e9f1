"""Compiled kernels: how numba functions are compiled and launched, once for every module.

>>> @jit(nogil=True)
... def twice(x):
...     return 2 * x
>>> launch(twice, 21)
42
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numba


def jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with an on-disk cache, so that each machine compiles only once.

    numba looks for a writable cache directory (``NUMBA_CACHE_DIR``, then the
    module's ``__pycache__``, then the user's cache folder) when the function is
    decorated and raises if there is none; then the function is compiled afresh
    in each process instead of failing at import.
    """

    def wrap(func: Callable[..., Any]) -> Any:
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError:
            return numba.njit(cache=False, **options)(func)

    return wrap


_LAUNCH_LOCK = threading.Lock()


def launch(kernel: Any, *args: Any) -> Any:
    """Run a parallel kernel, one call at a time where numba's thread pool needs that.

    Each call already uses every core. numba's fallback thread pool (workqueue,
    used when neither TBB nor OpenMP is installed) aborts the process when two
    threads launch parallel work at once, as a threaded server or Dask worker
    would; so calls take turns until numba reports a pool that is safe.
    """
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel work run yet: the pool is not chosen
        layer = "workqueue"
    if layer != "workqueue":
        return kernel(*args)
    with _LAUNCH_LOCK:
        return kernel(*args)
