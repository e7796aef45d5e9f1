"""The NAB score follows NAB's published rules, and its fast sweep equals a slow row-by-row one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from anomalyzer.errors import AnomalyzerError
from anomalyzer.evaluate.nab import (
    PROFILES,
    NabProfile,
    NabSeries,
    label_windows,
    nab_score,
    nab_scores,
    windows_to_positions,
)

STANDARD = PROFILES["standard"]
# NAB's scaled sigmoid at the left edge of a window, the largest true-positive value:
# 2 * sigmoid(5) - 1 = tanh(2.5).
MAX_TP = 0.9866142981514303


def flags(n: int, rows: list[int]) -> np.ndarray:
    """Scores of 1 at ``rows`` and 0 elsewhere: detections at threshold 1."""
    scores = np.zeros(n)
    scores[rows] = 1.0
    return scores


def raw(rows: list[int], windows: list[tuple[int, int]], n: int = 100, profile="standard"):
    """Raw NAB score of one series with detections at ``rows``."""
    return nab_score(NabSeries(flags(n, rows), windows), profile, threshold=1.0).raw


# A series of 100 rows: rows 0-14 are the probationary period (floor(0.15 * 100) = 15),
# and one window of width 10 covers rows 40-49.
WINDOW = [(40, 49)]


def test_profiles_match_nab_config():
    assert PROFILES == {
        "standard": NabProfile(tp=1.0, fp=0.11, fn=1.0, tn=1.0),
        "reward_low_fp_rate": NabProfile(tp=1.0, fp=0.22, fn=1.0, tn=1.0),
        "reward_low_fn_rate": NabProfile(tp=1.0, fp=0.11, fn=2.0, tn=1.0),
    }


def test_detection_at_first_row_of_window_earns_tp_weight():
    # Position -(49 - 40 + 1) / 10 = -1: scaledSigmoid(-1) / scaledSigmoid(-1) = 1, times tp.
    assert raw([40], WINDOW) == pytest.approx(1.0, abs=1e-15)
    result = nab_score(NabSeries(flags(100, [40]), WINDOW), threshold=1.0)
    assert (result.tp, result.fp, result.fn) == (1, 0, 0)


def test_late_detection_earns_less():
    # Row 47: position -(49 - 47 + 1) / 10 = -0.3, scaledSigmoid(-0.3) = 2 / (1 + e^-1.5) - 1.
    expected = (2 / (1 + math.exp(-1.5)) - 1) / MAX_TP
    assert expected == pytest.approx(0.6437662150014793)
    assert raw([47], WINDOW) == pytest.approx(expected, rel=1e-12)
    # The last row of the window: position -1/10, still a true positive, worth little.
    assert raw([49], WINDOW) == pytest.approx((2 / (1 + math.exp(-0.5)) - 1) / MAX_TP)


def test_false_positive_before_any_window_costs_fp_weight():
    # A miss (-fn) plus a detection with no window before it (-fp).
    assert raw([30], WINDOW) == pytest.approx(-1.0 - 0.11)
    assert raw([30], WINDOW, profile="reward_low_fp_rate") == pytest.approx(-1.0 - 0.22)


def test_false_positive_just_after_window_costs_less_than_far_after():
    # Row 50: position (50 - 49) / (10 - 1) = 1/9, scaledSigmoid(1/9) = 2 / (1 + e^(5/9)) - 1.
    just_after = 0.11 * (2 / (1 + math.exp(5 / 9)) - 1)
    assert just_after == pytest.approx(-0.11 * 0.2708471185167214)
    assert raw([50], WINDOW) == pytest.approx(-1.0 + just_after)
    # Row 80: position 31/9 > 3, so scaledSigmoid is -1: the full fp weight.
    assert raw([80], WINDOW) == pytest.approx(-1.0 - 0.11)
    assert raw([50], WINDOW) > raw([80], WINDOW)
    # With the window detected, the false positive just after it only trims the reward.
    assert raw([40, 50], WINDOW) == pytest.approx(1.0 + just_after)


def test_only_the_earliest_detection_in_a_window_counts():
    # Two detections in one window count once, at the earlier row.
    assert raw([42, 45], WINDOW) == pytest.approx(raw([42], WINDOW))
    result = nab_score(NabSeries(flags(100, [42, 45]), WINDOW), threshold=1.0)
    assert (result.tp, result.fp, result.fn) == (1, 0, 0)


def test_series_without_windows():
    window_elsewhere = NabSeries(np.zeros(100), WINDOW, name="labelled")
    quiet = NabSeries(np.zeros(100), [], name="quiet")
    noisy = NabSeries(flags(100, [20, 60, 99]), [], name="noisy")
    result = nab_score([window_elsewhere, quiet, noisy], threshold=1.0)
    assert result.per_series == pytest.approx({"labelled": -1.0, "quiet": 0.0, "noisy": -0.33})
    assert result.raw == pytest.approx(-1.33)
    assert (result.tp, result.fp, result.fn) == (0, 3, 1)


def test_probationary_period_is_not_scored():
    # floor(0.15 * 100) = 15: rows 0-14 are ignored, row 15 is scored.
    assert raw([14], WINDOW) == pytest.approx(-1.0)
    assert raw([15], WINDOW) == pytest.approx(-1.11)
    # 0.15 * 10000 = 1500 but NAB caps the period at 0.15 * 5000 = 750 rows.
    far = [(9000, 9100)]
    assert raw([749], far, n=10_000) == pytest.approx(-1.0)
    assert raw([750], far, n=10_000) == pytest.approx(-1.11)
    # A window entirely in the probationary period is neither detected nor missed,
    # though NAB's perfect score counts every labelled window.
    result = nab_score(NabSeries(flags(100, [3]), [(2, 5), *WINDOW]), threshold=1.0)
    assert (result.raw, result.tp, result.fn, result.perfect) == (-1.0, 0, 1, 2.0)


def test_window_partly_in_probation_rewards_its_first_scored_row():
    # Window (10, 19): rows 10-14 are in probation; row 15 is at position -(19 - 15 + 1) / 10.
    expected = (2 / (1 + math.exp(-2.5)) - 1) / MAX_TP
    assert raw([12, 15], [(10, 19)]) == pytest.approx(expected)


def test_one_row_window():
    # Detected at its only row: position -1, the full reward. NAB divides by width - 1 = 0
    # for a detection after it; the limit of the distance, the full fp weight, is used.
    assert raw([40], [(40, 40)]) == pytest.approx(1.0)
    assert raw([41], [(40, 40)]) == pytest.approx(-1.11)


def corpus_with_windows() -> list[tuple[int, list[tuple[int, int]]]]:
    return [(200, [(50, 59), (120, 139)]), (150, [(100, 104)]), (120, [])]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_perfect_detector_scores_100_and_null_detector_0(profile):
    corpus = corpus_with_windows()
    perfect = [
        NabSeries(flags(n, [a for a, _ in w]), w, f"s{k}") for k, (n, w) in enumerate(corpus)
    ]
    null = [NabSeries(np.full(n, 0.5), w, f"s{k}") for k, (n, w) in enumerate(corpus)]
    best = nab_score(perfect, profile)
    assert best.score == pytest.approx(100.0)
    assert best.raw == best.perfect == 3 * PROFILES[profile].tp
    assert nab_score(perfect, profile, threshold=1.0).score == pytest.approx(100.0)
    assert nab_score(null, profile).score == 0.0
    # Flagging nothing is this corpus's null: every window missed.
    assert best.null == -3 * PROFILES[profile].fn
    assert nab_score(null, profile, threshold=1.0).score == 0.0


def test_reward_low_fn_rate_penalises_misses_twice():
    (n0, w0), (n1, w1) = corpus_with_windows()[:2]
    corpus = [NabSeries(flags(n0, [50]), w0, "a"), NabSeries(flags(n1, [100]), w1, "b")]
    standard = nab_score(corpus, "standard", threshold=1.0)
    low_fn = nab_score(corpus, "reward_low_fn_rate", threshold=1.0)
    # Series 0 detects its first window at its first row and misses its second; series 1
    # detects its window. One miss: 2 - 1 = 1 on the standard profile, 2 - 2 = 0 here.
    assert (standard.raw, standard.null, standard.tp, standard.fn) == (1.0, -3.0, 2, 1)
    assert (low_fn.raw, low_fn.null) == (0.0, -6.0)
    assert standard.score == pytest.approx(100 * (1 + 3) / (3 + 3))
    assert low_fn.score == pytest.approx(100 * (0 + 6) / (3 + 6))


def test_null_is_flagging_everything_when_that_scores_better():
    # NAB's null detector gives every row one score and sweeps it like any detector:
    # here flagging every row (the window at its first scored row, +1, and four false
    # positives, each at most -0.11) beats missing the window (-2).
    series = NabSeries(np.zeros(24), [(4, 20)])  # probation: rows 0-2
    everything = nab_score(series, "reward_low_fn_rate", threshold=0.0).raw
    assert everything > -2.0
    result = nab_score(series, "reward_low_fn_rate")
    assert result.null == everything
    assert result.score == 0.0


def test_ties_are_flagged_together_and_ties_in_score_keep_the_higher_threshold():
    # Rows 42 and 45 tie at 0.7: a threshold between them is impossible.
    scores = np.zeros(100)
    scores[[42, 45, 70]] = [0.7, 0.7, 0.9]
    result = nab_score(NabSeries(scores, WINDOW))
    assert result.threshold == 0.7
    assert result.fp == 1 and result.tp == 1
    # Lowering the threshold from 0.9 to 0.5 adds a later row of a detected window,
    # worth nothing: NAB keeps the higher threshold.
    scores = np.zeros(100)
    scores[[41, 46]] = [0.9, 0.5]
    assert nab_score(NabSeries(scores, WINDOW)).threshold == 0.9
    # Nothing worth flagging: the threshold lies above every score.
    assert nab_score(NabSeries(flags(100, [80]), WINDOW)).threshold == math.inf


# A slow row-by-row reference, following the steps of NAB's Sweeper.calcSweepScore and
# Sweeper.calcScoreByThreshold (nab/sweeper.py), the optimizer (nab/optimizer.py: the best
# total over the corpus, the first one on a tie) and Sweeper.scoreDataSet (a series' total at
# the lowest swept threshold at or above the chosen one).


def sigmoid_scaled(x: float) -> float:
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def reference_rows(scores, windows, name, profile: NabProfile, probation: float = 0.15):
    """``(score, value, window)`` per scored row, walking the rows in time order."""
    n = len(scores)
    skip = min(math.floor(probation * n), probation * 5000)
    pending = list(windows)
    current = previous = None
    rows = []
    for i, score in enumerate(scores):
        if pending and i == pending[0][0]:
            current = pending.pop(0)
        if current is not None:
            start, end = current
            position = -(end - i + 1) / (end - start + 1)
            value = sigmoid_scaled(position) * profile.tp / sigmoid_scaled(-1.0)
            window = (name, start)
        else:
            if previous is None:
                unweighted = -1.0
            elif previous[1] == previous[0]:
                unweighted = -1.0  # a one-row window: NAB would divide by zero
            else:
                unweighted = sigmoid_scaled(abs(previous[1] - i) / (previous[1] - previous[0]))
            value = unweighted * profile.fp
            window = None
        if i >= skip:
            rows.append((float(score), value, window))
        if current is not None and i == current[1]:
            previous, current = current, None
    return rows


def reference_sweep(rows, profile: NabProfile) -> list[tuple[float, float]]:
    """``(threshold, total)`` from flagging nothing to flagging every row."""
    rows = sorted(rows, key=lambda r: r[0], reverse=True)
    parts = {"fp": 0.0}
    for _, _, window in rows:
        if window is not None:
            parts[window] = -profile.fn
    sweep = []
    threshold = math.inf
    for score, value, window in rows:
        if score != threshold:
            sweep.append((threshold, sum(parts.values())))
            threshold = score
        if window is None:
            parts["fp"] += value
        else:
            parts[window] = max(parts[window], value)
    sweep.append((threshold, sum(parts.values())))
    return sweep


def reference_total_at(sweep: list[tuple[float, float]], threshold: float) -> float:
    return [total for t, total in sweep if t >= threshold][-1]


def random_corpus(rng: np.random.Generator, n_series: int) -> list[NabSeries]:
    corpus = []
    for k in range(n_series):
        n = int(rng.integers(1, 400))
        windows, row = [], int(rng.integers(0, 60))
        while row < n and rng.random() < 0.8:
            end = min(n - 1, row + int(rng.integers(0, 40)))  # width 1 included
            windows.append((row, end))
            row = end + 1 + int(rng.integers(0, 80))
        kind = rng.integers(3)
        if kind == 0:
            scores = rng.random(n)
        elif kind == 1:
            scores = rng.integers(0, 6, n) / 5  # many ties
        else:
            scores = np.round(rng.random(n) ** 3, 2)
        corpus.append(NabSeries(scores, windows, f"s{k}"))
    if not any(s.windows for s in corpus):
        corpus.append(NabSeries(rng.random(50), [(30, 40)], "labelled"))
    return corpus


def near_best(candidates: list[tuple[float, float]]) -> set[float]:
    """The thresholds whose totals equal the best up to float rounding."""
    best = max(total for _, total in candidates)
    return {t for t, total in candidates if total >= best - 1e-9}


@pytest.mark.parametrize("seed", range(12))
def test_fast_sweep_equals_row_by_row_reference(seed):
    rng = np.random.default_rng(seed)
    corpus = random_corpus(rng, int(rng.integers(1, 8)))
    for name, profile in PROFILES.items():
        rows = {s.name: reference_rows(s.scores, s.windows, s.name, profile) for s in corpus}
        sweep = reference_sweep([r for rs in rows.values() for r in rs], profile)
        best_threshold, best_total = max(sweep, key=lambda c: c[1])  # the first on a tie
        result = nab_score(corpus, name)
        assert result.threshold in near_best(sweep)
        if len(near_best(sweep)) == 1:
            assert result.threshold == best_threshold
        assert result.raw == pytest.approx(best_total, abs=1e-9)
        per_series = {
            k: reference_total_at(reference_sweep(r, profile), result.threshold)
            for k, r in rows.items()
        }
        assert result.per_series == pytest.approx(per_series, abs=1e-9)
        # A fixed threshold, anywhere in the scores.
        threshold = float(rng.choice(np.concatenate([s.scores for s in corpus])))
        fixed = nab_score(corpus, name, threshold=threshold)
        assert fixed.raw == pytest.approx(reference_total_at(sweep, threshold), abs=1e-9)


@pytest.mark.parametrize("seed", range(12, 18))
def test_optimised_threshold_equals_brute_force_over_distinct_scores(seed):
    rng = np.random.default_rng(seed)
    corpus = random_corpus(rng, 4)
    distinct = np.unique(np.concatenate([s.scores for s in corpus]))[::-1]
    for name in PROFILES:
        candidates = [
            (float(t), nab_score(corpus, name, threshold=float(t)).raw)
            for t in [math.inf, *distinct]
        ]
        best_threshold, best_raw = max(candidates, key=lambda c: c[1])
        result = nab_score(corpus, name)
        assert result.raw == pytest.approx(best_raw, abs=1e-9)
        assert result.threshold in near_best(candidates)
        if len(near_best(candidates)) == 1:
            assert result.threshold == best_threshold


def test_nab_scores_equals_nab_score_per_profile():
    corpus = random_corpus(np.random.default_rng(99), 6)
    results = nab_scores(corpus)
    assert list(results) == list(PROFILES)
    for name, result in results.items():
        assert result == nab_score(corpus, name)
    assert list(nab_scores(corpus, ["reward_low_FN_rate"])) == ["reward_low_fn_rate"]


def test_windows_to_positions_matches_nab_timestamps():
    ts = pd.Series(pd.date_range("2015-03-03 04:32:53", periods=10, freq="5min"))
    windows = [
        ["2015-03-03 05:07:53.000000", "2015-03-03 05:12:53.000000"],
        ["2015-03-03 04:37:53.000000", "2015-03-03 04:47:53.000000"],
    ]
    assert windows_to_positions(ts, windows) == [(1, 3), (7, 8)]
    assert windows_to_positions(ts.astype(str).tolist(), windows[:1]) == [(7, 8)]
    with pytest.raises(AnomalyzerError, match="not a timestamp of the series"):
        windows_to_positions(ts, [["2015-03-03 04:33:00", "2015-03-03 04:47:53"]])
    with pytest.raises(AnomalyzerError, match="ends before it starts"):
        windows_to_positions(ts, [windows[0][::-1]])


def test_label_windows():
    assert label_windows([1, 1, 0, 0, 1, 0, 1, 1, 1]) == [(0, 1), (4, 4), (6, 8)]
    assert label_windows(np.zeros(5, dtype=bool)) == []
    assert label_windows([True, True]) == [(0, 1)]
    with pytest.raises(AnomalyzerError, match="0/1"):
        label_windows([0, 2, 1])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nab_score(NabSeries([0.0] * 20, [(3, 5)]), "strict"), "Unknown NAB profile"),
        (lambda: NabSeries([0.0, np.nan, 1.0], [], "x"), "NaN or infinite"),
        (lambda: NabSeries([0.0, np.inf], []), "NaN or infinite"),
        (lambda: NabSeries([0.0] * 5, [(3, 5)], "x"), "outside its rows 0 to 4"),
        (lambda: NabSeries([0.0] * 5, [(3, 2)]), "outside its rows"),
        (lambda: NabSeries([0.0] * 9, [(1, 4), (4, 6)]), "overlapping or preceding"),
        (lambda: NabSeries([0.0] * 9, [(5, 6), (1, 2)]), "overlapping or preceding"),
        (lambda: NabSeries([0.0] * 9, [(1,)]), "pair of integers"),
        (lambda: NabSeries([], []), "non-empty"),
        (lambda: NabSeries(["a", "b"], []), "not numbers"),
        (lambda: nab_score([]), "corpus is empty"),
        (lambda: nab_score(NabSeries([0.0] * 9, [])), "no anomaly windows"),
        (lambda: nab_score([NabSeries([0.0] * 9, [(2, 3)], "a")] * 2), "same name"),
        (lambda: nab_score(NabSeries([0.0] * 9, [(2, 3)]), threshold=np.nan), "threshold"),
    ],
)
def test_bad_input_raises_one_clear_sentence(make, message):
    with pytest.raises(AnomalyzerError, match=message) as info:
        make()
    assert str(info.value).endswith(".") and str(info.value).count(". ") == 0
