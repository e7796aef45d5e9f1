"""The typer application, its consoles and the entry point that turns mistakes into one sentence.

Exit codes: 0 on success, 2 for a usage or input mistake (one sentence, no
traceback), 1 for anything else.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from anomalyzer.errors import AnomalyzerError
from anomalyzer.safety.display import terminal_safe

app = typer.Typer(
    name="anomalyzer",
    help="Find anomalies in tables and say why.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


# Wide enough for reasons when the output is a file or a pipe (not a terminal).
out = Console(width=None if sys.stdout.isatty() else 160)


err = Console(stderr=True)


EXIT_INPUT = 2


EXIT_OTHER = 1


def _command_line_error(exc: BaseException) -> int | None:
    """Show a parsing error of the command line (typer's or click's) and return its exit code."""
    show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
    if (
        callable(show)
        and isinstance(code, int)
        and type(exc).__module__.startswith(("typer", "click"))
    ):
        show()
        return code
    return None


def main() -> None:
    """Entry point: run the app, turning user mistakes into one sentence and exit code 2."""
    try:
        app(standalone_mode=False)
    except AnomalyzerError as exc:
        # User text (file and column names) in the sentence is never markup.
        err.print(
            f"[bold red]Error:[/bold red] {terminal_safe(exc)}", highlight=False, soft_wrap=True
        )
        sys.exit(EXIT_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        err.print("Aborted.")
        sys.exit(EXIT_OTHER)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last line of defence: no traceback for users
        code = _command_line_error(exc)
        if code is not None:
            sys.exit(code)
        if os.environ.get("ANOMALYZER_DEBUG"):
            raise
        err.print(
            f"[bold red]Unexpected error:[/bold red] {type(exc).__name__}: {terminal_safe(exc)} "
            "(set ANOMALYZER_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_OTHER)
    sys.exit(0)
