"""Review at the terminal: one row at a time, a key for each judgement.

The screen shows the row the ranking puts first among those not yet judged:
its id, rank and score, the reason in words, its most unusual columns and all
its values, then the progress. Keys: ``a`` anomaly, ``n`` normal, ``s`` skip
(recorded as ``unsure``, not asked again), ``u`` undo, ``d`` describe the
anomalies found so far, ``q`` quit. Each key is stored at once (the label
file grows line by line) and the ranking learns from it before the next row is
shown, so quitting at any time loses nothing and the next review resumes.

On a terminal a key acts without Enter; from a pipe the first character of
each line is the key.
"""

from __future__ import annotations

import contextlib
import sys
import unicodedata
from collections.abc import Iterator
from typing import Any, TextIO

import pandas as pd

from anomalyzer.feedback.session import FeedbackSession
from anomalyzer.feedback.store import ANOMALY, NORMAL, UNSURE
from anomalyzer.reasons import _fmt

KEYS = {"a": ANOMALY, "n": NORMAL, "s": UNSURE}
PROMPT = "[a] anomaly  [n] normal  [s] skip  [u] undo  [d] describe  [q] quit > "
# Values longer than this are cut on screen (reasons get more room).
_MAX_VALUE = 80
_MAX_REASON = 300


def safe(text: Any, limit: int = _MAX_VALUE) -> str:
    """``text`` with control characters shown as escapes, so data cannot drive the terminal.

    >>> safe("ok\\x1b[2Jgone")
    'ok\\\\x1b[2Jgone'
    """
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf") and ch != " ":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def shown(value: Any) -> str:
    """A cell as a person reads it: numbers with separators, text quoted, gaps as (missing).

    >>> shown(float("nan")), shown(2541.0), shown("AT")
    ('(missing)', '2,541', "'AT'")
    """
    try:
        if value is None or bool(pd.isna(value)):
            return "(missing)"
    except (TypeError, ValueError):
        pass
    return safe(_fmt(value))


def render(session: FeedbackSession, position: int) -> str:
    """The screen for the row at ``position``."""
    view = session.view(position)
    p = session.progress()
    lines = [
        "",
        f"── Row {safe(view['id'])} · rank {view['rank']:,} of {p['rows']:,}"
        f" · score {view['score']:.4g} ──",
        f"Reason: {safe(view['reason'], _MAX_REASON)}",
    ]
    unusual = [f"{safe(c)} = {shown(view['values'][c])}" for c in view["unusual"]]
    lines.append("Most unusual: " + (", ".join(unusual) if unusual else "none stands out"))
    for col, value in view["values"].items():
        lines.append(f"  {safe(col)}: {shown(value)}")
    lines.append(progress_line(session))
    return "\n".join(lines)


def progress_line(session: FeedbackSession) -> str:
    p = session.progress()
    return (
        f"Labelled {p['labelled']:,} of {p['rows']:,}: {p['anomalies']:,} anomalies, "
        f"{p['normal']:,} normal, {p['unsure']:,} skipped"
    )


@contextlib.contextmanager
def _keys(stream: TextIO) -> Iterator[Any]:
    """A function that reads one key: raw from a terminal, the first character of a line otherwise."""
    try:
        fd = stream.fileno()
        is_tty = stream.isatty()
    except (AttributeError, OSError, ValueError):
        is_tty = False
    if not is_tty:
        yield lambda: (stream.readline() or "q")[:1]
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield lambda: stream.read(1) or "q"
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def review(
    session: FeedbackSession,
    *,
    who: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> dict[str, int]:
    """Run the review loop until ``q`` (or the end of input, or every row judged); return the progress."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    say(f"Reviewing {len(session.ids):,} rows; " + progress_line(session) + ".")
    with _keys(stdin) as read_key:
        while True:
            nxt = session.next()
            if not len(nxt):
                say("Every row has been judged.")
                break
            position = int(nxt[0])
            say(render(session, position))
            stdout.write(PROMPT)
            stdout.flush()
            key = read_key().strip().lower()
            stdout.write("\n")
            if key in KEYS:
                made = session.label(position, KEYS[key], who=who)
                say(f"→ {safe(made.row)}: {made.label}")
            elif key == "u":
                undone = session.undo()
                say(
                    "→ nothing to undo"
                    if undone is None
                    else f"→ undid {safe(undone.row)}: {undone.label}"
                )
            elif key == "d":
                say(safe(session.describe(), _MAX_REASON * 3))
            elif key in ("q", "\x04", ""):
                break
            else:
                say(f"→ unknown key {safe(key)!r}; use a, n, s, u, d or q")
    say(progress_line(session) + ".")
    say(safe(session.describe(), _MAX_REASON * 3))
    return session.progress()
