"""The ``anomalyzer`` command line: one module per command, on one typer app.

``detect``, ``score``, ``detectors``, ``compare``, ``benchmark``, ``evaluate``
and ``stream``; :mod:`anomalyzer.cli.app` holds the app, its consoles and the
entry point. Exit codes: 0 on success, 2 for a usage or input mistake (one
sentence, no traceback), 1 for anything else.
"""

from anomalyzer.cli import (  # noqa: F401  (importing a command module registers it)
    benchmark,
    compare,
    detect,
    detectors,
    evaluate,
    explore,
    export,
    feedback,
    keys,
    models,
    monitor,
    retrain,
    score,
    serve,
    stream,
)
from anomalyzer.cli.app import app, main

__all__ = ["app", "main"]
