"""read_table: every source format round-trips a real file, and every mistake names its file."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomalyzer.data import read_table
from anomalyzer.errors import AnomalyzerError


@pytest.fixture()
def frame() -> pd.DataFrame:
    """Integers, floats with a missing value and accented text: what real files hold."""
    rng = np.random.default_rng(0)
    n = 40
    amount = rng.normal(100, 10, n).round(2)
    amount[3] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "amount": amount,
            "city": (["Zürich", "Besançon", "Málaga", "Kraków"] * 10)[:n],
            "note": [f"café {i}" if i % 5 else None for i in range(n)],
        }
    )


def _equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


# -- formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("semicolon.csv", lambda df, p: df.to_csv(p, sep=";", index=False)),
        ("pipe.csv", lambda df, p: df.to_csv(p, sep="|", index=False)),
        ("tabs.tsv", lambda df, p: df.to_csv(p, sep="\t", index=False)),
        ("tabs.txt", lambda df, p: df.to_csv(p, sep="\t", index=False)),
        ("latin1.csv", lambda df, p: df.to_csv(p, index=False, encoding="latin-1")),
        ("bom.csv", lambda df, p: df.to_csv(p, index=False, encoding="utf-8-sig")),
        ("utf16.csv", lambda df, p: df.to_csv(p, index=False, encoding="utf-16")),
        ("data.csv.gz", lambda df, p: df.to_csv(p, index=False, compression="gzip")),
        ("data.parquet", lambda df, p: df.to_parquet(p, index=False)),
        ("data.pq", lambda df, p: df.to_parquet(p, index=False)),
        ("data.jsonl", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("data.ndjson", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("lines.json", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("array.json", lambda df, p: df.to_json(p, orient="records")),
        ("columns.json", lambda df, p: df.to_json(p, orient="columns")),
        ("data.jsonl.gz", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("data.xlsx", lambda df, p: df.to_excel(p, index=False)),
    ],
)
def test_file_round_trip(tmp_path: Path, frame: pd.DataFrame, name: str, writer) -> None:
    path = tmp_path / name
    writer(frame, path)
    _equal(read_table(path), frame)
    _equal(read_table(str(path)), frame)


def test_latin1_is_not_utf8(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "latin1.csv"
    frame.drop(columns="city").assign(city=["Zürich", "Besançon", "Málaga", "Señor"] * 10).to_csv(
        path, sep=";", index=False, encoding="latin-1"
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the test really exercises detection
    got = read_table(path)
    assert got["city"].tolist()[:4] == ["Zürich", "Besançon", "Málaga", "Señor"]


def test_decimal_comma_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("name;price;qty\nA;1,5;3\nB;2,25;4\nC;10,0;5\n", encoding="utf-8")
    got = read_table(path)
    assert got["price"].tolist() == [1.5, 2.25, 10.0]
    assert got["qty"].tolist() == [3, 4, 5]


def test_single_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("value\n1.5\n2.5\n3.5\n", encoding="utf-8")
    assert read_table(path)["value"].tolist() == [1.5, 2.5, 3.5]


def test_quoted_delimiters_inside_values(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": ["x, y", "z; w", "v"], "b": [1, 2, 3]})
    path = tmp_path / "quoted.csv"
    df.to_csv(path, index=False)
    _equal(read_table(path), df)


def test_excel_sheet_by_name_and_position(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    other = pd.DataFrame({"x": [1.5, 2.5], "y": ["a", "b"]})
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="main", index=False)
        other.to_excel(writer, sheet_name="other", index=False)
    _equal(read_table(path), frame)
    _equal(read_table(path, sheet="other"), other)
    _equal(read_table(path, sheet=1), other)


def test_sqlite_table_and_query(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.sqlite"
    with sqlite3.connect(path) as conn:
        frame.to_sql("payments", conn, index=False)
    url = f"sqlite:///{path}"
    _equal(read_table(url, table="payments"), frame)
    _equal(read_table(url, query="SELECT * FROM payments ORDER BY id"), frame)
    some = read_table(url, query="SELECT id, amount FROM payments WHERE id <= 5")
    _equal(some, frame.loc[frame["id"] <= 5, ["id", "amount"]])


def test_dataframe_is_copied(frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    got = read_table(frame)
    got.loc[0, "amount"] = -1.0
    got["new"] = 1
    pd.testing.assert_frame_equal(frame, before)


def test_dataframe_column_names_become_text() -> None:
    got = read_table(pd.DataFrame({0: [1.0, 2.0], "b": [3, 4]}))
    assert list(got.columns) == ["0", "b"]


# -- errors ----------------------------------------------------------------------------


def _error(match_path: Path | str, *args, **kwargs) -> str:
    with pytest.raises(AnomalyzerError) as info:
        read_table(*args, **kwargs)
    message = str(info.value)
    assert str(match_path) in message, message
    assert message.count("\n") == 0, message
    return message


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    assert "not found" in _error(path, path)


def test_directory(tmp_path: Path) -> None:
    assert "directory" in _error(tmp_path, tmp_path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.docx"
    path.write_bytes(b"something")
    message = _error(path, path)
    assert "unsupported extension '.docx'" in message
    assert ".csv" in message and ".parquet" in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "is empty" in _error(path, path)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n  \n", encoding="utf-8")
    assert "is empty" in _error(blank, blank)


def test_header_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n", encoding="utf-8")
    assert "has no rows" in _error(path, path)


def test_excel_header_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.xlsx"
    pd.DataFrame({"a": [], "b": []}).to_excel(path, index=False)
    assert "has no rows" in _error(path, path)


def test_no_columns(tmp_path: Path) -> None:
    path = tmp_path / "nocols.json"
    path.write_text("[{}, {}]", encoding="utf-8")
    assert "has no columns" in _error(path, path)
    with pytest.raises(AnomalyzerError, match="DataFrame has no columns"):
        read_table(pd.DataFrame(index=range(3)))


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    assert "could not be read as CSV" in _error(path, path)


def test_binary_without_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "controls.csv"
    path.write_bytes(bytes(range(1, 32)) * 50)
    assert "could not be read as CSV" in _error(path, path)


def test_parquet_named_csv(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "really_parquet.csv"
    frame.to_parquet(path)
    assert "Parquet" in _error(path, path)


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8")
    message = _error(path, path)
    assert "could not be read as CSV" in message and "line 3" in message


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("corrupt.parquet", b"PAR1 this is not parquet", "Parquet"),
        ("corrupt.xlsx", b"not a zip file at all", "Excel"),
        ("corrupt.json", b'[{"a": 1}, {"a": ', "JSON"),
        ("corrupt.jsonl", b'{"a": 1}\n{"a": 2\n', "JSON lines"),
        ("scalars.json", b"[1, 2, 3]", "JSON records"),
        ("corrupt.csv.gz", b"not gzip", "gzip"),
    ],
)
def test_corrupt_files(tmp_path: Path, name: str, content: bytes, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert f"could not be {'decompressed as' if kind == 'gzip' else 'read as'} {kind}" in _error(
        path, path
    )


def test_empty_gzip(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv.gz"
    with gzip.open(path, "wb"):
        pass
    assert "empty" in _error(path, path)


def test_excel_unknown_sheet(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    frame.to_excel(path, index=False, sheet_name="main")
    message = _error(path, path, sheet="nope")
    assert "'nope'" in message and "main" in message
    assert "sheet=3" in _error(path, path, sheet=3)


def test_option_not_for_this_source(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(AnomalyzerError, match="sheet= applies only to Excel files"):
        read_table(path, sheet=1)
    with pytest.raises(AnomalyzerError, match="table= applies only to database URLs"):
        read_table(frame, table="t")


def test_unsupported_source_type() -> None:
    with pytest.raises(AnomalyzerError, match="Cannot read a table from a list"):
        read_table([1, 2, 3])


def test_duplicate_column_names() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(AnomalyzerError, match="more than one column named 'a'"):
        read_table(df)


@pytest.fixture()
def database(tmp_path: Path, frame: pd.DataFrame) -> str:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        frame.to_sql("payments", conn, index=False)
        frame.head(0).to_sql("no_rows", conn, index=False)
    return f"sqlite:///{path}"


def test_sql_missing_table_lists_tables(database: str) -> None:
    message = _error(database, database, table="paymnets")
    assert "'paymnets'" in message and "payments" in message and "no_rows" in message


def test_sql_needs_table_or_query(database: str) -> None:
    message = _error(database, database)
    assert "table= or query=" in message and "payments" in message


def test_sql_not_both(database: str) -> None:
    assert "not both" in _error(database, database, table="payments", query="SELECT 1")


def test_sql_empty_table(database: str) -> None:
    message = _error("no_rows", database, table="no_rows")
    assert "has no rows" in message


def test_sql_bad_query(database: str) -> None:
    assert "failed" in _error(database, database, query="SELECT * FROM nowhere")


def test_sql_missing_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.sqlite"
    url = f"sqlite:///{path}"
    assert "not found" in _error(path, url, table="t")
    assert not path.exists()


def test_unknown_url_scheme() -> None:
    url = "https://example.com/data.csv"
    assert "not a database URL" in _error(url, url, table="t")


def test_json_keeps_text_that_looks_like_numbers(tmp_path: Path) -> None:
    path = tmp_path / "zips.jsonl"
    path.write_text(
        "\n".join(json.dumps({"zip": z, "n": i}) for i, z in enumerate(["00123", "02134"])),
        encoding="utf-8",
    )
    assert read_table(path)["zip"].tolist() == ["00123", "02134"]


# -- through anomalyzer.detect -----------------------------------------------------------

OUTPUT_COLUMNS = ["anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason"]


@pytest.fixture()
def outlier_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 60
    df = pd.DataFrame(
        {
            "amount": rng.normal(50, 5, n).round(2),
            "qty": rng.integers(1, 5, n),
            "shop": rng.choice(["north", "south", "east"], n),
        }
    )
    df.loc[7, "amount"] = 900.0
    return df


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("d.csv", lambda df, p: df.to_csv(p, sep=";", index=False)),
        ("d.tsv", lambda df, p: df.to_csv(p, sep="\t", index=False)),
        ("d.csv.gz", lambda df, p: df.to_csv(p, index=False, compression="gzip")),
        ("d.parquet", lambda df, p: df.to_parquet(p, index=False)),
        ("d.jsonl", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("d.json", lambda df, p: df.to_json(p, orient="records")),
        ("d.xlsx", lambda df, p: df.to_excel(p, index=False)),
    ],
)
def test_detect_reads_every_format(tmp_path: Path, outlier_frame: pd.DataFrame, name, writer):
    detect = pytest.importorskip("anomalyzer").detect
    path = tmp_path / name
    writer(outlier_frame, path)
    result = detect(path, "mad")
    _check_detected(result.frame, outlier_frame)


def test_detect_reads_sqlite(tmp_path: Path, outlier_frame: pd.DataFrame) -> None:
    detect = pytest.importorskip("anomalyzer").detect
    path = tmp_path / "d.sqlite"
    with sqlite3.connect(path) as conn:
        outlier_frame.to_sql("sales", conn, index=False)
    url = f"sqlite:///{path}"
    _check_detected(detect(url, "mad", table="sales").frame, outlier_frame)
    _check_detected(detect(url, "mad", query="SELECT * FROM sales").frame, outlier_frame)


def _check_detected(got: pd.DataFrame, original: pd.DataFrame) -> None:
    assert list(got.columns) == [*original.columns, *OUTPUT_COLUMNS]
    _equal(got[list(original.columns)], original)
    assert got["anomaly_rank"].min() == 1
    top = got.loc[got["anomaly_rank"] == 1]
    assert top["amount"].tolist() == [900.0]
    assert bool(top["is_anomaly"].iloc[0])
    assert "amount" in top["anomaly_reason"].iloc[0]
