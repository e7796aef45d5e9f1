"""Run the ``anomalyzer`` entry point in this process, as a user's shell would run it.

``main()`` maps errors to exit codes and prints through the same consoles;
only the process start is saved. A few tests keep a real subprocess, so the
installed command itself stays covered.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Exit code, standard output and standard error of ``anomalyzer ARGS``."""
    from anomalyzer.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv, here = sys.argv, os.getcwd()
    sys.argv = ["anomalyzer", *args]
    code: int | str | None = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main()
            except SystemExit as stop:
                code = stop.code
    finally:
        sys.argv = argv
        os.chdir(here)
    return subprocess.CompletedProcess(["anomalyzer", *args], code, out.getvalue(), err.getvalue())
