"""Role inference on a messy table, the explicit settings, and the schema's own methods."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest

from anomalyzer.data import ColumnInfo, Role, Schema, infer_schema
from anomalyzer.errors import AnomalyzerError

WORDS = ["the", "order", "arrived", "late", "and", "broken", "great", "service", "refund"]


def messy(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A table like the ones people actually have, one column per inference rule."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 1, n).round(2)
    amount[rng.choice(n, 15, replace=False)] = np.nan
    dates = pd.date_range("2024-01-01", periods=n, freq="37min")
    return pd.DataFrame(
        {
            "row": np.arange(n),
            "customer_uuid": [str(uuid.UUID(int=int(rng.integers(0, 2**62)))) for _ in range(n)],
            "order_id": rng.permutation(n) + 1000,
            "amount": amount,
            "quantity": rng.integers(1, 20, n),
            "source": "web",
            "batch": 7,
            "empty_text": [None] * n,
            "empty_num": np.full(n, np.nan),
            "blank": ["  "] * n,
            "comment": [
                " ".join(rng.choice(WORDS, rng.integers(4, 12))) + f" {i}" for i in range(n)
            ],
            "created": dates.strftime("%Y-%m-%d %H:%M"),
            "created_us": dates.strftime("%m/%d/%Y"),
            "shipped": pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Paris"),
            "is_gift": rng.random(n) < 0.2,
            "flag01": rng.integers(0, 2, n),
            "vip": rng.choice(["Yes", "No"], n),
            "size": rng.choice([10.0, 20.0, np.nan], n),
            "country": rng.choice(["US", "FR", "DE", "NL"], n),
            "sku": rng.choice([f"SKU-{i}" for i in range(150)], n),
            "zip": [f"{z:05d}" for z in rng.integers(0, 40, n)],
            "price_text": [f"${v:,.2f}" for v in rng.uniform(500, 5000, n)],
            "pct": [f"{v:.0f}%" for v in rng.uniform(0, 100, n)],
            "with_junk": [str(v) if i % 50 else "n/a?" for i, v in enumerate(rng.normal(size=n))],
        }
    )


EXPECTED = {
    "row": Role.ID,
    "customer_uuid": Role.ID,
    "order_id": Role.ID,
    "amount": Role.NUMERIC,
    "quantity": Role.NUMERIC,
    "source": Role.CONSTANT,
    "batch": Role.CONSTANT,
    "empty_text": Role.EMPTY,
    "empty_num": Role.EMPTY,
    "blank": Role.EMPTY,
    "comment": Role.TEXT,
    "created": Role.DATETIME,
    "created_us": Role.DATETIME,
    "shipped": Role.DATETIME,
    "is_gift": Role.BOOLEAN,
    "flag01": Role.BOOLEAN,
    "vip": Role.BOOLEAN,
    "size": Role.BOOLEAN,
    "country": Role.CATEGORICAL,
    "sku": Role.CATEGORICAL,
    "zip": Role.CATEGORICAL,
    "price_text": Role.NUMERIC,
    "pct": Role.NUMERIC,
    "with_junk": Role.NUMERIC,
}


def test_messy_frame_roles() -> None:
    schema = infer_schema(messy())
    got = {c.name: c.role for c in schema.columns}
    assert got == EXPECTED
    assert [c.name for c in schema.columns] == list(EXPECTED)


def test_reasons_and_missing_shares() -> None:
    schema = infer_schema(messy())
    info = {c.name: c for c in schema.columns}
    assert info["row"].reason.startswith("unique for every row: an identifier")
    assert info["comment"].reason == "free text (200 distinct long strings): ignored"
    assert info["batch"].reason == "a single value (7): dropped"
    assert info["source"].reason == "a single value ('web'): dropped"
    assert info["empty_num"].reason == "all values missing: dropped"
    assert info["amount"].missing == pytest.approx(15 / 200)
    assert info["blank"].missing == 1.0
    assert info["amount"].dtype == "float64"
    assert info["shipped"].dtype.startswith("datetime64")


def test_features_in_table_order() -> None:
    schema = infer_schema(messy())
    features = [n for n, r in EXPECTED.items() if r in _FEATURES]
    assert schema.features == features
    assert {c.name for c in schema.dropped()} == set(EXPECTED) - set(features)


_FEATURES = {Role.NUMERIC, Role.CATEGORICAL, Role.BOOLEAN, Role.DATETIME}


def test_id_needs_evidence() -> None:
    """Distinct integers are not an identifier in a tiny table, nor when unsorted."""
    small = pd.DataFrame({"count": [3, 1, 2, 5, 4], "x": [1.0, 2, 3, 4, 5]})
    assert infer_schema(small).role_of("count") is Role.NUMERIC
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"cents": rng.permutation(100) * 13, "user_id": rng.permutation(100)})
    schema = infer_schema(big)
    assert schema.role_of("cents") is Role.NUMERIC
    assert schema.role_of("user_id") is Role.ID


def test_leading_zero_codes_stay_text() -> None:
    df = pd.DataFrame({"code": ["001", "002", "001", "003"], "v": [1.0, 2.0, 3.0, 4.0]})
    assert infer_schema(df).role_of("code") is Role.CATEGORICAL


def test_long_categorical_labels_are_not_text() -> None:
    labels = [f"Department of Motor Vehicles, region number {i}" for i in range(5)]
    df = pd.DataFrame({"office": labels * 20, "v": np.arange(100.0) % 7})
    assert infer_schema(df).role_of("office") is Role.CATEGORICAL


def test_exclude_label_and_roles() -> None:
    df = messy()
    schema = infer_schema(
        df,
        exclude=["quantity"],
        label="flag01",
        roles={"zip": "id", "order_id": "categorical", "amount": "NUMERIC"},
    )
    assert schema.role_of("quantity") is Role.EXCLUDED
    assert schema.role_of("flag01") is Role.LABEL
    assert schema.role_of("zip") is Role.ID
    assert schema.role_of("order_id") is Role.CATEGORICAL
    assert "roles=" in next(c.reason for c in schema.columns if c.name == "order_id")
    assert "flag01" not in schema.features and "quantity" not in schema.features


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"exclude": ["nope"]}, "exclude="),
        ({"label": "nope"}, "label="),
        ({"roles": {"nope": "numeric"}}, "roles="),
    ],
)
def test_unknown_names_list_the_columns(kwargs: dict, where: str) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]})
    with pytest.raises(AnomalyzerError) as info:
        infer_schema(df, **kwargs)
    message = str(info.value)
    assert "'nope'" in message and where in message and "a, b" in message


def test_unknown_role() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(AnomalyzerError, match=r"Unknown role .number..*numeric, categorical"):
        infer_schema(df, roles={"a": "number"})


def test_conflicting_settings() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0, 1, 0]})
    with pytest.raises(AnomalyzerError, match="'a' is both in exclude= and given a role"):
        infer_schema(df, exclude=["a"], roles={"a": "numeric"})
    with pytest.raises(AnomalyzerError, match="'b' is the label= column"):
        infer_schema(df, label="b", roles={"b": "numeric"})


def test_no_usable_feature_says_why() -> None:
    df = pd.DataFrame(
        {
            "id": np.arange(30),
            "const": 1,
            "notes": [f"free text number {i} with spaces" for i in range(30)],
            "nothing": np.nan,
        }
    )
    with pytest.raises(AnomalyzerError) as info:
        infer_schema(df)
    message = str(info.value)
    assert message.startswith("No usable feature column")
    for part in ("'id' (unique for every row", "'const' (a single value (1)", "'notes' (free text"):
        assert part in message
    assert "roles=" in message
    assert infer_schema(df, roles={"const": "numeric"}).features == ["const"]


def test_not_a_dataframe_and_no_rows() -> None:
    with pytest.raises(AnomalyzerError, match="Expected a pandas DataFrame"):
        infer_schema([[1, 2]])  # type: ignore[arg-type]
    with pytest.raises(AnomalyzerError, match="no rows"):
        infer_schema(pd.DataFrame({"a": pd.Series([], dtype=float)}))


def test_mixed_timezone_strings_are_dates() -> None:
    df = pd.DataFrame({"t": ["2024-01-01T10:00:00+01:00", "2024-03-01T10:00:00+02:00"] * 5})
    assert infer_schema(df).role_of("t") is Role.DATETIME


def test_numbers_are_not_dates() -> None:
    df = pd.DataFrame({"year": ["2021", "2022", "2023", "1999"], "day": ["12", "3", "7", "30"]})
    schema = infer_schema(df)
    assert schema.role_of("year") is Role.NUMERIC
    assert schema.role_of("day") is Role.NUMERIC


def test_object_column_of_python_values() -> None:
    df = pd.DataFrame(
        {
            "flag": pd.Series([True, None, False, True], dtype=object),
            "mixed": pd.Series([1, "a", 2.0, "b"], dtype=object),
            "lists": pd.Series([[1], [2], [1], [2]], dtype=object),
        }
    )
    schema = infer_schema(df)
    assert schema.role_of("flag") is Role.BOOLEAN
    assert schema.role_of("mixed") is Role.CATEGORICAL
    assert schema.role_of("lists") is Role.CATEGORICAL


def test_schema_methods_and_round_trip() -> None:
    schema = infer_schema(messy())
    assert schema.by_role(Role.DATETIME) == ["created", "created_us", "shipped"]
    assert schema.by_role("text") == ["comment"]
    with pytest.raises(AnomalyzerError, match="Column 'nope' is not in the schema"):
        schema.role_of("nope")
    saved = json.loads(json.dumps(schema.to_dict(), allow_nan=False))
    assert Schema.from_dict(saved) == schema
    with pytest.raises(AnomalyzerError, match="saved schema is not valid"):
        Schema.from_dict({"columns": [{"name": "a"}]})


def test_summary_names_every_dropped_column() -> None:
    schema = infer_schema(messy())
    text = schema.summary()
    assert text.splitlines()[0].startswith(f"{len(EXPECTED)} columns, {len(schema.features)} used")
    for info in schema.dropped():
        assert f"  - {info.name} ({info.role.value}): {info.reason}" in text


def test_column_info_is_frozen() -> None:
    info = ColumnInfo("a", Role.NUMERIC, "float64", "numeric", 0.0)
    with pytest.raises(AttributeError):
        info.role = Role.TEXT  # type: ignore[misc]


def test_input_frame_unchanged() -> None:
    df = messy()
    before = df.copy(deep=True)
    infer_schema(df, roles={"zip": "numeric"})
    pd.testing.assert_frame_equal(df, before)
