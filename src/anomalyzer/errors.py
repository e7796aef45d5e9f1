"""The one exception type a user sees: a sentence that names what to fix."""

from __future__ import annotations


class AnomalyzerError(ValueError):
    """A mistake in what the user gave (a file, a column, a parameter).

    The message is one sentence naming the file, column or parameter and what
    to do. The command line prints it without a traceback and exits with 2.

    >>> str(AnomalyzerError("Column 'x' not found; use one of: a, b."))
    "Column 'x' not found; use one of: a, b."
    """
