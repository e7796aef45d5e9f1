"""A griffe extension for the API reference: doctest examples become fenced code.

Docstrings here carry runnable examples (``>>>`` lines and their output) in
free text; Markdown would read their brackets as links and their ``>`` as
quotes. Each run of lines from a ``>>>`` line to the next blank line is
wrapped in a ``pycon`` code fence, so examples render as code, whatever they print.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """``text`` with every doctest example wrapped in a fenced ``pycon`` block.

    (No doctest here: its example would be one of the examples it fences; see
    ``tests/test_docs.py``.)
    """
    out: list[str] = []
    inside = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not inside and stripped.startswith(">>>"):
            inside = True
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
        elif inside and not stripped:
            out.append(f"{indent}```")
            inside = False
        out.append(line)
    if inside:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest examples of every docstring griffe loads."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
