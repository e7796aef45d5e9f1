"""User text as the project shows it: shortened for display and never a spreadsheet formula.

>>> shorten("x" * 100)[-5:], len(shorten("x" * 100))
('xxxx…', 60)
>>> formula_safe("=HYPERLINK(1)")
"'=HYPERLINK(1)"
"""

from __future__ import annotations

import re

# Characters of a value shown in a reason or a terminal line; the data keeps all of them.
REASON_VALUE_CHARS = 60
# A cell starting with one of these is a formula to spreadsheet programs
# (OWASP's list for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def shorten(text: str, limit: int = REASON_VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, line breaks shown as spaces.

    >>> shorten("short")
    'short'
    >>> shorten("two\\nlines")
    'two lines'
    """
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text


def formula_safe(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula.

    Used for the project's own text columns (``anomaly_reason``); user values
    are written as they are.

    >>> formula_safe("amount = 5 is unusual"), formula_safe("-x is missing")
    ('amount = 5 is unusual', "'-x is missing")
    """
    return "'" + text if text.startswith(FORMULA_START) else text


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def terminal_safe(text: object, limit: int | None = None) -> str:
    """``text`` ready for rich markup on a terminal: control characters shown as
    escapes (no colour or cursor codes reach the terminal), ``[`` escaped so it is
    never markup, and cut to ``limit`` characters when given.

    >>> terminal_safe("[/]bad\\x1b[31m")
    '\\\\[/]bad\\\\x1b[31m'
    >>> terminal_safe("pip install anomalyzer[torch]")
    'pip install anomalyzer\\\\[torch]'
    """
    from rich.markup import escape

    text = str(text)
    if limit is not None:
        text = shorten(text, limit)
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
    return escape(text)
