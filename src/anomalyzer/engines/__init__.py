"""Engines: where the rows of a table are scored.

``local`` scores in this process (:class:`~anomalyzer.model.Model` as it
is); ``dask`` scores a data set that does not fit one machine on a Dask
cluster, partition by partition, through the same ``Model`` (see
:mod:`anomalyzer.engines.dask`). Dask is an optional dependency
(``pip install anomalyzer[dask]``): only the ``dask`` engine imports it.

>>> check_engine("dask")
'dask'
>>> check_engine("spark")
Traceback (most recent call last):
...
anomalyzer.errors.AnomalyzerError: Unknown engine 'spark'; choose one of: local, dask.
"""

from __future__ import annotations

from anomalyzer.errors import AnomalyzerError

ENGINES = ("local", "dask")


def check_engine(engine: str) -> str:
    """Return ``engine`` if it is one of :data:`ENGINES`, else raise a clear error."""
    name = str(engine).strip().lower()
    if name not in ENGINES:
        raise AnomalyzerError(f"Unknown engine '{engine}'; choose one of: {', '.join(ENGINES)}.")
    return name


__all__ = ["ENGINES", "check_engine"]
