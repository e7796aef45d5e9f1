"""Range-aware time-series metrics: hand-computed cases and plain loop re-implementations.

The loop versions below follow the published definitions step by step (the
evaluator of Tatbul et al. for range precision/recall, TSB-UAD's ``RangeAUC``
and ``RangeAUC_volume_opt`` for Range-AUC and VUS), one range and one
threshold at a time, so the vectorised module is checked against code simple
enough to read against the papers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate.metrics import evaluate
from anomalyzer.evaluate.ranges import (
    VUS,
    PointAdjusted,
    RangePR,
    SeriesReport,
    anomaly_ranges,
    best_point_adjusted_f1,
    point_adjusted_f1,
    range_auc_pr,
    range_auc_roc,
    range_precision_recall,
    series_metrics,
    vus,
)

# Sums of many float terms may differ from the loop versions in the last bits only.
close = {"rel": 1e-9, "abs": 1e-12}


def series(n: int, *ranges: tuple[int, int]) -> np.ndarray:
    """0/1 labels of length ``n`` with the given inclusive ranges set to 1."""
    y = np.zeros(n, dtype=np.int64)
    for start, end in ranges:
        y[start : end + 1] = 1
    return y


def runs(x: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of nonzero values as inclusive (start, end), found one step at a time."""
    out: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(x):
        if v and start is None:
            start = i
        if not v and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(x) - 1))
    return out


# --- plain re-implementations -------------------------------------------------------------


def delta_loop(i: int, length: int, bias: str) -> float:
    if bias == "flat":
        return 1.0
    if bias == "front":
        return float(length - i + 1)
    if bias == "back":
        return float(i)
    return float(i) if i <= length / 2 else float(length - i + 1)


def reward_loop(own, other, alpha: float, cardinality: str, bias: str) -> float:
    """Tatbul et al.'s recall (own = real) or precision (own = predicted, alpha = 0)."""
    if not own:
        return 0.0
    total = 0.0
    for a, b in own:
        length = b - a + 1
        omega_sum, count = 0.0, 0
        for c, d in other:
            if d < a or c > b:
                continue
            count += 1
            lo, hi = max(a, c), min(b, d)
            mine = sum(
                delta_loop(i, length, bias) for i in range(1, length + 1) if lo <= a + i - 1 <= hi
            )
            omega_sum += mine / sum(delta_loop(i, length, bias) for i in range(1, length + 1))
        gamma = 1.0 / count if cardinality == "reciprocal" and count > 1 else 1.0
        total += alpha * (count > 0) + (1 - alpha) * gamma * omega_sum
    return total / len(own)


def soft_labels_loop(y: np.ndarray, buffer: int) -> np.ndarray:
    """Labels with buffer // 2 steps each side of every range at sqrt(1 - d / buffer), capped at 1."""
    n = len(y)
    soft = y.astype(float)
    for s, e in runs(y):
        for d in range(1, buffer // 2 + 1):
            if e + d < n:
                soft[e + d] += math.sqrt(1 - d / buffer)
            if s - d >= 0:
                soft[s - d] += math.sqrt(1 - d / buffer)
    return np.minimum(soft, 1.0)


def groups_loop(y: np.ndarray, soft: np.ndarray, buffer: int, merge_touching: bool):
    if merge_touching:
        # RangeAUC: the maximal runs of positive soft label.
        return runs(soft > 0)
    # RangeAUC_volume_opt: ranges merge only when their buffers overlap.
    h, n = buffer // 2, len(y)
    out: list[list[int]] = []
    prev_end = None
    for s, e in runs(y):
        if prev_end is not None and prev_end + h >= s - h:
            out[-1][1] = min(e + h, n - 1)
        else:
            out.append([max(s - h, 0), min(e + h, n - 1)])
        prev_end = e
    return [tuple(g) for g in out]


def range_auc_loop(y, s, buffer, n_thresholds=250, merge_touching=True):
    """Range-AUC-ROC and -PR, one threshold at a time, as TSB-UAD computes them."""
    n, n_pos = len(y), int(y.sum())
    soft = soft_labels_loop(y, buffer)
    groups = groups_loop(y, soft, buffer, merge_touching)
    p_new = (n_pos + soft.sum()) / 2
    ordered = sorted(s, reverse=True)
    tpr, fpr, prec = [0.0], [0.0], [1.0]
    for rank in np.linspace(0, n - 1, n_thresholds).astype(int):
        flagged = s >= ordered[rank]
        tp = float(np.dot(soft, flagged))
        touched = sum(1 for lo, hi in groups if flagged[lo : hi + 1].any())
        tpr.append(min(tp / p_new, 1.0) * touched / len(groups))
        fpr.append((flagged.sum() - tp) / (n - p_new))
        prec.append(tp / flagged.sum())
    tpr.append(1.0)
    fpr.append(1.0)
    roc = sum((fpr[k + 1] - fpr[k]) * (tpr[k + 1] + tpr[k]) / 2 for k in range(len(fpr) - 1))
    pr = sum((tpr[k + 1] - tpr[k]) * (prec[k + 1] + prec[k]) / 2 for k in range(n_thresholds))
    return roc, pr


@st.composite
def labelled_series(draw, min_size: int = 2, max_size: int = 200):
    """Labels with both classes in a few runs (some at the edges), and tied or continuous scores."""
    n = draw(st.integers(min_size, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = np.zeros(n, dtype=np.int64)
    for _ in range(draw(st.integers(1, 6))):
        start = int(rng.integers(0, n))
        y[start : start + int(rng.integers(1, max(2, n // 5)))] = 1
    if y.all():
        y[int(rng.integers(0, n))] = 0
    kind = draw(st.sampled_from(["ties", "continuous", "informative"]))
    if kind == "ties":
        scores = rng.integers(0, 3, n).astype(float)
    elif kind == "continuous":
        scores = rng.random(n)
    else:
        scores = rng.normal(size=n) + 2.0 * y
    return y, scores


# --- range precision and recall (Tatbul et al., 2018) --------------------------------------

REAL_3_8 = series(12, (3, 8))
PRED_6_10 = series(12, (6, 10))


def test_range_pr_flat_hand_case():
    # Real [3..8] (6 points), predicted [6..10] (5 points), overlap 6..8 (3 points).
    r = range_precision_recall(REAL_3_8, PRED_6_10)
    assert r.recall == pytest.approx(3 / 6)
    assert r.precision == pytest.approx(3 / 5)
    assert r.f1 == pytest.approx(2 * 0.6 * 0.5 / 1.1)


def test_range_pr_existence_reward_lifts_recall_not_precision():
    assert range_precision_recall(REAL_3_8, PRED_6_10, alpha=1.0).recall == 1.0
    half = range_precision_recall(REAL_3_8, PRED_6_10, alpha=0.5)
    assert half.recall == pytest.approx(0.5 * 1 + 0.5 * 3 / 6)
    # Precision has no existence term.
    assert half.precision == pytest.approx(3 / 5)


@pytest.mark.parametrize(
    ("bias", "recall", "precision"),
    [
        # Real range, l = 6, overlap at positions i = 4, 5, 6:
        #   front delta = 7 - i: 6 5 4 3 2 1 -> (3 + 2 + 1) / 21
        #   back  delta = i:     1 2 3 4 5 6 -> (4 + 5 + 6) / 21
        #   middle (i <= 3: i, else 7 - i): 1 2 3 3 2 1 -> (3 + 2 + 1) / 12
        # Predicted range, l = 5, overlap at positions i = 1, 2, 3:
        #   front delta = 6 - i: 5 4 3 2 1 -> (5 + 4 + 3) / 15
        #   back:                1 2 3 4 5 -> (1 + 2 + 3) / 15
        #   middle (i <= 2.5: i, else 6 - i): 1 2 3 2 1 -> (1 + 2 + 3) / 9
        ("front", 6 / 21, 12 / 15),
        ("back", 15 / 21, 6 / 15),
        ("middle", 6 / 12, 6 / 9),
        ("flat", 3 / 6, 3 / 5),
    ],
)
def test_range_pr_positional_bias_hand_cases(bias, recall, precision):
    r = range_precision_recall(REAL_3_8, PRED_6_10, bias=bias)
    assert r.recall == pytest.approx(recall)
    assert r.precision == pytest.approx(precision)


def test_range_pr_cardinality_on_fragmented_detection():
    # Two predicted ranges, [3..4] and [7..7], inside one real range [3..8].
    labels, flags = REAL_3_8, series(12, (3, 4), (7, 7))
    # omega sum = 2/6 + 1/6; "one" keeps it, "reciprocal" divides by the 2 overlaps.
    assert range_precision_recall(labels, flags, cardinality="one").recall == pytest.approx(0.5)
    assert range_precision_recall(labels, flags, cardinality="reciprocal").recall == pytest.approx(
        0.25
    )
    # Each predicted range lies wholly inside one real range.
    assert range_precision_recall(labels, flags, cardinality="reciprocal").precision == 1.0


def test_range_pr_cardinality_on_precision():
    # One predicted range [2..12] (11 points) covers real ranges [3..4] and [8..9].
    labels, flags = series(14, (3, 4), (8, 9)), series(14, (2, 12))
    assert range_precision_recall(labels, flags).precision == pytest.approx(4 / 11)
    assert range_precision_recall(
        labels, flags, cardinality="reciprocal"
    ).precision == pytest.approx(2 / 11)
    assert range_precision_recall(labels, flags, cardinality="reciprocal").recall == 1.0


def test_range_pr_no_prediction_and_no_anomaly_are_zero():
    assert range_precision_recall(REAL_3_8, np.zeros(12), alpha=1.0) == RangePR(0.0, 0.0, 0.0)
    assert range_precision_recall(np.zeros(12), PRED_6_10, alpha=1.0) == RangePR(0.0, 0.0, 0.0)


@pytest.mark.parametrize("bias", ["flat", "front", "back", "middle"])
def test_range_pr_perfect_flags_score_one_up_to_the_edges(bias):
    labels = series(20, (0, 2), (7, 7), (15, 19))
    r = range_precision_recall(labels, labels, cardinality="reciprocal", bias=bias)
    assert (r.precision, r.recall, r.f1) == pytest.approx((1.0, 1.0, 1.0))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    alpha=st.sampled_from([0.0, 0.3, 1.0]),
    cardinality=st.sampled_from(["one", "reciprocal"]),
    bias=st.sampled_from(["flat", "front", "back", "middle"]),
)
def test_range_pr_equals_the_loop_definition(n, seed, alpha, cardinality, bias):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rng.random()).astype(int)
    flags = (rng.random(n) < rng.random()).astype(int)
    r = range_precision_recall(labels, flags, alpha, cardinality, bias)
    real, predicted = runs(labels), runs(flags)
    assert r.recall == pytest.approx(
        reward_loop(real, predicted, alpha, cardinality, bias), **close
    )
    assert r.precision == pytest.approx(
        reward_loop(predicted, real, 0.0, cardinality, bias), **close
    )


# --- point-adjusted F1 (Xu et al., 2018) ---------------------------------------------------


def test_point_adjust_one_flag_detects_a_whole_range():
    labels = series(20, (5, 14))
    flags = np.zeros(20, dtype=int)
    flags[7] = 1
    assert point_adjusted_f1(labels, flags) == PointAdjusted(1.0, 1.0, 1.0, None)
    # Point-wise, the same flag recalls 1 point of 10.
    assert evaluate(labels, np.zeros(20), flags=flags).recall == pytest.approx(0.1)


def test_point_adjust_counts_false_flags_and_missed_ranges():
    labels = series(30, (5, 14), (20, 21))
    flags = series(30, (7, 7), (17, 18))
    pa = point_adjusted_f1(labels, flags)
    # Range [5..14] detected (10 points), [20..21] missed, 2 false flags.
    assert pa.precision == pytest.approx(10 / 12)
    assert pa.recall == pytest.approx(10 / 12)
    assert pa.f1 == pytest.approx(2 * 10 / (2 * 10 + 2 + 2))


def test_point_adjust_threshold_flags_at_or_above():
    labels = [0, 1, 1, 0]
    scores = [0.5, 0.2, 0.5, 0.1]
    assert point_adjusted_f1(labels, scores, threshold=0.5) == PointAdjusted(
        precision=2 / 3, recall=1.0, f1=0.8, threshold=0.5
    )


def test_point_adjust_empty_cases_are_zero():
    labels = series(10, (2, 4))
    assert point_adjusted_f1(labels, np.zeros(10)) == PointAdjusted(0.0, 0.0, 0.0)
    assert point_adjusted_f1(np.zeros(10), labels) == PointAdjusted(0.0, 0.0, 0.0)


def test_best_point_adjust_is_the_best_over_every_threshold():
    rng = np.random.default_rng(3)
    for n in (1, 7, 50, 200):
        labels = series(n, (n // 3, n // 2)) if n > 1 else np.array([1])
        scores = rng.integers(0, 12, n).astype(float)  # plenty of ties
        best = best_point_adjusted_f1(labels, scores)
        brute = [point_adjusted_f1(labels, scores, threshold=t) for t in np.unique(scores)]
        top = max(b.f1 for b in brute)
        assert best.f1 == pytest.approx(top)
        # Ties in F1 go to the highest threshold.
        assert best.threshold == max(b.threshold for b in brute if b.f1 == pytest.approx(top))
        assert point_adjusted_f1(labels, scores, threshold=best.threshold) == best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_point_adjust_flatters_random_scores_on_long_ranges(seed):
    """Kim et al. (AAAI 2022): random scores reach a near-perfect point-adjusted F1."""
    labels = series(10_000, *[(a, a + 399) for a in (1000, 3000, 5000, 7000, 9000)])
    scores = np.random.default_rng(seed).random(10_000)
    assert best_point_adjusted_f1(labels, scores).f1 > 0.95
    # Point-wise, the best random F1 is flagging everything: 2 * 0.2 / 1.2.
    assert evaluate(labels, scores).best_f1 < 0.4
    # At the top 1% of scores, range-based F1 sees almost nothing detected.
    flags = scores >= np.quantile(scores, 0.99)
    assert point_adjusted_f1(labels, flags).f1 > 0.95
    assert range_precision_recall(labels, flags).f1 < 0.05


# --- Range-AUC and VUS (Paparrizos et al., 2022) --------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    data=labelled_series(),
    buffer=st.integers(0, 16),
    n_thresholds=st.sampled_from([1, 9, 250]),
)
def test_range_auc_equals_the_loop_reference(data, buffer, n_thresholds):
    y, s = data
    roc, pr = range_auc_loop(y, s, buffer, n_thresholds, merge_touching=True)
    assert range_auc_roc(y, s, buffer, n_thresholds=n_thresholds) == pytest.approx(roc, **close)
    assert range_auc_pr(y, s, buffer, n_thresholds=n_thresholds) == pytest.approx(pr, **close)


@settings(max_examples=25, deadline=None)
@given(data=labelled_series(max_size=120), max_buffer=st.integers(0, 10))
def test_vus_equals_the_loop_reference(data, max_buffer):
    y, s = data
    slices = [range_auc_loop(y, s, b, 50, merge_touching=False) for b in range(max_buffer + 1)]
    v = vus(y, s, max_buffer=max_buffer, n_thresholds=50)
    assert v.roc_by_buffer == pytest.approx([roc for roc, _ in slices], **close)
    assert v.pr_by_buffer == pytest.approx([pr for _, pr in slices], **close)
    assert v.vus_roc == pytest.approx(np.mean([roc for roc, _ in slices]), **close)
    assert v.vus_pr == pytest.approx(np.mean([pr for _, pr in slices]), **close)


def test_touching_buffers_merge_in_range_auc_but_not_in_vus():
    # Ranges [10..12] and [17..19] with buffer 4 soften 8..14 and 15..21: touching, not overlapping.
    y = series(40, (10, 12), (17, 19))
    s = np.random.default_rng(1).random(40)
    merged = range_auc_loop(y, s, 4, merge_touching=True)
    apart = range_auc_loop(y, s, 4, merge_touching=False)
    assert merged[0] != pytest.approx(apart[0])
    assert range_auc_roc(y, s, 4) == pytest.approx(merged[0], **close)
    assert vus(y, s, max_buffer=4).roc_by_buffer[4] == pytest.approx(apart[0], **close)


def test_perfect_scores_give_one_at_buffer_zero():
    y = series(300, (20, 29), (150, 151), (290, 299))
    for scores in (y.astype(float), y + 0.1 * np.random.default_rng(0).random(300)):
        assert range_auc_roc(y, scores) == 1.0
        assert range_auc_pr(y, scores) == 1.0
    assert vus(y, y.astype(float), max_buffer=0) == VUS(1.0, 1.0, 0, 250, (1.0,), (1.0,))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scores_are_near_chance(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    y = np.zeros(n, dtype=np.int64)
    for start in rng.choice(n - 300, 8, replace=False):
        y[start : start + rng.integers(20, 200)] = 1
    scores = rng.random(n)
    assert range_auc_roc(y, scores) == pytest.approx(0.5, abs=0.03)
    # Buffers count soft labels as positives, which lifts chance a little above 0.5.
    v = vus(y, scores, max_buffer=100)
    assert 0.5 < v.vus_roc < 0.62
    separating = scores + y
    assert vus(y, separating, max_buffer=100).vus_roc > 0.9


def test_constant_score_is_no_better_than_chance_on_roc():
    n = 20_000
    y = series(n, (1000, 1099), (8000, 8049), (15000, 15199))
    constant = np.zeros(n)
    assert range_auc_roc(y, constant) == 0.5
    v = vus(y, constant, max_buffer=100)
    # Above 0.5 only by the soft labels' share: (sum(soft) - P) / (4 (n - P_new)).
    assert 0.5 < v.vus_roc < 0.51
    assert v.vus_roc < vus(y, np.random.default_rng(0).random(n), max_buffer=100).vus_roc


def test_constant_score_pr_follows_the_reference_anchor():
    # The reference starts the PR curve at (0, 1) and joins points linearly, so an
    # all-tied score draws one segment to (1, anomaly share): area (1 + share) / 2.
    y = series(1000, (100, 149))
    assert range_auc_pr(y, np.zeros(1000)) == pytest.approx((1 + 0.05) / 2)


def test_detection_just_before_a_range_gains_credit_as_the_buffer_grows():
    n = 1000
    y = series(n, (500, 549))
    early = np.zeros(n)
    early[490:496] = 1.0  # 5 to 10 steps before the range
    far = np.zeros(n)
    far[200:206] = 1.0  # the same detection, nowhere near a range
    buffers = range(0, 41)
    early_auc = np.array([range_auc_roc(y, early, b) for b in buffers])
    far_auc = np.array([range_auc_roc(y, far, b) for b in buffers])
    assert np.all(np.diff(early_auc) >= 0)
    assert early_auc[20] > early_auc[0] + 0.04
    # The gain is for being near the range: at buffer 0 both are plain false positives.
    assert early_auc[0] == pytest.approx(far_auc[0])
    assert early_auc[20] > far_auc[20] + 0.03
    assert vus(y, early, 40).vus_pr > vus(y, far, 40).vus_pr


def test_degenerate_series_give_nan():
    for y in (np.zeros(50), np.ones(50)):
        scores = np.linspace(0, 1, 50)
        assert math.isnan(range_auc_roc(y, scores, 4))
        assert math.isnan(range_auc_pr(y, scores))
        v = vus(y, scores, max_buffer=3)
        assert math.isnan(v.vus_roc) and math.isnan(v.vus_pr)
        report = series_metrics(y, scores, max_buffer=3)
        assert math.isnan(report.roc_auc) and math.isnan(report.average_precision)


def test_vus_on_a_long_series_ranks_informative_scores_above_noise():
    # Speed on long series is measured by benchmarks/metrics_speed.py, not asserted here.
    rng = np.random.default_rng(0)
    n = 20_000
    y = np.zeros(n, dtype=np.int64)
    for start in rng.choice(n - 100, 40, replace=False):
        y[start : start + rng.integers(1, 80)] = 1
    informed = vus(y, rng.random(n) + y, max_buffer=100)
    noise = vus(y, rng.random(n), max_buffer=100)
    assert informed.vus_pr > 3 * noise.vus_pr and informed.vus_roc > noise.vus_roc + 0.2


# --- series report -------------------------------------------------------------------------


def test_series_metrics_gathers_every_metric():
    rng = np.random.default_rng(4)
    y = series(500, (50, 79), (300, 309))
    scores = rng.random(500) + 0.8 * y
    flags = scores > 1.2
    report = series_metrics(y, scores, flags=flags, max_buffer=20)
    pointwise = evaluate(y, scores)
    v = vus(y, scores, max_buffer=20)
    pa = point_adjusted_f1(y, flags)
    rpr = range_precision_recall(y, flags)
    assert report == SeriesReport(
        n_points=500,
        n_anomalies=40,
        n_ranges=2,
        roc_auc=pointwise.roc_auc,
        average_precision=pointwise.average_precision,
        vus_roc=v.vus_roc,
        vus_pr=v.vus_pr,
        max_buffer=20,
        pa_precision=pa.precision,
        pa_recall=pa.recall,
        pa_f1=pa.f1,
        range_precision=rpr.precision,
        range_recall=rpr.recall,
        range_f1=rpr.f1,
    )
    assert report.has_flags
    as_dict = report.to_dict()
    assert as_dict["range_f1"] == rpr.f1 and as_dict["n_ranges"] == 2
    assert "VUS-ROC" in str(report) and "range P / R / F1" in str(report)


def test_series_metrics_without_flags_leaves_flag_fields_empty():
    report = series_metrics([0, 1, 1, 0, 0], [0.1, 0.9, 0.8, 0.3, 0.2], max_buffer=2)
    assert not report.has_flags
    assert report.pa_f1 is None and report.range_precision is None
    assert "range P" not in str(report)


def test_anomaly_ranges_are_inclusive_runs():
    assert anomaly_ranges([1, 1, 0, 1, 0, 0, 1]).tolist() == [[0, 1], [3, 3], [6, 6]]
    assert anomaly_ranges([False, False]).shape == (0, 2)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vus([0, 2, 1], [0.1, 0.2, 0.3]), "Labels must be 0/1"),
        (lambda: vus(["ok", "bad"], [0.1, 0.2]), "Labels must be 0/1"),
        (lambda: vus([0, np.nan, 1], [0.1, 0.2, 0.3]), "Labels must be 0/1"),
        (lambda: vus([[0, 1]], [0.1, 0.2]), "one value per time step"),
        (lambda: vus([], []), "Labels are empty"),
        (lambda: vus([0, 1, 0], [0.1, np.nan, 0.3]), "NaN or infinite"),
        (lambda: vus([0, 1, 0], [0.1, np.inf, 0.3]), "NaN or infinite"),
        (lambda: vus([0, 1, 0], ["a", "b", "c"]), "Scores must be numbers"),
        (lambda: vus([0, 1, 0], [0.1, 0.2]), "2 score"),
        (lambda: vus([0, 1, 0], [0.1, 0.2, 0.3], max_buffer=-1), "max_buffer"),
        (lambda: vus([0, 1, 0], [0.1, 0.2, 0.3], max_buffer=2.5), "max_buffer"),
        (lambda: vus([0, 1, 0], [0.1, 0.2, 0.3], n_thresholds=0), "n_thresholds"),
        (lambda: range_auc_roc([0, 1, 0], [0.1, 0.2, 0.3], buffer=-2), "buffer"),
        (lambda: range_auc_pr([0, 1, 0], [0.1, 0.2, 0.3], buffer=True), "buffer"),
        (lambda: range_precision_recall([0, 1], [1, 1, 0]), "3 flag"),
        (lambda: range_precision_recall([0, 1], [0, 3]), "Flags must be 0/1"),
        (lambda: range_precision_recall([0, 1], [0, 1], alpha=1.5), "alpha"),
        (lambda: range_precision_recall([0, 1], [0, 1], cardinality="two"), "cardinality"),
        (lambda: range_precision_recall([0, 1], [0, 1], bias="end"), "bias"),
        (lambda: point_adjusted_f1([0, 1], [0.2, 0.9], threshold=float("nan")), "threshold"),
        (lambda: point_adjusted_f1([0, 1], [0.2, 0.9]), "Flags must be 0/1"),
        (lambda: best_point_adjusted_f1([0, 1], [0.2]), "1 score"),
        (lambda: series_metrics([0, 1], [0.2, 0.9], flags=[1]), "1 flag"),
    ],
)
def test_mistakes_raise_a_clear_error(call, message):
    with pytest.raises(AnomalyzerError, match=message):
        call()
