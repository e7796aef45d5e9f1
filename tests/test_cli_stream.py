"""``anomalyzer stream``: points in through a pipe, one scored line out per point, at once."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomalyzer.errors import AnomalyzerError

EXE = [sys.executable, "-m", "anomalyzer.cli"]
HERE = Path(__file__).resolve().parent
# Seconds to wait for one output line: a command that waits for more input before
# answering fails the test instead of hanging it.
LINE_TIMEOUT = 5.0
# The first line also waits for Python, pandas and the model to load.
START_TIMEOUT = 60.0
# Output to a pipe is block-buffered unless the command flushes: the environment
# must not switch buffering off for it, or a missing flush would go unnoticed.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


class StandIn:
    """A streaming model with the update contract of a series model, and a known score.

    Each point scores its distance to the mean of the points before it, in units
    of their standard deviation plus one; text or a missing value is refused.
    """

    time = "timestamp"
    group = None
    channels = ("value",)
    causal = True
    limit = 3.0

    def __init__(self) -> None:
        self.seen: list[float] = []

    def update(self, rows: pd.DataFrame) -> pd.DataFrame:
        values = pd.to_numeric(rows["value"], errors="raise")  # text: ValueError
        if values.isna().any():
            raise AnomalyzerError("Column 'value' has a missing value; give every point a value.")
        out = rows.copy()
        scores, expected, half = [], [], []
        for value in values:
            mean, spread = stand_in_parts(self.seen)
            scores.append(abs(value - mean) / spread)
            expected.append(mean)
            half.append(self.limit * spread)
            self.seen.append(float(value))
        out["anomaly_score"] = scores
        out["is_anomaly"] = out["anomaly_score"] > self.limit
        out["anomaly_reason"] = np.where(out["is_anomaly"], "value far from the mean so far", "")
        out["expected"] = expected
        out["lower"] = np.subtract(expected, half)
        out["upper"] = np.add(expected, half)
        return out


def stand_in_parts(seen: list[float]) -> tuple[float, float]:
    if not seen:
        return 0.0, 1.0
    return float(np.mean(seen)), float(np.std(seen)) + 1.0


def stand_in_batch(values: np.ndarray) -> np.ndarray:
    """The stand-in's scores of a whole series at once, computed independently."""
    s = pd.Series(values, dtype=float)
    mean = s.expanding().mean().shift(1).fillna(0.0)
    spread = s.expanding().std(ddof=0).shift(1).fillna(0.0) + 1.0
    return ((s - mean).abs() / spread).to_numpy()


def series(n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = 10.0 + rng.normal(size=n)
    values[n // 2] = 25.0  # one spike
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-01", periods=n, freq="min").astype(str),
            "value": np.round(values, 6),
        }
    )


# A copy of the command line whose model loader returns the stand-in: the same
# reading, writing and flushing as the real command, through a real pipe.
STAND_IN_CLI = [
    sys.executable,
    "-c",
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "import anomalyzer.cli as cli; import anomalyzer.cli.stream as command; "
    "from test_cli_stream import StandIn; "
    "command.load_model = lambda steps, path: StandIn(); cli.main()",
    str(HERE),
]


class Pipe:
    """A running command fed line by line, with its output lines read on a thread."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=ENV,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, ""):
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = LINE_TIMEOUT) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"no output line within {timeout} s of the input line: {self.stderr()}")
        if line is None:
            pytest.fail(f"the command ended early (rc {self.proc.wait()}): {self.stderr()}")
        return line

    def nothing_more(self) -> bool:
        return self.lines.empty()

    def finish(self) -> tuple[int, list[str], str]:
        """Close the input; the return code, any further output lines and standard error."""
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=30)
        rest = []
        while (line := self.lines.get(timeout=5)) is not None:
            rest.append(line)
        return rc, rest, self.stderr()

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()


def test_csv_through_a_pipe_one_line_per_point_with_bad_lines():
    data = series()
    expected = stand_in_batch(data["value"].to_numpy())
    bad_lines = {
        3: ("t,high", "'value' is 'high', not a number"),
        7: ("t,", "missing value for 'value'"),
        11: ("t,1,2", "3 field(s) but the header has 2"),
    }
    pipe = Pipe([*STAND_IN_CLI, "stream", "model.azm"])
    pipe.send("timestamp,value")
    header = pipe.receive(START_TIMEOUT)
    assert header == "timestamp,value,anomaly_score,is_anomaly,anomaly_reason,expected,lower,upper"
    for i, (stamp, value) in enumerate(data.itertuples(index=False)):
        if i in bad_lines:
            line, words = bad_lines[i]
            pipe.send(line)
            fields = next(csv.reader([pipe.receive()]))
            assert fields[:2] == line.split(",")[:2]  # the input echoed
            assert fields[2:4] == ["", ""], fields  # no score, no flag
            assert fields[4].startswith("error: ") and words in fields[4]
        # The answer to each point must come before the next point is written.
        pipe.send(f"{stamp},{value}")
        fields = pipe.receive().split(",")
        assert fields[:2] == [stamp, str(value)]
        # The bad lines left the model's state alone: scores as if they never came.
        assert float(fields[2]) == pytest.approx(expected[i], rel=1e-12)
        assert fields[3] == str(expected[i] > StandIn.limit)
        assert pipe.nothing_more()
    rc, rest, err = pipe.finish()
    assert rc == 0 and rest == [], err
    assert expected[len(data) // 2] > StandIn.limit  # the spike was flagged along the way


def test_json_lines_through_a_pipe_with_bad_lines():
    data = series(seed=1)
    expected = stand_in_batch(data["value"].to_numpy())
    pipe = Pipe([*STAND_IN_CLI, "stream", "model.azm"])
    bad_lines = {
        5: ("{not json", "not JSON"),
        9: ("[1, 2]", "not an object"),
        12: ('{"timestamp": "t", "value": null}', "missing value for 'value'"),
        20: ('{"timestamp": "t"}', "no 'value' in the line"),
    }
    for i, row in enumerate(data.to_dict("records")):
        if i in bad_lines:
            line, words = bad_lines[i]
            pipe.send(line)
            got = json.loads(pipe.receive())
            assert got["anomaly_score"] is None and got["is_anomaly"] is None
            assert words in got["error"] and got["anomaly_reason"] == f"error: {got['error']}"
        pipe.send(json.dumps({**row, "host": "web-1"}))
        got = json.loads(pipe.receive(START_TIMEOUT if i == 0 else LINE_TIMEOUT))
        assert {k: got[k] for k in ("timestamp", "value", "host")} == {**row, "host": "web-1"}
        assert got["anomaly_score"] == pytest.approx(expected[i], rel=1e-12)
        assert got["is_anomaly"] is bool(expected[i] > StandIn.limit)
        assert {"anomaly_reason", "expected", "lower", "upper"} <= set(got)
        assert "error" not in got
    rc, rest, err = pipe.finish()
    assert rc == 0 and rest == [], err


def test_follow_a_growing_file(tmp_path):
    data = series(n=10)
    expected = stand_in_batch(data["value"].to_numpy())
    path = tmp_path / "points.csv"
    data.iloc[:6].to_csv(path, index=False)
    # The lines already there, then each line appended, until interrupted.
    pipe = Pipe([*STAND_IN_CLI, "stream", "m.azm", "--input", str(path), "--follow"])
    assert pipe.receive(START_TIMEOUT).startswith("timestamp,value,anomaly_score")
    for i in range(6):
        assert float(pipe.receive().split(",")[2]) == pytest.approx(expected[i])
    with path.open("a") as growing:
        for i in range(6, 10):
            stamp, value = data.iloc[i]
            growing.write(f"{stamp},")  # half a line: it waits for the rest
            growing.flush()
            time.sleep(0.3)
            assert pipe.nothing_more()
            growing.write(f"{value}\n")
            growing.flush()
            assert float(pipe.receive().split(",")[2]) == pytest.approx(expected[i])
    pipe.proc.send_signal(signal.SIGINT)
    assert pipe.proc.wait(timeout=10) == 0


# -- in-process: the same command, without starting Python each time --------------------


@pytest.fixture()
def stand_in(monkeypatch) -> None:
    from anomalyzer.cli import stream

    monkeypatch.setattr(stream, "load_model", lambda steps, path: StandIn())


def test_input_file(stand_in, tmp_path):
    from anomalyzer import cli

    data = series(n=12)
    path = tmp_path / "points.csv"
    data.to_csv(path, index=False)
    res = CliRunner().invoke(cli.app, ["stream", "m.azm", "--input", str(path)])
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(io.StringIO(res.stdout))
    assert list(scored.columns[:3]) == ["timestamp", "value", "anomaly_score"]
    np.testing.assert_allclose(
        scored["anomaly_score"], stand_in_batch(data["value"].to_numpy()), rtol=1e-12
    )


def test_empty_input_writes_nothing(stand_in):
    from anomalyzer import cli

    res = CliRunner().invoke(cli.app, ["stream", "m.azm"], input="\n\n")
    assert res.exit_code == 0 and res.stdout == ""


def test_help_mentions_bad_lines_and_throughput():
    from anomalyzer import cli

    res = CliRunner().invoke(cli.app, ["stream", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    assert "the stream goes on" in text and "one call of the model's update" in text


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the real entry point (which maps errors to exit codes) in-process."""
    from anomalyzer import cli

    monkeypatch.setattr(sys, "argv", ["anomalyzer", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO("timestamp,value\nt,1\n"))
    with pytest.raises(SystemExit) as stop:
        cli.main()
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def table_model(tmp_path_factory) -> Path:
    from anomalyzer import Model

    path = tmp_path_factory.mktemp("stream") / "table.azm"
    rng = np.random.default_rng(0)
    Model("mad").fit(pd.DataFrame({"value": rng.normal(size=50)})).save(path)
    return path


@pytest.mark.parametrize(
    "args, words",
    [
        (["{table}"], "holds a table model, which cannot score a stream"),
        (["{tmp}/missing.azm"], "not found"),
        (["{table}", "--follow"], "name the file with --input"),
        (["{table}", "--format", "xml"], "use csv or jsonl"),
        (["{table}", "--input", "{tmp}/missing.csv"], "Input file"),
    ],
)
def test_bad_use_one_sentence_exit_2(args, words, table_model, tmp_path, monkeypatch, capsys):
    args = [a.format(table=table_model, tmp=tmp_path) for a in args]
    code, out, err = run_main(monkeypatch, capsys, "stream", *args)
    assert code == 2, (out, err)
    assert words in " ".join(err.split())
    assert "Traceback" not in err and out == ""


# -- a real series model, end to end -----------------------------------------------------

PREFIX = 300  # points the model is fitted on; the rest are streamed


def hourly(n: int, seed: int, spike: int) -> pd.DataFrame:
    t = pd.date_range("2026-01-05", periods=n, freq="h")
    rng = np.random.default_rng(seed)
    cpu = 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, 1, n)
    cpu[spike] += 40.0
    return pd.DataFrame({"timestamp": t.strftime("%Y-%m-%d %H:%M:%S"), "cpu": np.round(cpu, 4)})


def causal_batch(model, key, data: pd.DataFrame) -> np.ndarray:
    """The causal scores of the streamed points: the fitted detector run over the whole series.

    A causal detector fitted on the prefix scores prefix + new points in one batch
    exactly as it streams them; this is computed from the model kept in memory, not
    from the file the command loads.
    """
    fitted = model.series_[key]
    full = np.vstack([fitted.values, data[["cpu"]].to_numpy(dtype=float)])
    return fitted.detector.decision_function(full)[len(fitted.values) :]


@pytest.fixture(scope="module")
def one_series(tmp_path_factory):
    from anomalyzer.timeseries.model import SeriesModel

    data = hourly(PREFIX + 40, seed=0, spike=PREFIX + 20)
    model = SeriesModel(causal=True).fit(data.iloc[:PREFIX], "timestamp")
    path = tmp_path_factory.mktemp("series") / "cpu.azm"
    model.save(path)
    return path, model, data.iloc[PREFIX:]


def test_real_model_csv_pipe(one_series):
    path, model, new = one_series
    expected = causal_batch(model, None, new)
    pipe = Pipe([*EXE, "stream", str(path)])
    pipe.send("timestamp,cpu")
    header = pipe.receive(START_TIMEOUT).split(",")
    assert header == ["timestamp", "cpu", "anomaly_score", "is_anomaly", "anomaly_reason",
                      "expected", "lower", "upper"]  # fmt: skip
    flagged = []
    for i, (stamp, cpu) in enumerate(new.itertuples(index=False)):
        pipe.send(f"{stamp},{cpu}")
        row = dict(
            zip(
                header,
                next(csv.reader([pipe.receive(START_TIMEOUT if i == 0 else LINE_TIMEOUT)])),
                strict=True,
            )
        )
        assert row["timestamp"] == stamp
        assert float(row["anomaly_score"]) == pytest.approx(expected[i], rel=1e-9, abs=1e-12)
        assert float(row["lower"]) <= float(row["expected"]) <= float(row["upper"])
        if row["is_anomaly"] == "True":
            flagged.append(i)
            assert row["anomaly_reason"]
        if i == 10:
            # A row from the past is refused, and the stream goes on.
            pipe.send(f"{new.iloc[0, 0]},50.0")
            late = next(csv.reader([pipe.receive()]))
            assert late[2] == "" and late[4].startswith("error: ") and "not after" in late[4]
    assert 20 in flagged  # the spike
    rc, rest, err = pipe.finish()
    assert rc == 0 and rest == [], err


def test_real_model_json_lines_with_groups(tmp_path):
    """In-process, through the command's own loop: each answer is out before the next read."""
    import anomalyzer
    from anomalyzer.cli.stream import _run_stream
    from anomalyzer.timeseries.model import SeriesModel

    hosts = {"a": hourly(PREFIX + 15, seed=1, spike=PREFIX + 5),
             "b": hourly(PREFIX + 15, seed=2, spike=PREFIX + 9)}  # fmt: skip
    table = pd.concat([d.assign(host=h) for h, d in hosts.items()], ignore_index=True)
    prefix = table[table.groupby("host").cumcount() < PREFIX]
    model = SeriesModel(causal=True).fit(prefix, "timestamp", value="cpu", group="host")
    path = model.save(tmp_path / "hosts.azm")
    expected = {h: causal_batch(model, h, d.iloc[PREFIX:]) for h, d in hosts.items()}
    sent: list[tuple[str, int]] = []
    answers: list[str] = []

    def lines():
        for i in range(15):  # the hosts' points interleaved, as they would arrive
            for host, data in hosts.items():
                stamp, cpu = data.iloc[PREFIX + i]
                sent.append((host, i))
                yield json.dumps({"host": host, "timestamp": stamp, "cpu": cpu})
                # Asked for the next line only once this one's answer is written.
                assert len(answers) == len(sent)
        yield json.dumps({"host": "c", "timestamp": "2026-02-01 00:00:00", "cpu": 1.0})

    _run_stream(anomalyzer.load(path), lines(), None, answers.append)
    assert len(answers) == len(sent) + 1
    for (host, i), answer in zip(sent, answers, strict=False):
        got = json.loads(answer)
        assert got["host"] == host and "error" not in got, got
        assert got["anomaly_score"] == pytest.approx(expected[host][i], rel=1e-9, abs=1e-12)
        assert isinstance(got["is_anomaly"], bool)
        assert got["lower"] <= got["expected"] <= got["upper"]
    assert "not seen at fit" in json.loads(answers[-1])["error"]


def test_real_model_not_causal_exit_2(tmp_path, monkeypatch, capsys):
    from anomalyzer.timeseries.model import SeriesModel

    path = SeriesModel().fit(hourly(200, seed=3, spike=150), "timestamp").save(tmp_path / "b.azm")
    code, out, err = run_main(monkeypatch, capsys, "stream", str(path))
    assert code == 2 and "without --causal" in err and out == ""
