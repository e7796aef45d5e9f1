"""The cross-half protocol of ``benchmarks/adbench.py``: fixed halves, choices judged on the other."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "adbench.py"


@pytest.fixture(scope="module")
def adbench():
    spec = importlib.util.spec_from_file_location("adbench_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ADBENCH_FILES = """1_ALOI 4_breastw 6_cardio 10_cover 11_donors 14_glass 15_Hepatitis 16_http
17_InternetAds 19_landsat 20_letter 21_Lymphography 23_mammography 24_mnist 26_optdigits
28_pendigits 29_Pima 30_satellite 32_shuttle 33_skin 35_SpamBase 37_Stamps 38_thyroid
39_vertebral 41_Waveform 42_WBC 43_WDBC 45_wine 46_WPBC""".split()


def test_halves_are_fixed_by_file_name(adbench):
    halves = {name: adbench.half_of(f"/any/folder/{name}.npz") for name in ADBENCH_FILES}
    assert sum(h == "A" for h in halves.values()) == 14
    assert sum(h == "B" for h in halves.values()) == 15
    assert halves["10_cover"] == "A" and halves["11_donors"] == "B"
    # The folder does not matter, only the file name.
    assert adbench.half_of("11_donors.npz") == "B"


def test_names_with_parameters(adbench):
    names = adbench._split("iforest, auto[members=['ecod','hbos'];random_state=3],pyod:knn")
    assert names == ["iforest", "auto[members=['ecod','hbos'];random_state=3]", "pyod:knn"]
    assert adbench.parse_variant(names[1]) == (
        "auto",
        {"members": ["ecod", "hbos"], "random_state": 3},
    )


def test_choice_is_reported_on_the_other_half(adbench):
    # x wins on A, y on B: each half's choice is measured where it was not chosen.
    df = pd.DataFrame(
        {
            "dataset": ["a1", "a1", "a2", "a2", "b1", "b1"],
            "n_rows": 10,
            "n_features": 2,
            "detector": ["x", "y"] * 3,
            "roc_auc": [0.9, 0.7, 0.8, 0.6, 0.5, 0.95],
            "ap": [0.5, 0.4, 0.3, 0.2, 0.1, 0.6],
            "seconds": 1.0,
            "peak_mib": 100.0,
            "status": "ok",
            "half": ["A", "A", "A", "A", "B", "B"],
        }
    )
    table = adbench.cross_half(df, [["x", "y"]]).set_index("chosen_on")
    assert table.loc["A", "chosen"] == "x"
    assert table.loc["A", "roc_auc_other_half"] == pytest.approx(0.5)
    assert table.loc["A", "best_on_other_half"] == "y"
    assert table.loc["B", "chosen"] == "y"
    assert table.loc["B", "roc_auc_other_half"] == pytest.approx(0.65)
    text, md, summary = adbench.split_report(df, [["x", "y"]])
    assert "Half A (2 sets): a1, a2" in text and "## Chosen on one half" in md
    assert summary.set_index("detector").loc["y", "mean_roc_auc_B"] == pytest.approx(0.95)
