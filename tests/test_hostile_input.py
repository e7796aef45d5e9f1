"""Hostile and careless input: nothing lost, memory bounded, one sentence for every mistake.

One test per class of problem; the command line runs in-process through its
entry point (exit codes and the printed sentence as a user sees them). Sizes
are kept small by lowering the limits of :mod:`anomalyzer.data.limits` for a
test; the full-size cases (gigabyte bombs, a 50 MB cell, a million-field line)
are measured by ``benchmarks/hostile.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli

import anomalyzer as az
from anomalyzer import persist
from anomalyzer.data import read_table
from anomalyzer.errors import AnomalyzerError


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    df.loc[5, "a"] = 15.0
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


# -- data loss -------------------------------------------------------------------------


def test_outputs_never_overwrite_inputs_or_each_other(monkeypatch, capsys, table, tmp_path):
    before = digest(table)
    link = tmp_path / "link.csv"
    link.symlink_to(table)
    for args in (
        ["--save", str(table)],
        ["--out", str(link)],
        ["--save", str(tmp_path / ".." / tmp_path.name / "data.csv")],
        ["--out", str(tmp_path / "o.csv"), "--save", str(tmp_path / "o.csv")],
    ):
        code, _, err = cli(
            monkeypatch, capsys, "detect", str(table), "-d", "mad", "--top", "0", *args
        )
        assert code == 2, err
        assert "Refusing to write" in err and "Traceback" not in err
        assert digest(table) == before
    model = tmp_path / "m.azm"
    args = ("detect", str(table), "-d", "mad", "--top", "0", "--save", str(model))
    assert cli(monkeypatch, capsys, *args)[0] == 0
    saved = digest(model)
    model_link = tmp_path / "model.csv"
    model_link.symlink_to(model)
    for target in (table, model_link):
        code, _, err = cli(
            monkeypatch, capsys, "score", str(model), str(table), "--out", str(target)
        )
        assert code == 2 and "Refusing to write" in err
    assert digest(table) == before and digest(model) == saved
    for command in (
        ["compare", str(table), "--label", "a"],
        ["evaluate", str(table), "--label", "a"],
    ):
        code, _, err = cli(monkeypatch, capsys, *command, "--out", str(link))
        assert code == 2 and "Refusing to write --out" in err, err
    assert digest(table) == before


def test_an_interrupted_write_leaves_the_old_file(tmp_path):
    from anomalyzer.destinations import atomic_path, check_outputs

    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as part:
        part.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]
    with pytest.raises(AnomalyzerError, match="same file"):
        check_outputs({"--out": tmp_path / "x.csv", "--save": tmp_path / "." / "x.csv"})


# -- unbounded memory ------------------------------------------------------------------


@pytest.fixture
def small_limits(monkeypatch):
    """Bomb limits lowered so that a 4 MB bomb behaves like a 4 GB one."""
    from anomalyzer.data import limits

    monkeypatch.setattr(limits, "INFLATION_FREE_BYTES", 1 << 20)
    monkeypatch.setattr(limits, "CHUNK_BYTES", 1 << 18)


def test_gzip_bomb_is_refused_while_inflating(small_limits, tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b"a,b\n")
        fh.write(b"1,2\n" * (1 << 20))
    with pytest.raises(AnomalyzerError, match="compression bomb"):
        read_table(bomb)
    # A workbook is a zip too: a sheet that inflates like a bomb is refused before parsing.
    book = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (4 << 20))
    with pytest.raises(AnomalyzerError, match="compression bomb"):
        read_table(book)
    # A real compressed table of the same kind is still read.
    fine = tmp_path / "fine.csv.gz"
    with gzip.open(fine, "wb") as fh:
        fh.write(b"a,b\n1,2\n3,4\n")
    assert read_table(fine).shape == (2, 2)


def test_tables_too_large_for_memory_get_a_sentence(monkeypatch, table, tmp_path):
    from anomalyzer.data import limits

    parquet = tmp_path / "data.parquet"
    pd.read_csv(table).to_parquet(parquet)
    monkeypatch.setattr(limits, "MEMORY_SHARE", 1e-12)
    for path in (table, parquet):
        with pytest.raises(AnomalyzerError, match="score a sample of it"):
            read_table(path)


def _fitted_model_file(tmp_path: Path) -> Path:
    df = pd.DataFrame({"x": np.arange(50.0) % 7, "y": np.arange(50.0) % 5})
    return az.Model("mad").fit(df).save(tmp_path / "m.azm")


def _rewrite(path: Path, target: Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))


def test_model_file_bombs_are_refused_without_trusting_the_header(small_limits, tmp_path):
    model = _fitted_model_file(tmp_path)
    # The manifest inflates to 4 MB: refused while it is read.
    manifest_bomb = tmp_path / "manifest.azm"
    _rewrite(model, manifest_bomb, {"manifest.json": b"{" + b" " * (4 << 20) + b"}"})
    with pytest.raises(AnomalyzerError, match="compression bomb"):
        az.load(manifest_bomb)
    # The skops payload holds an entry that inflates to 4 MB: refused before skops reads it.
    with zipfile.ZipFile(model) as zf:
        payload = zf.read("detector.skops")
    inner = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(payload)) as src,
        zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("huge.npy", bytes(4 << 20))
    # Digests catch accidents, not forgers: a forged file carries matching ones.
    forged = inner.getvalue()
    manifest = persist.read_manifest(model)
    manifest["payload"]["sha256"] = hashlib.sha256(forged).hexdigest()
    manifest["digest"] = persist._digest(manifest, forged)
    payload_bomb = tmp_path / "payload.azm"
    _rewrite(
        model,
        payload_bomb,
        {"detector.skops": forged, "manifest.json": json.dumps(manifest).encode()},
    )
    with pytest.raises(AnomalyzerError, match="compression bomb"):
        az.load(payload_bomb)
    # A header that understates the size does not help: the bytes produced count.
    lying = tmp_path / "lying.azm"
    _rewrite(model, lying, {"manifest.json": b"{" + b" " * (4 << 20) + b"}"})
    data = bytearray(lying.read_bytes())
    at = data.find(b"PK\x01\x02")  # central directory: uncompressed size at offset 24
    data[at + 24 : at + 28] = (100).to_bytes(4, "little")
    lying.write_bytes(bytes(data))
    with pytest.raises(AnomalyzerError):
        az.load(lying)


# -- hangs -----------------------------------------------------------------------------


def test_huge_cells_and_wide_lines_are_refused_and_long_values_shortened(monkeypatch, tmp_path):
    from anomalyzer.data import io as data_io
    from anomalyzer.data.limits import MAX_COLUMNS

    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n")
    with pytest.raises(AnomalyzerError, match="columns in its first line"):
        read_table(wide)
    wide_json = tmp_path / "wide.jsonl"
    wide_json.write_text(json.dumps({f"k{i}": i for i in range(MAX_COLUMNS + 1)}) + "\n")
    with pytest.raises(AnomalyzerError, match="fields, more than"):
        read_table(wide_json)
    monkeypatch.setattr(data_io, "MAX_FIELD_CHARS", 10_000)
    big = tmp_path / "big.csv"
    big.write_text("a,b\n1,x\n2," + "y" * 20_000 + "\n")
    with pytest.raises(AnomalyzerError, match="characters in column 'b'"):
        read_table(big)
    # A long value below the limit is kept whole in the data, shortened in the reason.
    long_value = "z" * 5_000
    df = pd.DataFrame({"k": ["a", "b"] * 40 + [long_value], "x": np.r_[np.zeros(80), 1.0]})
    result = az.detect(df, "mad")
    assert result.frame["k"].iloc[-1] == long_value
    reasons = result.frame["anomaly_reason"]
    assert reasons.str.len().max() < 300
    assert reasons.str.contains("…").any()


# -- tracebacks ------------------------------------------------------------------------


def test_markup_in_names_is_printed_as_written(monkeypatch, capsys, tmp_path):
    odd = tmp_path / "[x]odd[bold].csv"
    pd.DataFrame({"[/]": [1.0, 2.0, 3.0, 40.0] * 5, "b[x]": [1, 2] * 10}).to_csv(odd, index=False)
    code, out, err = cli(monkeypatch, capsys, "detect", str(odd), "--top", "3")
    assert code == 0, err
    assert "[x]odd[bold].csv" in out and "[/]" in out and "b[x]" in out
    code, _, err = cli(monkeypatch, capsys, "detect", str(tmp_path / "[/]missing.csv"))
    assert code == 2 and "[/]missing.csv" in err and "MarkupError" not in err
    # An escape sequence in a value does not reach the terminal.
    codes = tmp_path / "codes.csv"
    pd.DataFrame({"k\x1b[31m": ["a", "b"] * 10 + ["\x1b[2J"], "x": range(21)}).to_csv(
        codes, index=False
    )
    code, out, err = cli(monkeypatch, capsys, "detect", str(codes), "--top", "3")
    assert "\x1b" not in out + err


# -- crashes on real-world dirt --------------------------------------------------------


def test_numbers_with_a_few_junk_cells_are_numbers(monkeypatch, capsys, tmp_path):
    rng = np.random.default_rng(1)
    values = [f"{v:.2f}" for v in rng.normal(10, 1, 200)]
    values[3], values[50], values[70] = "abc", "--", "abc"
    path = tmp_path / "junk.csv"
    pd.DataFrame({"x": values, "y": rng.normal(size=200)}).to_csv(path, index=False)
    result = az.detect(read_table(path))
    assert result.model.schema.role_of("x") == "numeric"
    assert result.notes == [
        "column 'x': 3 cells that are not numbers ('abc', '--') read as missing"
    ]
    assert result.frame["x"].tolist() == values  # the data is left as it was
    code, _, err = cli(monkeypatch, capsys, "detect", str(path), "--top", "10")
    assert code == 0, err
    assert "3 cells that are not numbers" in err


def test_a_table_of_dates_only_scores_on_a_sensible_scale():
    times = pd.date_range("2024-01-01", periods=100, freq="h").astype(str)
    result = az.detect(pd.DataFrame({"t": times}))
    scores = result.scores.to_numpy()
    assert np.isfinite(scores).all() and np.abs(scores).max() < 1e3
    assert not result.frame["anomaly_reason"].str.contains("for this row").any()


# -- side effects ----------------------------------------------------------------------


def test_sql_sources_are_read_only(tmp_path):
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (a real, b real)")
        conn.executemany("insert into t values (?, ?)", [(i, i * 2) for i in range(10)])
    url = f"sqlite:///{db}"
    before = digest(db)
    for query in (
        "DROP TABLE t",
        f"ATTACH '{tmp_path / 'new.db'}' AS o",
        "select 1; drop table t",
        "PRAGMA user_version = 3",
        "WITH x AS (SELECT 1) DELETE FROM t",
    ):
        with pytest.raises(AnomalyzerError, match=r"read-only|one statement"):
            read_table(url, query=query)
    assert not (tmp_path / "new.db").exists()
    assert digest(db) == before
    assert read_table(url, query="select a, b from t where a > 4").shape == (5, 2)
    assert read_table(url, table="t").shape == (10, 2)


# -- silent misreads -------------------------------------------------------------------


def test_mixed_time_formats_are_detected_and_day_first_settled():
    stamps = pd.date_range("2024-01-01", periods=120, freq="D")
    text = [
        d.strftime("%Y-%m-%d") if i % 2 else d.strftime("%d/%m/%Y") for i, d in enumerate(stamps)
    ]
    rng = np.random.default_rng(2)
    result = az.detect(pd.DataFrame({"t": text, "v": rng.normal(size=120)}), time="t")
    (series,) = result.model.series_.values()
    assert len(series.index) == 120  # daily grid, no swapped months stretching it
    notes = " ".join(result.model.notes)
    assert "written in 2 ways" in notes and "read day first" in notes
    both = ["13/01/2024", "01/13/2024"] + ["2024-01-02"] * 10
    with pytest.raises(AnomalyzerError, match="both day first"):
        az.detect(pd.DataFrame({"t": both, "v": range(12)}), time="t")


def test_score_time_warns_about_missing_columns_and_unseen_levels():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=100), "k": rng.choice(["a", "b"], 100)})
    model = az.Model("mad").fit(df)
    new = df.assign(x=np.nan, k="zz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = model.score_frame(new)
    said = " ".join(str(w.message) for w in caught)
    assert "column 'x' is missing in 100% of rows" in said
    assert "column 'k' holds values never seen" in said
    assert len(frame.attrs["notes"]) == 2


def test_duplicate_column_names_in_a_file_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(AnomalyzerError, match="more than one column named 'a'"):
        read_table(path)


# -- smaller ---------------------------------------------------------------------------


def test_utf16_without_a_byte_order_mark_is_text(tmp_path):
    for codec in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{codec}.csv"
        path.write_bytes("name,value\nZoë,1\nAnn,2\n".encode(codec))
        df = read_table(path)
        assert df["name"].tolist() == ["Zoë", "Ann"] and df["value"].tolist() == [1, 2]


def test_standard_input_is_a_data_source(monkeypatch, capsys, table):
    code, out, err = cli(monkeypatch, capsys, "detect", "-", "--top", "1", stdin=table.read_bytes())
    assert code == 0, err
    assert "120 rows" in out
    packed = gzip.compress(table.read_bytes())
    code, out, _ = cli(monkeypatch, capsys, "detect", "-", "--top", "0", stdin=packed)
    assert code == 0 and "120 rows" in out
    code, _, err = cli(monkeypatch, capsys, "detect", "-", stdin=b"")
    assert code == 2 and "Standard input is empty" in err


def test_own_text_never_a_formula_and_xlsx_cells_typed(monkeypatch, capsys, tmp_path):
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"=cmd": rng.normal(size=60), "note": ["=1+1", "@x"] * 30})
    df.loc[3, "=cmd"] = 40.0
    frame = az.detect(df, "mad").frame
    reasons = frame["anomaly_reason"][frame["anomaly_reason"] != ""]
    assert not reasons.str.match(r"[=+\-@]").any()
    assert frame["note"].tolist() == df["note"].tolist()  # user values are left as they are
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "scored.xlsx"
    code, _, err = cli(monkeypatch, capsys, "detect", str(path), "-d", "mad", "--top", "0",
                       "--out", str(out))  # fmt: skip
    assert code == 0, err
    from openpyxl import load_workbook

    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["note"].value == "=1+1" and row["note"].data_type == "s"
    assert row["=cmd"].data_type == "n" and row["is_anomaly"].data_type == "b"
    assert row["anomaly_rank"].data_type == "n"


@pytest.fixture
def postgres():
    """A database on a throw-away PostgreSQL server (skipped where PostgreSQL is missing)."""
    from postgres_server import postgres_server

    pytest.importorskip("psycopg", reason="the psycopg driver is not installed")
    try:
        with postgres_server() as server:
            yield server.new_database()
    except RuntimeError as exc:
        pytest.skip(str(exc))


def test_postgresql_sources_are_read_in_a_read_only_transaction(postgres):
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(text("create table t (a float, b float)"))
        conn.execute(text("insert into t select g, g % 3 from generate_series(1, 20) g"))
    engine.dispose()
    for query in (
        "with d as (delete from t returning *) select * from d",
        "select * from t for update",
        "select 1 as x; drop table t",
        "DROP TABLE t",
    ):
        with pytest.raises(AnomalyzerError, match=r"read-only|one statement|DROP"):
            read_table(postgres, query=query)
    assert read_table(postgres, table="t").shape == (20, 2)
    assert read_table(postgres, query="select a from t where b = 0").shape == (6, 1)


def test_values_in_plots_are_never_live_links():
    from anomalyzer.report.figures import categorical_view

    link = "<a href='https://example.com'>click</a>"
    levels = pd.Series(["a"] * 50 + [link] * 2)
    fig = categorical_view("<b>k</b>", levels, np.r_[np.zeros(50, bool), True, True])
    labels = [str(x) for trace in fig.data for x in trace.x]
    assert link not in labels and any("&lt;a href=" in x for x in labels)
    assert "<b>" not in fig.layout.title.text
