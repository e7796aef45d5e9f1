"""``anomalyzer retrain --push --promote`` against a real registry (an SQLite file): the alias moves only when the rule holds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_cli

import anomalyzer as az
from anomalyzer.registry import Registry

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "transactions.csv"


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("retrain_registry")
    df = pd.read_csv(EXAMPLE)
    champion = tmp / "champion.azm"
    az.Model("iforest", contamination=0.02).fit(df, label="is_fraud").save(champion)
    drifted = df.copy()
    drifted["amount"] = drifted["amount"] * 1.5
    drifted.loc[drifted.index[::10], "country"] = "XK"
    drifted.to_csv(tmp / "drifted.csv", index=False)
    url = str(tmp / "registry.db")
    with Registry(url) as reg:
        reg.promote("tx", reg.push(champion, "tx").version, "production")
    return {"champion": champion, "drifted": tmp / "drifted.csv", "registry": Path(url), "tmp": tmp}


def test_push_without_promote_adds_a_version_only(setup):
    s = setup
    res = run_cli(
        "retrain",
        str(s["champion"]),
        str(s["drifted"]),
        "--out",
        str(s["tmp"] / "a.azm"),
        "--push",
        "tx",
        "--registry",
        str(s["registry"]),
    )
    assert res.returncode == 0, res.stderr
    assert "Pushed tx version 2" in res.stdout and "now points" not in res.stdout
    with Registry(str(s["registry"])) as reg:
        assert reg.resolve("tx", alias="production").version == 1
        assert reg.resolve("tx", "latest").description.startswith("Promote:")


def test_promote_moves_the_alias_when_the_rule_holds_and_not_otherwise(setup):
    s = setup
    res = run_cli(
        "retrain",
        str(s["champion"]),
        str(s["drifted"]),
        "--out",
        str(s["tmp"] / "b.azm"),
        "--push",
        "tx",
        "--registry",
        str(s["registry"]),
        "--promote",
        "--holdout",
        "0.25",
    )
    assert res.returncode == 0, res.stderr
    assert "production now points at it" in res.stdout
    with Registry(str(s["registry"])) as reg:
        promoted = reg.resolve("tx", alias="production").version
        assert promoted == reg.resolve("tx", "latest").version > 1
    res = run_cli(
        "retrain",
        str(s["champion"]),
        str(s["drifted"]),
        "--window",
        "400",
        "--out",
        str(s["tmp"] / "c.azm"),
        "--push",
        "tx",
        "--registry",
        str(s["registry"]),
        "--promote",
    )
    assert res.returncode == 4
    assert "fewer than the 500 the rule asks" in res.stdout.replace("\n", " ")
    with Registry(str(s["registry"])) as reg:
        assert reg.resolve("tx", alias="production").version == promoted
        refused = reg.resolve("tx", "latest")
        assert refused.version == promoted + 1 and refused.metrics["target_rate"] == 0.02
    res = run_cli(
        "retrain",
        str(s["champion"]),
        str(s["drifted"]),
        "--promote",
        "--out",
        str(s["tmp"] / "d.azm"),
    )
    assert res.returncode == 2 and "add --push NAME" in res.stderr
