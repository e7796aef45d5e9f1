"""Two-sample tests of one column against its training sketch, each with its effect size.

Every function compares new values with a sketch of the training values (see
:mod:`anomalyzer.data.sketches`) and returns plain numbers: a statistic, a
p-value and the effect sizes that say how large the change is.

>>> from anomalyzer.data.sketches import numeric_sketch
>>> rng = np.random.default_rng(0)
>>> train = numeric_sketch(rng.normal(size=5000))
>>> same = numeric_test(train, rng.normal(size=1000))
>>> moved = numeric_test(train, rng.normal(0.5, 1.0, size=1000))
>>> same["p_value"] > 0.01, moved["p_value"] < 1e-10, round(moved["wasserstein"], 1)
(True, True, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from anomalyzer.data.sketches import RESOLUTION, cdf, is_discrete, quantile, spread

# Probabilities at which quantile functions are compared for the Wasserstein distance:
# the central 99% of the mass. Beyond it a sketch knows only the extremes (one outlier
# would decide the distance), and anomalies are for the detector, not for drift.
_W_PROBS = 0.005 + 0.99 * (np.arange(1000) + 0.5) / 1000
# Smoothing of bin shares in the PSI, so an empty bin does not make it infinite.
_PSI_EPS = 1e-4


def numeric_test(sketch: Mapping[str, Any], values: np.ndarray) -> dict[str, Any]:
    """Kolmogorov-Smirnov and Wasserstein distance of present ``values`` against ``sketch``.

    The KS statistic of a quantile sketch is lowered by the sketch's resolution
    (0.5% of the mass) before its p-value is read, so the approximation never
    makes a test more eager. The p-value is the two-sample one, with the
    training count as the first sample. The Wasserstein distance, over the
    central 99% of the mass (where the sketch is exact to 0.5%), is in units of
    the training spread (robust SD), so it reads the same for any column.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x)]
    n_new, n_train = len(x), int(sketch.get("n", 0))
    out: dict[str, Any] = {"n_train": n_train, "n_new": n_new}
    if n_new == 0 or n_train == 0:
        return {**out, "ks": 0.0, "p_value": 1.0, "wasserstein": 0.0, "psi": 0.0, "shift": 0.0}
    knots = np.asarray(sketch["values"] if is_discrete(sketch) else sketch["quantiles"])
    grid = np.union1d(np.unique(x), knots)
    f_new = np.searchsorted(x, grid, side="right") / n_new
    f_new_left = np.searchsorted(x, grid, side="left") / n_new
    d = float(
        max(
            np.max(np.abs(cdf(sketch, grid) - f_new)),
            np.max(np.abs(cdf(sketch, grid, left=True) - f_new_left)),
        )
    )
    d_test = d if is_discrete(sketch) else max(d - RESOLUTION, 0.0)
    n_eff = n_train * n_new / (n_train + n_new)
    p = float(stats.kstwo.sf(d_test, max(1, round(n_eff)))) if d_test > 0 else 1.0
    q_train = quantile(sketch, _W_PROBS)
    q_new = np.quantile(x, _W_PROBS)
    unit = spread(sketch)
    median_new = float(np.median(x))
    return {
        **out,
        "ks": d,
        "p_value": min(max(p, 0.0), 1.0),
        "wasserstein": float(np.mean(np.abs(q_new - q_train)) / unit),
        # Signed: the mean of the quantile differences, in training spreads.
        "shift": float(np.mean(q_new - q_train) / unit),
        "psi": numeric_psi(sketch, x),
        "median_train": float(sketch["median"]),
        "median_new": median_new,
        "iqr_train": float(np.subtract(*quantile(sketch, np.array([0.75, 0.25])))),
        "iqr_new": float(np.subtract(*np.quantile(x, [0.75, 0.25]))),
    }


def numeric_psi(sketch: Mapping[str, Any], x: np.ndarray) -> float:
    """Population stability index over the training deciles (values, when few)."""
    if is_discrete(sketch):
        values = np.asarray(sketch["values"], dtype=np.float64)
        edges = (values[1:] + values[:-1]) / 2 if len(values) > 1 else np.empty(0)
    else:
        edges = np.unique(quantile(sketch, np.linspace(0.1, 0.9, 9)))
    expected = np.diff(np.concatenate([[0.0], cdf(sketch, edges), [1.0]]))
    counts = np.diff(np.concatenate([[0], np.searchsorted(x, edges, side="right"), [len(x)]]))
    return psi(expected, counts / max(len(x), 1))


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins.

    >>> round(psi(np.array([0.5, 0.5]), np.array([0.6, 0.4])), 4)
    0.0405
    """
    e = np.clip(np.asarray(expected, dtype=np.float64), _PSI_EPS, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), _PSI_EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def level_test(sketch: Mapping[str, Any], new_counts: Mapping[str, int]) -> dict[str, Any]:
    """Chi-squared test of the level counts of new data against the training counts.

    A 2 x k table (training, new) over the levels; levels whose expected count
    in either row is under 5 are pooled into one bucket (with the training
    levels not kept in the sketch and the levels never seen at training), as
    the chi-squared approximation needs. The effect size is the total
    variation distance between the two level distributions (half the sum of
    absolute share differences, 0 to 1).
    """
    train = {str(k): int(v) for k, v in sketch["counts"].items()}
    other = int(sketch.get("other", 0))
    n_train = sum(train.values()) + other
    n_new = int(sum(new_counts.values()))
    base = {"n_train": n_train, "n_new": n_new}
    unseen = [k for k in new_counts if k not in train]
    # Levels never seen in training: certain only when the sketch kept every level.
    new_levels = sorted(unseen, key=lambda k: -new_counts[k]) if other == 0 else []
    expected_present = [k for k, v in train.items() if v / max(n_train, 1) * n_new >= 10]
    vanished = [k for k in expected_present if new_counts.get(k, 0) == 0]
    if n_new == 0 or n_train == 0:
        return {
            **base,
            "chi2": 0.0,
            "p_value": 1.0,
            "tvd": 0.0,
            "psi": 0.0,
            "new_levels": [],
            "vanished_levels": [],
            "shares": {},
        }
    levels = list(train)
    t = np.array([train[k] for k in levels] + [other + 0], dtype=np.float64)
    a = np.array([new_counts.get(k, 0) for k in levels] + [sum(new_counts[k] for k in unseen)])
    total = t.sum() + a.sum()
    expected_min = (t + a) * min(t.sum(), a.sum()) / total
    keep = expected_min >= 5
    keep[-1] = False  # the rest-and-unseen bucket is always pooled
    table = np.array(
        [
            np.append(t[keep], t[~keep].sum()),
            np.append(a[keep], a[~keep].sum()),
        ]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        chi2, p = 0.0, 1.0
    else:
        chi2, p = stats.chi2_contingency(table, correction=False)[:2]
    tvd = 0.5 * float(np.abs(t / t.sum() - a / a.sum()).sum())
    shares = {
        k: (train.get(k, 0) / n_train, new_counts.get(k, 0) / n_new)
        for k in sorted(set(train) | set(new_counts), key=lambda k: -(train.get(k, 0)))[:50]
    }
    return {
        **base,
        "chi2": float(chi2),
        "p_value": float(min(max(p, 0.0), 1.0)),
        "tvd": tvd,
        "psi": psi(table[0] / table[0].sum(), table[1] / table[1].sum()),
        "new_levels": [(k, new_counts[k] / n_new) for k in new_levels[:20]],
        "n_new_levels": len(new_levels),
        "vanished_levels": [(k, train[k] / n_train) for k in vanished[:20]],
        "shares": shares,
    }


def proportion_test(k0: int, n0: int, k1: int, n1: int) -> dict[str, float]:
    """Two-sided test that ``k0/n0`` and ``k1/n1`` are the same rate, with Cohen's h.

    Fisher's exact test when a cell is small, the pooled z-test otherwise.
    Cohen's h (the difference of arcsine square roots) is the effect size: 0.2
    is "small" on Cohen's scale whatever the base rate.

    >>> r = proportion_test(10, 1000, 40, 1000)
    >>> r["p_value"] < 1e-4, round(r["h"], 2)
    (True, 0.2)
    """
    p0 = k0 / n0 if n0 else 0.0
    p1 = k1 / n1 if n1 else 0.0
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0)))
    out = {"rate_train": p0, "rate_new": p1, "h": h}
    if n0 == 0 or n1 == 0 or k0 + k1 == 0 or k0 + k1 == n0 + n1:
        return {**out, "p_value": 1.0}
    table = np.array([[k0, n0 - k0], [k1, n1 - k1]])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    if expected.min() < 10:
        p = float(stats.fisher_exact(table)[1])
    else:
        pooled = (k0 + k1) / (n0 + n1)
        z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
        p = float(2 * stats.norm.sf(abs(z)))
    return {**out, "p_value": min(max(p, 0.0), 1.0)}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: family-wise error control over all checks.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return [round(float(v), 12) for v in out]
