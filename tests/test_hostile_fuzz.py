"""Fuzzing: random small tables and random bytes either work or give one sentence.

Every run of ``read_table`` + ``detect`` + ``save`` + ``load`` + ``score`` on
a random table (mixed dtypes, NaN, inf, empty strings, huge and tiny numbers,
duplicate and odd column names) succeeds or raises ``AnomalyzerError``; random
bytes given as a data file or as a model file do the same. Example counts are
bounded so the module runs in seconds.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anomalyzer as az
from anomalyzer.data import read_table
from anomalyzer.errors import AnomalyzerError

FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

names = st.one_of(
    st.sampled_from(["a", "a", "", " ", "[/]", "=x", "id", "x.1", "<b>", "é", "\x1b[31m", "0"]),
    st.text(min_size=0, max_size=8),
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf]),
)
cells = st.one_of(
    floats,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=12),
    st.sampled_from(["", " ", "abc", "--", "n/a", "2024-01-05", "05/01/2024", "=1+1", "1,5"]),
    st.booleans(),
    st.none(),
)


@st.composite
def tables(draw) -> pd.DataFrame:
    n_rows = draw(st.integers(min_value=0, max_value=25))
    n_cols = draw(st.integers(min_value=0, max_value=4))
    columns = [draw(names) for _ in range(n_cols)]
    data = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(["mixed", "float", "text"]))
        strategy = {"mixed": cells, "float": floats, "text": st.text(max_size=6)}[kind]
        data[j] = draw(st.lists(strategy, min_size=n_rows, max_size=n_rows))
    df = pd.DataFrame(data)
    df.columns = columns
    return df


@FUZZ
@given(df=tables(), detector=st.sampled_from(["mad", "iforest", "hbos"]))
def test_random_tables_work_or_give_one_sentence(df: pd.DataFrame, detector: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            table = read_table(df)
            result = az.detect(table, detector, random_state=0)
            path = result.model.save(Path(tmp) / "m.azm")
            again = az.load(path)
            scored = again.score_frame(table)
        except AnomalyzerError as exc:
            assert str(exc).strip() and "\n" not in str(exc)
            return
    assert len(scored) == len(table)
    assert np.isfinite(scored["anomaly_score"].to_numpy()).all()
    assert (
        scored["anomaly_score"].tolist()
        == pytest.approx(result.frame["anomaly_score"].tolist(), rel=1e-6, abs=1e-9)
        or detector == "iforest"
    )


@FUZZ
@given(raw=st.binary(min_size=0, max_size=3000), ext=st.sampled_from([".csv", ".json", ".csv.gz"]))
def test_random_bytes_as_a_data_file(raw: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{ext}"
        path.write_bytes(raw)
        try:
            df = read_table(path)
        except AnomalyzerError:
            return
        try:
            az.detect(df, "mad")
        except AnomalyzerError:
            return
        assert path.read_bytes() == raw


@FUZZ
@given(raw=st.binary(min_size=0, max_size=3000))
def test_random_bytes_as_a_model_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.azm"
        path.write_bytes(raw)
        with pytest.raises(AnomalyzerError):
            az.load(path)


@FUZZ
@given(flip=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=4))
def test_damaged_model_files_are_refused(flip: list[int]) -> None:
    df = pd.DataFrame({"x": np.arange(40.0) % 6, "k": list("ab") * 20})
    with tempfile.TemporaryDirectory() as tmp:
        path = az.Model("mad").fit(df).save(Path(tmp) / "m.azm")
        data = bytearray(path.read_bytes())
        for position in flip:
            data[position % len(data)] ^= 0xFF
        path.write_bytes(bytes(data))
        try:
            model = az.load(path)
        except AnomalyzerError:
            return
        # A flip in an unused byte of the zip (a timestamp) may leave a valid model.
        assert len(model.score_frame(df)) == len(df)


def test_random_bytes_given_to_the_command_line(monkeypatch, capsys, tmp_path):
    """Random bytes as DATA and as a model file: exit 0 or 2 with one sentence, no traceback."""
    rng = np.random.default_rng(5)
    table = tmp_path / "data.csv"
    pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)}).to_csv(table, index=False)
    model = tmp_path / "m.azm"
    args = ("detect", str(table), "-d", "mad", "--top", "0", "--save", str(model))
    assert cli(monkeypatch, capsys, *args)[0] == 0
    for i in range(6):
        junk = rng.integers(0, 256, size=int(rng.integers(1, 4000)), dtype=np.uint8).tobytes()
        data = tmp_path / f"junk{i}.csv"
        data.write_bytes(junk)
        code, _, err = cli(monkeypatch, capsys, "detect", str(data), "-d", "mad", "--top", "0")
        assert code in (0, 2) and "Unexpected" not in err and "Traceback" not in err
        fake = tmp_path / f"junk{i}.azm"
        fake.write_bytes(junk)
        code, _, err = cli(monkeypatch, capsys, "score", str(fake), str(table))
        assert code == 2 and "Unexpected" not in err, err
