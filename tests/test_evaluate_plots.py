"""Evaluation figures: the expected traces, metrics in legends, and small figures of big data."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn import metrics as skm

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate import (
    evaluate,
    plot_confusion,
    plot_pr,
    plot_roc,
    plot_score_histogram,
    plot_threshold_metrics,
)
from anomalyzer.evaluate.plots import MAX_CURVE_POINTS, _thin


def labelled(n: int, seed: int = 0, rate: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int64)
    return y, rng.normal(size=n) + 1.5 * y


@pytest.fixture(scope="module")
def small():
    return labelled(2_000)


@pytest.fixture(scope="module")
def million():
    return labelled(1_000_000, seed=1)


def test_roc_has_one_curve_per_detector_and_auc_in_legend(small):
    y, s = small
    fig = plot_roc({"good": (y, s), "reversed": (y, -s)})
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names[-1] == "chance"
    assert names[0] == f"good (AUC {skm.roc_auc_score(y, s):.3f})"
    assert names[1] == f"reversed (AUC {skm.roc_auc_score(y, -s):.3f})"
    x, yy = np.asarray(fig.data[0].x), np.asarray(fig.data[0].y)
    assert (x[0], yy[0], x[-1], yy[-1]) == (0.0, 0.0, 1.0, 1.0)


def test_pr_has_ap_in_legend_and_the_chance_line(small):
    y, s = small
    fig = plot_pr({"good": (y, s), "noise": (y, np.zeros_like(s))})
    names = [t.name for t in fig.data]
    assert names[0] == f"good (AP {skm.average_precision_score(y, s):.3f})"
    assert names[1] == f"noise (AP {skm.average_precision_score(y, np.zeros_like(s)):.3f})"
    assert names[2].startswith("chance (anomaly rate")
    assert fig.data[2].y[0] == pytest.approx(y.mean())


def test_pr_without_a_shared_rate_has_no_chance_line():
    fig = plot_pr({"a": ([0, 1, 0, 1], [1, 2, 3, 4]), "b": ([0, 0, 0, 1], [1, 2, 3, 4])})
    assert [t.name.split(" ")[0] for t in fig.data] == ["a", "b"]


def test_histogram_splits_by_label_and_marks_the_threshold(small):
    y, s = small
    fig = plot_score_histogram(s, y, threshold=1.0)
    assert [t.name for t in fig.data] == [
        f"normal ({int((y == 0).sum()):,} rows)",
        f"anomaly ({int(y.sum()):,} rows)",
    ]
    assert all(isinstance(t, go.Bar) for t in fig.data)
    # Shares of each class add up to one.
    for trace in fig.data:
        assert np.sum(trace.y) == pytest.approx(1.0)
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].x0 == 1.0


def test_histogram_without_labels_and_with_infinite_scores():
    scores = np.r_[np.arange(10.0), np.inf, -np.inf]
    fig = plot_score_histogram(scores, bins=5)
    assert [t.name for t in fig.data] == ["all rows (12 rows)"]
    assert np.asarray(fig.data[0].customdata).sum() == 12
    assert len(fig.layout.shapes) == 0


def test_histogram_of_constant_scores():
    fig = plot_score_histogram(np.ones(50), np.r_[np.zeros(49), 1])
    assert sum(np.asarray(t.customdata).sum() for t in fig.data) == 50


def test_threshold_metrics_has_precision_recall_f1(small):
    y, s = small
    fig = plot_threshold_metrics(y, s, threshold=0.5)
    assert [t.name for t in fig.data] == ["precision", "recall", "F1"]
    assert len(fig.layout.shapes) == 1
    assert all(np.nanmax(t.y) <= 1.0 for t in fig.data)


def test_confusion_heatmap_holds_the_counts():
    y = np.array([0, 0, 0, 1, 1])
    report = evaluate(y, [0.1, 0.2, 0.9, 0.8, 0.3], flags=[0, 0, 1, 1, 0])
    fig = plot_confusion(report)
    (heat,) = fig.data
    assert isinstance(heat, go.Heatmap)
    assert np.asarray(heat.customdata).tolist() == [[2, 1], [1, 1]]
    np.testing.assert_allclose(heat.z, [[2 / 3, 1 / 3], [0.5, 0.5]])


def test_confusion_needs_flags():
    with pytest.raises(AnomalyzerError, match="flags="):
        plot_confusion(evaluate([0, 1], [0.1, 0.9]))


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: plot_roc({}), "non-empty mapping"),
        (lambda: plot_pr([([0, 1], [0.1, 0.2])]), "mapping"),
        (lambda: plot_roc({"a": ([0, 0], [0.1, 0.2])}), "needs both normal and anomalous"),
        (lambda: plot_score_histogram([0.1, np.nan]), "NaN"),
        (lambda: plot_score_histogram([0.1, 0.2], bins=0), "bins"),
        (lambda: plot_threshold_metrics([0, 1], [0.1]), "score"),
    ],
)
def test_bad_inputs_are_clear_errors(call, words):
    with pytest.raises(AnomalyzerError, match=words):
        call()


def test_a_million_rows_make_small_figures(million):
    y, s = million
    curves = {"a": (y, s), "b": (y, s + np.random.default_rng(2).normal(size=len(s)))}
    figures = [
        plot_roc(curves),
        plot_pr(curves),
        plot_score_histogram(s, y, threshold=2.0),
        plot_threshold_metrics(y, s, threshold=2.0),
        plot_confusion(evaluate(y, s, flags=s > 2.0)),
    ]
    for fig in figures:
        assert isinstance(fig, go.Figure)
        assert all(len(t.x) <= MAX_CURVE_POINTS for t in fig.data)
        # Small enough to embed in an HTML report.
        assert len(fig.to_json()) < 1_000_000
    # The legend metric is computed on every row, not on the drawn points.
    assert figures[0].data[0].name == f"a (AUC {skm.roc_auc_score(y, s):.3f})"


def test_thinning_keeps_the_ends_and_the_shape():
    x = np.linspace(0.0, 1.0, 100_001)
    y = np.where(x < 0.5, 0.0, 1.0)  # a step: the jump must survive
    tx, ty = _thin(x, y, max_points=500)
    assert len(tx) == 500
    assert (tx[0], tx[-1]) == (0.0, 1.0)
    assert np.all(np.diff(tx) > 0)
    # The points around the jump are kept: no drawn segment spans much more than it should.
    jump = np.flatnonzero(np.diff(ty))[0]
    assert tx[jump + 1] - tx[jump] < 0.01
    np.testing.assert_array_equal(_thin(x[:10], y[:10])[0], x[:10])
