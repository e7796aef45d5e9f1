"""Progress bars on standard error for the slow steps (reading, fitting, scoring, writing)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from anomalyzer.cli.app import err
from anomalyzer.safety.display import terminal_safe

# A step shows a progress bar once it has run this long: quick steps stay quiet.
QUIET_SECONDS = 0.5


class Steps:
    """Progress bars on standard error for steps that take more than a moment.

    Each step's bar appears only after :data:`QUIET_SECONDS`, and bars vanish
    when done; when standard error is not a terminal nothing is drawn.
    """

    def __init__(self) -> None:
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        # Bars are for people: a log file or a pipe gets none.
        self._shown = err.is_terminal

    def __enter__(self) -> Steps:
        if self._shown:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._shown:
            self._bars.stop()

    @contextmanager
    def step(
        self, description: str, total: float | None = None
    ) -> Iterator[Callable[[float], None]]:
        """A bar for one step; ``total`` makes it advance (call the yielded function), else it pulses."""
        if not self._shown:
            yield lambda amount: None
            return
        # Descriptions name files: shown as written, never read as markup.
        task = self._bars.add_task(terminal_safe(description), total=total, visible=False)
        timer = threading.Timer(QUIET_SECONDS, self._bars.update, (task,), {"visible": True})
        timer.daemon = True
        timer.start()
        try:
            yield lambda amount: self._bars.advance(task, amount)
        finally:
            timer.cancel()
            self._bars.remove_task(task)
