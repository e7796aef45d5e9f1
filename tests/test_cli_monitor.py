"""``anomalyzer monitor`` and ``anomalyzer retrain`` end to end on drifted copies of the example transactions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import anomalyzer as az
from anomalyzer import cli
from anomalyzer.errors import AnomalyzerError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "transactions.csv"
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(cli.app, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The champion (fitted on the example), a clean copy and a drifted copy of the example."""
    tmp = tmp_path_factory.mktemp("drift")
    df = pd.read_csv(EXAMPLE)
    champion = tmp / "champion.azm"
    res = invoke(
        "detect",
        EXAMPLE,
        "--detector",
        "iforest",
        "--contamination",
        "0.02",
        "--label",
        "is_fraud",
        "--top",
        "0",
        "--save",
        champion,
    )
    assert res.exit_code == 0, res.output
    drifted = df.copy()
    # A new normal: amounts half as large again, a new country in a tenth of the rows.
    drifted["amount"] = drifted["amount"] * 1.5
    drifted.loc[drifted.index[::10], "country"] = "XK"
    paths = {"champion": champion, "clean": tmp / "clean.csv", "drifted": tmp / "drifted.csv"}
    df.sample(frac=1.0, random_state=1).to_csv(paths["clean"], index=False)
    drifted.to_csv(paths["drifted"], index=False)
    return paths


def test_monitor_clean_copy_exits_0_and_writes_json_and_page(files, tmp_path):
    out, page = tmp_path / "drift.json", tmp_path / "monitor.html"
    res = invoke("monitor", files["champion"], files["clean"], "--out", out, "--report", page)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("No drift: 5,000 new rows look like the 5,000 training rows")
    d = json.loads(out.read_text())
    assert d["drifted"] is False and d["checks"][0]["subject"] == "anomaly score"
    assert 'id="drift-verdict"' in page.read_text(encoding="utf-8")


def test_monitor_drifted_copy_exits_3_with_the_verdict(files, tmp_path):
    out = tmp_path / "drift.json"
    res = invoke("monitor", files["champion"], files["drifted"], "--out", out, "--no-multivariate")
    assert res.exit_code == 3, res.output
    assert "amount" in res.stdout and "median 47.4 -> 71.1" in res.stdout
    assert "country changed: new level 'XK' (10.0%)" in res.stdout
    assert "flag rate 2.0% -> " in res.stdout
    d = json.loads(out.read_text())
    assert d["drifted"] and set(d["drifted_columns"][:2]) == {"amount", "country"}
    assert all(c["subject"] != "all columns" for c in d["checks"])


def test_monitor_refuses_to_write_over_an_input(files):
    res = invoke("monitor", files["champion"], files["clean"], "--report", files["clean"])
    assert isinstance(res.exception, AnomalyzerError)
    res = invoke("monitor", files["champion"], files["clean"], "--out", files["champion"])
    assert isinstance(res.exception, AnomalyzerError) and ".json" in str(res.exception)


def test_retrain_promotes_a_challenger_on_the_drifted_copy(files, tmp_path):
    challenger, decision, promoted = tmp_path / "ch.azm", tmp_path / "d.json", tmp_path / "p.azm"
    res = invoke(
        "retrain",
        files["champion"],
        files["drifted"],
        "--out",
        challenger,
        "--decision",
        decision,
        "--promote-to",
        promoted,
    )
    assert res.exit_code == 0, res.output
    assert "Challenger fitted on 4,000 rows; compared on the latest 1,000" in res.stdout
    assert "Promote: the challenger meets the rule." in res.stdout
    d = json.loads(decision.read_text())
    assert d["promote"] is True and d["reasons"] == []
    assert d["agreement"]["rank_correlation"] > 0.3
    assert promoted.read_bytes() == challenger.read_bytes()
    new = az.load(promoted)
    # The promoted model has learned the new normal: the drifted copy is no drift for it.
    assert not new.monitor(pd.read_csv(files["drifted"]).iloc[-1000:]).check("amount").drifted


def test_retrain_refuses_a_challenger_fitted_on_too_few_rows(files, tmp_path):
    promoted = tmp_path / "p.azm"
    res = invoke(
        "retrain",
        files["champion"],
        files["drifted"],
        "--window",
        400,
        "--out",
        tmp_path / "ch.azm",
        "--promote-to",
        promoted,
    )
    assert res.exit_code == 4, res.output
    assert "Keep the champion: the challenger was fitted on 320 rows, fewer than the 500" in (
        res.stdout.replace("\n", " ")
    )
    assert "Not promoted" in res.stdout and not promoted.exists()
    assert (tmp_path / "ch.azm").exists()  # the challenger is kept for a look
    # The rule can be overridden.
    res = invoke(
        "retrain",
        files["champion"],
        files["drifted"],
        "--window",
        400,
        "--out",
        tmp_path / "ch2.azm",
        "--promote-to",
        promoted,
        "--force",
    )
    assert res.exit_code == 0 and "Promote (forced)" in res.stdout and promoted.exists()


def test_retrain_refuses_when_the_champion_has_not_drifted(files, tmp_path):
    res = invoke(
        "retrain",
        files["champion"],
        files["clean"],
        "--out",
        tmp_path / "ch.azm",
        "--promote-to",
        tmp_path / "p.azm",
        "--decision",
        tmp_path / "d.json",
    )
    assert res.exit_code == 4, res.output
    d = json.loads((tmp_path / "d.json").read_text())
    assert d["promote"] is False
    assert any("shows no drift" in r for r in d["reasons"])


def test_retrain_mistakes_are_one_sentence(files, tmp_path):
    res = invoke(
        "retrain",
        files["champion"],
        files["drifted"],
        "--holdout",
        1.5,
        "--out",
        tmp_path / "ch.azm",
    )
    assert isinstance(res.exception, AnomalyzerError) and "holdout" in str(res.exception)
    res = invoke("retrain", files["champion"], files["drifted"], "--out", files["champion"])
    assert isinstance(res.exception, AnomalyzerError) and "input" in str(res.exception)


def test_reference_plus_recent(files, tmp_path):
    from anomalyzer.monitor.retrain import retrain

    champion = az.load(files["champion"])
    recent = pd.read_csv(files["drifted"]).iloc[-600:]
    result = retrain(champion, recent, reference=pd.read_csv(EXAMPLE).iloc[:2000])
    assert result.agreement["n_fit"] == 2000 + 480 and result.agreement["n_holdout"] == 120
    assert np.isfinite(result.agreement["rank_correlation"])


def test_retrain_orders_rows_by_a_time_column(files, tmp_path):
    # The file shuffled: --time puts the rows back in time order before the window is cut.
    shuffled = tmp_path / "shuffled.csv"
    df = pd.read_csv(files["drifted"])
    df.sample(frac=1.0, random_state=3).to_csv(shuffled, index=False)
    res = invoke(
        "retrain",
        files["champion"],
        shuffled,
        "--time",
        "timestamp",
        "--window",
        1000,
        "--no-require-drift",
        "--min-rows",
        100,
        "--decision",
        tmp_path / "d.json",
        "--out",
        tmp_path / "ch.azm",
    )
    assert res.exit_code == 0, res.output
    from anomalyzer.monitor.retrain import _in_time_order

    latest = _in_time_order(df, "timestamp").iloc[-1000:]
    assert set(latest["transaction_id"]) == set(
        df.sort_values("timestamp", kind="stable").iloc[-1000:]["transaction_id"]
    )
    res = invoke(
        "retrain", files["champion"], shuffled, "--time", "nope", "--out", tmp_path / "x.azm"
    )
    assert isinstance(res.exception, AnomalyzerError) and "'nope' not found" in str(res.exception)


def test_exit_codes_through_the_entry_point(files, tmp_path):
    from cli_inprocess import run_cli

    res = run_cli("monitor", str(files["champion"]), str(files["drifted"]), "--no-multivariate")
    assert res.returncode == 3 and "amount drifted upward" in res.stdout
    res = run_cli(
        "monitor", str(files["champion"]), str(files["clean"]), "--out", str(files["champion"])
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "use a .json file name for --out" in res.stderr
    res = run_cli(
        "retrain",
        str(files["champion"]),
        str(files["drifted"]),
        "--window",
        "400",
        "--out",
        str(tmp_path / "c.azm"),
        "--promote-to",
        str(tmp_path / "p.azm"),
    )
    assert res.returncode == 4 and not (tmp_path / "p.azm").exists()
