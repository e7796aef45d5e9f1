"""``anomalyzer explore`` in-process: the summary, the column table, the page, the mistakes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anomalyzer.cli import app, main

ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "examples" / "server_metrics.csv"
TRANSACTIONS = ROOT / "examples" / "transactions.csv"
runner = CliRunner()


def test_explore_prints_and_writes_the_page(tmp_path):
    page = tmp_path / "explore.html"
    res = runner.invoke(app, ["explore", str(METRICS), "--report", str(page)])
    assert res.exit_code == 0, res.output
    assert "20,160 rows, 5 columns" in res.output
    assert "step 5 min" in res.output and "288 points (1 day)" in res.output
    assert "cpu" in res.output and "> 3 MAD" in res.output
    html = page.read_text(encoding="utf-8")
    assert "Exploration of" in html and 'id="columns-table"' in html
    assert f"Wrote the exploration page {page}" in res.output


def test_explore_with_a_label(tmp_path):
    res = runner.invoke(app, ["explore", str(TRANSACTIONS), "--label", "is_fraud"])
    assert res.exit_code == 0, res.output
    assert "1 label" in res.output and "amount" in res.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["--time", "when"], "Column 'when' given as time= is not in the table"),
        (["--report", "page.txt"], "use a .html or .htm file name for --report"),
    ],
)
def test_mistakes_are_one_sentence_exit_2(args, words, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["anomalyzer", "explore", str(METRICS), *args])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert words in captured.err
    assert "Traceback" not in captured.err + captured.out
