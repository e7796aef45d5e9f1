"""Safety of what the project shows and writes: user text shortened and made inert.

The data itself is never changed; these functions shape only the text the
project writes about it (reasons, terminal lines).
"""

from anomalyzer.safety.display import (
    FORMULA_START,
    REASON_VALUE_CHARS,
    formula_safe,
    shorten,
    terminal_safe,
)

__all__ = ["FORMULA_START", "REASON_VALUE_CHARS", "formula_safe", "shorten", "terminal_safe"]
