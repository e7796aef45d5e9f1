"""The evaluation metrics equal scikit-learn's, ties and extreme imbalance included."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate import EvaluationReport, evaluate
from anomalyzer.evaluate.metrics import pr_curve_points, roc_curve_points, threshold_metrics

# Sums of many float terms may differ from sklearn's in the last bits only.
close = {"rel": 1e-12, "abs": 1e-12}


@st.composite
def labelled_scores(draw, min_size: int = 2, max_size: int = 300):
    """Labels with both classes, scores that are either heavily tied or continuous, and flags."""
    n = draw(st.integers(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rate = draw(st.floats(0.01, 0.99))
    y = (rng.random(n) < rate).astype(np.int64)
    # Both classes, at random positions.
    y[rng.choice(n, 2, replace=False)] = [0, 1]
    kind = draw(st.sampled_from(["ties", "tiny-range", "continuous", "informative"]))
    if kind == "ties":
        scores = rng.integers(0, 3, n).astype(float)
    elif kind == "tiny-range":
        scores = rng.integers(-5, 6, n).astype(float) + y * rng.integers(0, 3, n)
    elif kind == "continuous":
        scores = rng.normal(size=n)
    else:
        scores = rng.normal(size=n) + 2.0 * y
    flags = rng.random(n) < draw(st.floats(0.0, 1.0))
    return y, scores, flags


@st.composite
def single_positive(draw):
    """One anomaly among thousands of normal rows, scored from a tiny integer range."""
    n = draw(st.integers(1000, 5000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = np.zeros(n, dtype=np.int64)
    y[draw(st.integers(0, n - 1))] = 1
    scores = rng.integers(0, draw(st.integers(1, 8)), n).astype(float)
    flags = scores >= np.quantile(scores, 0.9)
    return y, scores, flags


def assert_matches_sklearn(y, scores, flags):
    report = evaluate(y, scores, flags)
    assert report.roc_auc == pytest.approx(skm.roc_auc_score(y, scores), **close)
    assert report.average_precision == pytest.approx(
        skm.average_precision_score(y, scores), **close
    )
    assert report.precision == pytest.approx(skm.precision_score(y, flags, zero_division=0))
    assert report.recall == pytest.approx(skm.recall_score(y, flags))
    assert report.f1 == pytest.approx(skm.f1_score(y, flags, zero_division=0))
    tn, fp, fn, tp = skm.confusion_matrix(y, flags, labels=[0, 1]).ravel()
    assert (report.tn, report.fp, report.fn, report.tp) == (tn, fp, fn, tp)
    assert report.n_flagged == int(flags.sum())


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_matches_sklearn(case):
    assert_matches_sklearn(*case)


@settings(max_examples=30, deadline=None)
@given(single_positive())
def test_matches_sklearn_with_a_single_positive(case):
    assert_matches_sklearn(*case)


def brute_force(y: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Counts when flagging at or above each distinct score, highest first, by direct comparison."""
    thresholds = np.unique(scores)[::-1]
    flagged = scores[:, None] >= thresholds[None, :]
    tp = (flagged & (y[:, None] == 1)).sum(axis=0)
    n_flagged = flagged.sum(axis=0)
    return {
        "threshold": thresholds,
        "n_flagged": n_flagged,
        "precision": tp / n_flagged,
        "recall": tp / y.sum(),
        "f1": 2 * tp / (n_flagged + y.sum()),
    }


@settings(max_examples=100, deadline=None)
@given(labelled_scores(max_size=120))
def test_best_f1_is_the_best_over_all_thresholds(case):
    y, scores, _ = case
    report = evaluate(y, scores)
    expected = brute_force(y, scores)
    best = int(np.argmax(expected["f1"]))
    assert report.best_f1 == pytest.approx(expected["f1"][best])
    assert report.best_f1_threshold == expected["threshold"][best]
    assert report.best_f1 == pytest.approx(skm.f1_score(y, scores >= report.best_f1_threshold))


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_precision_at_k(case):
    y, scores, _ = case
    k = int(y.sum())
    # Rows above the k-th score count fully; a tie across rank k shares the places left.
    kth = np.sort(scores)[::-1][k - 1]
    above = scores > kth
    tied = scores == kth
    expected = (y[above].sum() + (k - above.sum()) * y[tied].mean()) / k
    report = evaluate(y, scores)
    assert report.k == k
    assert report.precision_at_k == pytest.approx(expected)


def test_precision_at_k_without_ties_is_top_k():
    y = np.array([1, 0, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.1, 0.3, 0.2, 0.7, 0.0])
    assert evaluate(y, scores).precision_at_k == pytest.approx(2 / 3)


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_curves_match_sklearn(case):
    y, scores, _ = case
    for ours, theirs in zip(roc_curve_points(y, scores), skm.roc_curve(y, scores), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for ours, theirs in zip(
        pr_curve_points(y, scores), skm.precision_recall_curve(y, scores), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_threshold_metrics_flag_at_or_above_each_score(case):
    y, scores, _ = case
    table = threshold_metrics(y, scores)
    expected = brute_force(y, scores)
    assert list(table.columns) == list(expected)
    for column, values in expected.items():
        np.testing.assert_allclose(table[column].to_numpy(), values, rtol=1e-12)
    # One threshold checked against sklearn's own definitions.
    flags = scores >= table["threshold"].iloc[len(table) // 2]
    row = table.iloc[len(table) // 2]
    assert row["precision"] == pytest.approx(skm.precision_score(y, flags))
    assert row["recall"] == pytest.approx(skm.recall_score(y, flags))
    assert row["f1"] == pytest.approx(skm.f1_score(y, flags))


def test_infinite_scores_rank_like_large_ones():
    y = np.array([0, 1, 0, 1, 0, 1])
    scores = np.array([0.0, np.inf, 1.0, np.inf, 2.0, -np.inf])
    finite = np.array([0.0, 1e9, 1.0, 1e9, 2.0, -1e9])
    ours, ref = evaluate(y, scores), evaluate(y, finite)
    assert ours.roc_auc == ref.roc_auc == skm.roc_auc_score(y, finite)
    assert ours.average_precision == ref.average_precision
    # The two infinite scores are one tie, and flagging just that tie is best.
    assert ours.best_f1_threshold == np.inf
    assert ours.best_f1 == pytest.approx(0.8)


@pytest.mark.parametrize(
    "labels, positive",
    [
        ([0, 1, 0, 1], None),
        ([False, True, False, True], None),
        (np.array([False, True, False, True]), None),
        (["ok", "fraud", "ok", "fraud"], None),
        (["a", "b", "a", "b"], "b"),
        (pd.Series(["n", "y", "n", "y"], name="is_fraud"), "y"),
        ([0.0, 1.0, 0.0, 1.0], None),
    ],
)
def test_label_forms(labels, positive):
    report = evaluate(labels, [0.1, 0.9, 0.2, 0.8], positive=positive)
    assert report.n_anomalies == 2
    assert report.roc_auc == 1.0


@pytest.mark.parametrize(
    "labels, positive",
    [
        ([0, 0, 0], None),
        ([1, 1, 1], None),
        ([True, True, True], None),
        (["ok", "ok", "ok"], None),
        (["fraud", "fraud", "fraud"], None),
        (["fraud", "fraud", "fraud"], "fraud"),
    ],
)
def test_one_class_labels_are_a_clear_error(labels, positive):
    with pytest.raises(AnomalyzerError, match="needs both normal and anomalous rows"):
        evaluate(labels, [0.1, 0.2, 0.3], positive=positive)


@pytest.mark.parametrize(
    "labels, scores, flags, words",
    [
        ([0, 1, 0], [0.1, 0.2], None, "2 score"),
        ([0, 1, 0], [0.1, np.nan, 0.3], None, "NaN"),
        ([0, 1, 0], ["a", "b", "c"], None, "must be numbers"),
        ([0, 1, 0], [[0.1, 0.2, 0.3]], None, "one number per row"),
        ([0, 1, 0], [0.1, 0.2, 0.3], [1, 0], "2 flag"),
        ([0, 1, 0], [0.1, 0.2, 0.3], [0, 2, 1], "booleans or 0/1"),
        ([0, 1, 2], [0.1, 0.2, 0.3], None, "two values"),
        ([0, None, 1], [0.1, 0.2, 0.3], None, "missing"),
        ([], [], None, "empty"),
        (["a", "b", "a"], [0.1, 0.2, 0.3], None, "positive="),
    ],
)
def test_bad_inputs_are_clear_errors(labels, scores, flags, words):
    with pytest.raises(AnomalyzerError, match=words):
        evaluate(labels, scores, flags)


def test_report_without_flags():
    report = evaluate([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.3])
    assert not report.has_flags
    assert report.f1 is None and report.tp is None
    assert "confusion" not in str(report)


def test_report_is_frozen_and_serialisable():
    report = evaluate([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.3], flags=[0, 1, 0, 0])
    assert isinstance(report, EvaluationReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.roc_auc = 0.0  # type: ignore[misc]
    data = report.to_dict()
    assert data["tp"] == 1 and data["fn"] == 1 and data["n_flagged"] == 1
    assert all(isinstance(v, int | float) for v in data.values())
    text = str(report)
    for words in ("ROC-AUC", "average precision", "best F1", "precision@2", "tp 1"):
        assert words in text


def test_no_flags_raised_gives_zero_precision():
    report = evaluate([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.3], flags=[False] * 4)
    assert report.n_flagged == 0
    assert report.precision == 0.0 and report.f1 == 0.0 and report.recall == 0.0


def test_inputs_are_not_modified():
    y = np.array([0, 1, 0, 1])
    scores = np.array([0.3, 0.9, 0.1, 0.5])
    evaluate(y, scores, flags=scores > 0.4)
    assert y.tolist() == [0, 1, 0, 1]
    assert scores.tolist() == [0.3, 0.9, 0.1, 0.5]
