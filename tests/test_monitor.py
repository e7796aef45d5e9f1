"""Drift monitoring as a library: sketches kept in the model file, batch checks, the rule, words, streams."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

import anomalyzer as az
from anomalyzer.data.sketches import cdf, numeric_sketch, quantile
from anomalyzer.errors import AnomalyzerError
from anomalyzer.monitor import DriftRules, monitor
from anomalyzer.monitor.checks import ALL_COLUMNS, FLAG_RATE, SCORES
from anomalyzer.monitor.stream import StreamDrift
from anomalyzer.monitor.univariate import level_test, numeric_test, proportion_test

needs_river = pytest.mark.skipif(
    importlib.util.find_spec("river") is None,
    reason="streaming drift needs river: pip install 'anomalyzer[monitor]'",
)


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    df["amount"] = rng.lognormal(3.8, 0.5, n)
    df["country"] = rng.choice(["DE", "FR", "NL", "BE"], n, p=[0.55, 0.2, 0.15, 0.1])
    df["note"] = np.where(rng.random(n) < 0.1, None, rng.choice(["a", "b"], n))
    return df


@pytest.fixture(scope="module")
def model() -> az.Model:
    return az.Model("iforest", contamination=0.02).fit(_table(4000, 0))


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return _table(1000, 1)


def test_sketch_survives_the_model_file(model, clean, tmp_path):
    again = az.load(model.save(tmp_path / "m.azm"))
    assert again.sketch_ == json.loads(json.dumps(model.sketch_))
    assert set(again.sketch_["columns"]) == {
        *(f"x{i}" for i in range(6)),
        "amount",
        "country",
        "note",
    }
    a, b = model.monitor(clean), again.monitor(clean)
    assert [c.p_value for c in a.checks] == pytest.approx([c.p_value for c in b.checks])


def test_model_without_sketch_is_refused(model, clean):
    bare = az.Model("iforest").fit(_table(300, 0))
    del bare.sketch_
    with pytest.raises(AnomalyzerError, match="no training sketches"):
        bare.monitor(clean)


def test_sketch_cdf_and_quantiles_match_the_data():
    x = np.random.default_rng(0).gamma(2.0, size=20_000)
    s = numeric_sketch(x)
    grid = np.quantile(x, [0.1, 0.5, 0.9])
    assert cdf(s, grid) == pytest.approx([0.1, 0.5, 0.9], abs=0.006)
    assert quantile(s, np.array([0.5]))[0] == pytest.approx(np.median(x), rel=0.01)
    counts = numeric_sketch(np.array([0, 1, 1, 2, 2, 2, np.nan]))
    assert counts["values"] == [0.0, 1.0, 2.0] and counts["missing"] == 1
    assert cdf(counts, np.array([1.0]))[0] == pytest.approx(0.5)
    assert cdf(counts, np.array([1.0]), left=True)[0] == pytest.approx(1 / 6)


def test_clean_batch_is_not_drift(model, clean):
    report = model.monitor(clean)
    assert not report.drifted and report.exit_code == 0
    assert report.verdict.startswith("No drift: 1,000 new rows look like the 4,000 training rows")
    # Scores and flag rate come first, then the columns, then all columns at once.
    assert [c.subject for c in report.checks[:2]] == [SCORES, FLAG_RATE]
    assert report.checks[-1].subject == ALL_COLUMNS


def test_shifted_column_is_named_with_direction_and_sizes(model, clean):
    moved = clean.assign(x3=clean.x3 + 0.5)
    report = model.monitor(moved)
    assert report.drifted and report.exit_code == 3
    assert report.drifted_columns[0] == "x3"
    check = report.check("x3")
    assert check.drifted and 0.12 < check.effect < 0.3  # KS of a half-SD shift is about 0.2
    assert check.details["wasserstein"] == pytest.approx(0.5, abs=0.15)
    assert "x3 drifted upward: median" in report.verdict
    assert "Wasserstein 0.5" in report.verdict or "Wasserstein 0.4" in report.verdict


def test_new_level_missing_share_and_flag_rate(model, clean):
    df = clean.copy()
    df.loc[df.index[::8], "country"] = "XK"
    df.loc[df.index[::3], "note"] = None
    df.loc[df.index[:100], "x0"] = 9.0  # anomalies: the flag rate goes up
    report = model.monitor(df)
    assert report.check("country").drifted
    assert report.check("country").details["new_levels"][0][0] == "XK"
    assert "new level 'XK' (12.5%)" in report.verdict
    assert report.check("note", "missing share").drifted
    flag = report.check(FLAG_RATE, "rate")
    assert flag.drifted and flag.details["rate_new"] > 0.05
    assert "flag rate 2.0% -> " in report.verdict


def test_eight_rows_never_alarm(model, clean):
    tiny = clean.iloc[:8].assign(x3=50.0)
    report = model.monitor(tiny)
    assert not report.drifted
    assert report.verdict.startswith("Too few rows to judge drift: 8 new rows")


def test_large_batch_ignores_trivial_differences():
    # 200,000 rows shifted by 0.04 SD: significant by any test, below every floor.
    rng = np.random.default_rng(0)
    sketch = numeric_sketch(rng.normal(size=200_000))
    r = numeric_test(sketch, rng.normal(0.04, 1.0, size=200_000))
    assert r["p_value"] < 1e-6 and r["ks"] < DriftRules().ks


def test_vanished_level_and_chi_squared():
    from anomalyzer.data.sketches import level_sketch

    s = level_sketch(pd.Series(["a"] * 500 + ["b"] * 300 + ["c"] * 200))
    same = level_test(s, {"a": 260, "b": 140, "c": 100})
    gone = level_test(s, {"a": 300, "b": 200})
    assert same["p_value"] > 0.01 and gone["p_value"] < 1e-10
    assert gone["vanished_levels"][0][0] == "c" and gone["tvd"] == pytest.approx(0.2)


def test_proportion_test_uses_exact_test_for_small_counts():
    assert proportion_test(0, 1000, 0, 50)["p_value"] == 1.0
    assert proportion_test(1, 1000, 5, 50)["p_value"] < 1e-3


def test_rules_are_checked_and_change_the_outcome(model, clean):
    with pytest.raises(AnomalyzerError, match="alpha"):
        DriftRules(alpha=2.0)
    moved = clean.assign(x3=clean.x3 + 0.5)
    strict = monitor(model, moved, rules=DriftRules(ks=0.5, auc=0.99, multivariate=False))
    assert "x3" not in strict.drifted_columns
    assert strict.check(ALL_COLUMNS, "rows") is None


def test_report_dict_is_json(model, clean):
    d = model.monitor(clean.assign(amount=clean.amount * 2)).to_dict()
    text = json.dumps(d)
    assert d["drifted"] and d["drifted_columns"][0] == "amount"
    assert '"p_adjusted"' in text and '"wasserstein"' in text


def test_multivariate_check_finds_a_broken_correlation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=3000)
    train = pd.DataFrame({"a": a, "b": a + 0.1 * rng.normal(size=3000)})
    model = az.Model("mad").fit(train)
    a2 = rng.normal(size=1000)
    # Same marginals, the link between the columns is gone.
    new = pd.DataFrame({"a": a2, "b": rng.permutation(a2) + 0.1 * rng.normal(size=1000)})
    report = model.monitor(new)
    domain = report.check(ALL_COLUMNS, "rows")
    assert domain.drifted and domain.effect > 0.8
    assert not report.check("a").drifted


@needs_river
def test_stream_quiet_on_clean_points_and_fires_on_a_shift(model):
    rng = np.random.default_rng(0)
    x = _table(6000, 5)
    scores = model.score(x)
    watch = StreamDrift.for_model(model)
    assert watch.update_many(scores[:3000], scores[:3000] > model.threshold_) == []
    st = watch.stats()
    assert st["points"] == 3000 and st["adwin_scores"]["width"] > 0
    assert st["page_hinkley"]["statistic"] < st["page_hinkley"]["threshold"]
    moved = x.iloc[3000:].assign(x0=lambda d: d.x0 + rng.normal(3, 0.1, len(d)))
    s2 = model.score(moved)
    events = watch.update_many(s2, s2 > model.threshold_)
    assert events and events[0].index >= 3000 and events[0].index < 3300
    assert {e.detector for e in events} >= {"page_hinkley"}
    assert watch.stats()["page_hinkley"]["detections"] >= 1


@needs_river
def test_stream_warmup_and_mistakes():
    watch = StreamDrift(warmup=100)
    assert watch.update_many(np.zeros(50)) == [] and watch.reference is None
    watch.update_many(np.random.default_rng(0).normal(size=100))
    assert watch.reference is not None and watch.points == 150
    with pytest.raises(AnomalyzerError, match="one flag per score"):
        watch.update_many([1.0, 2.0], [True])
    with pytest.raises(AnomalyzerError, match="warmup"):
        StreamDrift(warmup=5)


@needs_river
def test_stream_statistics_for_a_metrics_page():
    rng = np.random.default_rng(1)
    watch = StreamDrift(warmup=200)
    watch.update_many(rng.normal(size=3000), rng.random(3000) < 0.05)
    stats = watch.stats()
    assert stats["adwin_flags"]["mean"] == pytest.approx(0.05, abs=0.015)
    assert stats["adwin_scores"]["variance"] == pytest.approx(1.0, abs=0.3)
    text = watch.to_prometheus()
    assert text.count("# TYPE anomalyzer_drift_mean gauge") == 1
    assert 'anomalyzer_drift_width{detector="adwin_flags"} 2800' in text
    assert "anomalyzer_drift_points 3000" in text
