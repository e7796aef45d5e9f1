"""The four case studies run top to bottom (on a sample of their data) and print their figures.

Each is a jupytext percent script under ``docs/case_studies/``, run cell by
cell as the documentation build runs it; a cell that raises fails the test.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

import build  # noqa: E402  (docs/build.py)

SHARED = ROOT.parent / "shared" / "data" / "cases"
NUMBER = r"(\d\.\d{3})"


def _run(name: str) -> tuple[str, list[str]]:
    pytest.importorskip("jupytext", reason="the case studies are read with jupytext (docs extra)")
    if build.STUDIES[name] and not SHARED.is_dir():
        pytest.skip(f"{SHARED} is missing: the {name} case study reads its data there")
    cells = build.run_case_study(build.CASE_STUDIES / f"{name}.py", quick=True)
    text = "".join(t for c in cells for kind, t in c.outputs if kind == "text")
    figures = [t for c in cells for kind, t in c.outputs if "plotly-graph-div" in t]
    return text, figures


def test_fraud():
    text, figures = _run("fraud")
    auc, ap = map(float, re.search(rf"Fraud, auto: ROC-AUC {NUMBER}, AP {NUMBER}", text).groups())
    assert auc > 0.9 and ap > 0.5
    assert "precision" in text and "recall" in text
    assert len(figures) >= 2  # the amount's distribution and the PR curves


def test_network_intrusion():
    text, figures = _run("network_intrusion")
    auto = re.search(
        rf"Intrusion, auto: ROC-AUC {NUMBER}, AP {NUMBER}; at the automatic threshold "
        rf"precision {NUMBER}, recall {NUMBER}",
        text,
    )
    best = re.search(
        rf"Intrusion, best single detector \((\w+)\): ROC-AUC {NUMBER}, AP {NUMBER}; "
        rf"at the automatic threshold precision {NUMBER}, recall {NUMBER}",
        text,
    )
    assert auto and best
    assert float(auto.group(1)) > 0.8 and float(best.group(2)) > 0.8
    assert figures


def test_server_metrics():
    text, figures = _run("server_metrics")
    for machine in ("machine-1-4", "machine-2-2"):
        found = re.search(rf"SMD {machine}: VUS-PR {NUMBER}, range-based recall {NUMBER}", text)
        assert found, f"no line for {machine}"
        assert float(found.group(1)) > 0.0
    assert figures


def test_ecg():
    text, figures = _run("ecg")
    lines = re.findall(rf"ECG (\S+), (\w+): VUS-PR {NUMBER}; labelled region: (.+)", text)
    assert len(lines) == 6  # three recordings, two detectors
    found = [where for _, detector, _, where in lines if detector == "auto"]
    # auto puts each labelled region among its three top periods (see benchmarks/ecg.py).
    assert sum(w.startswith("period") for w in found) >= 2, found
    assert figures
