"""`anomalyzer review` at a terminal: keys in through a pseudo-terminal, the screen read back."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomalyzer.model import Model

PROMPT = b"[q] quit > "
TIMEOUT = 120


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"tx_id": [f"T{i}" for i in range(300)], "amount": rng.normal(50, 5, 300),
                       "country": rng.choice(["DE", "FR"], 300)})  # fmt: skip
    df.loc[[10, 20, 30], "amount"] = [500.0, 520.0, 2.0]
    # A terminal escape in the data (here in the rows shown first) must not reach the screen raw.
    df["note"] = "ok"
    df.loc[[10, 20, 30], "note"] = "\x1b[2Jwiped"
    folder = tmp_path_factory.mktemp("review")
    data = folder / "tx.csv"
    df.to_csv(data, index=False)
    model = Model("iforest", random_state=0).fit(df).save(folder / "tx.azm")
    return model, data


class Terminal:
    """A command on a pseudo-terminal: ``send`` keys, ``expect`` text on its screen."""

    def __init__(self, args: list[str]) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True)  # fmt: skip
        os.close(slave)
        self.screen = b""

    def expect(self, text: bytes) -> bytes:
        """Read until ``text`` appears after what was already matched; return what came before it."""
        deadline = time.monotonic() + TIMEOUT
        while text not in self.screen:
            left = deadline - time.monotonic()
            assert left > 0, (
                f"{text!r} never appeared; screen:\n{self.screen.decode(errors='replace')}"
            )
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the command ended and closed its side
                    chunk = b""
                assert chunk or text in self.screen, f"ended before {text!r}: {self.screen!r}"
                self.screen += chunk
        before, _, self.screen = self.screen.partition(text)
        return before

    def send(self, key: str) -> None:
        os.write(self.master, key.encode())

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            os.close(self.master)


def review(model: Path, data: Path, labels: Path) -> Terminal:
    return Terminal([sys.executable, "-m", "anomalyzer.cli", "review", str(model), str(data),
                     "--labels", str(labels), "--who", "ana"])  # fmt: skip


def test_terminal_review_takes_keys_shows_rows_and_resumes(files, tmp_path):
    model, data = files
    labels = tmp_path / "labels.csv"
    term = review(model, data, labels)
    first = term.expect(PROMPT).decode()
    assert "Reviewing 300 rows; Labelled 0 of 300" in first
    assert "rank 1 of 300" in first and "Reason: " in first and "Most unusual: " in first
    term.send("a")  # no Enter: a key acts at once on a terminal
    second = term.expect(PROMPT).decode()
    assert ": anomaly" in second and "Labelled 1 of 300: 1 anomalies, 0 normal, 0 skipped" in second
    term.send("n")
    term.expect(PROMPT)
    term.send("u")
    after_undo = term.expect(PROMPT).decode()
    assert "undid" in after_undo and "Labelled 1 of 300: 1 anomalies, 0 normal" in after_undo
    term.send("d")
    assert "The row labelled anomalous has: amount" in term.expect(PROMPT).decode()
    term.send("q")
    rest = term.expect(b"saves them with the model").decode()
    assert term.close() == 0
    assert "Labels are in" in rest
    screen = first + second + after_undo + rest
    assert "\x1b[2J" not in screen and "\\x1b[2Jwiped" in screen  # shown escaped
    stored = pd.read_csv(labels)
    assert stored[["label", "who"]].values.tolist() == [["anomaly", "ana"]]
    assert stored["row"].iloc[0] in {"T10", "T20", "T30"} and stored["when"].iloc[0]

    again = review(model, data, labels)  # resumes from the label file
    assert "Labelled 1 of 300: 1 anomalies" in again.expect(PROMPT).decode()
    again.send("s")
    again.expect(PROMPT)
    again.send("q")
    again.expect(b"saves them with the model")
    assert again.close() == 0
    assert pd.read_csv(labels)["label"].tolist() == ["anomaly", "unsure"]
