"""The multivariate check: can a classifier tell training rows from new rows?

A gradient-boosted classifier learns to separate the encoded training sample
kept in the model from an equal-sized sample of new rows; its ROC-AUC on
held-out folds (3-fold cross-validation) is the effect size: 0.5 means the two
are indistinguishable, 1 means every row gives itself away. This catches what
column-by-column tests miss (a change in how columns move together). Under no
drift the held-out AUC is a Mann-Whitney statistic centred on 0.5, which gives
the one-sided p-value. The columns that separate them are ranked by how much
the held-out AUC falls when a column's features are shuffled (only when the AUC is
significant at 5%: a batch like the training data has nothing to explain).

>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(400, 3))
>>> moved = rng.normal(size=(400, 3)) + [0, 0, 2.0]
>>> r = domain_test(ref, moved, ["a", "b", "c"])
>>> r["auc"] > 0.75, r["columns"][0][0]
(True, 'c')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

# Fewest rows on each side for the check to run at all.
MIN_ROWS = 30
# The columns that separate the rows are ranked only when the AUC is this unlikely by chance.
EXPLAIN_P = 0.05


def domain_test(
    reference: np.ndarray,
    new: np.ndarray,
    sources: Sequence[str],
    *,
    random_state: int = 0,
) -> dict[str, Any]:
    """Cross-validated ROC-AUC of a classifier telling ``new`` rows from ``reference`` rows.

    ``sources`` names the original column of each feature; the result lists
    columns with the AUC lost when their features are shuffled, largest first.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(random_state)
    n = min(len(reference), len(new))
    if n < MIN_ROWS:
        return {"auc": 0.5, "p_value": 1.0, "n": n, "columns": [], "ran": False}
    ref = reference[rng.choice(len(reference), n, replace=False)]
    cur = new[rng.choice(len(new), n, replace=False)]
    X = np.vstack([ref, cur])
    y = np.r_[np.zeros(n), np.ones(n)]
    groups = {c: [i for i, s in enumerate(sources) if s == c] for c in dict.fromkeys(sources)}
    pred = np.empty(len(y))
    folds = StratifiedKFold(3, shuffle=True, random_state=random_state)
    # One thread: on small data, OpenMP threads cost more than they give, many times
    # more on a busy machine.
    with threadpool_limits(1):
        fitted = _cross_fit(X, y, folds, pred, random_state)
        auc = float(roc_auc_score(y, pred))
        # Standard error of a Mann-Whitney AUC under no difference (n rows per side).
        se = math.sqrt((2 * n + 1) / (12 * n * n))
        p = float(stats.norm.sf((auc - 0.5) / se))
        # Which columns separate the rows is asked only when they can be separated.
        loss = _column_losses(X, y, fitted, groups, rng) if p < EXPLAIN_P else {}
    ranked = sorted(((c, float(v)) for c, v in loss.items()), key=lambda t: -t[1])
    return {"auc": auc, "p_value": p, "n": n, "columns": ranked, "ran": True}


def _cross_fit(
    X: np.ndarray, y: np.ndarray, folds: Any, pred: np.ndarray, random_state: int
) -> list[tuple[Any, np.ndarray]]:
    """Held-out predictions into ``pred``; each fold's classifier with its held-out rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    fitted = []
    for fit_idx, test_idx in folds.split(X, y):
        # Small trees, few rounds: a shift shows in a few splits; more buys little AUC.
        clf = HistGradientBoostingClassifier(
            max_iter=30,
            max_leaf_nodes=8,
            max_bins=64,
            early_stopping=False,
            random_state=random_state,
        )
        clf.fit(X[fit_idx], y[fit_idx])
        pred[test_idx] = clf.predict_proba(X[test_idx])[:, 1]
        fitted.append((clf, test_idx))
    return fitted


def _column_losses(
    X: np.ndarray,
    y: np.ndarray,
    fitted: list[tuple[Any, np.ndarray]],
    groups: dict[str, list[int]],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Per column, the held-out AUC lost when its features are shuffled (mean over folds)."""
    from sklearn.metrics import roc_auc_score

    loss = dict.fromkeys(groups, 0.0)
    for clf, test_idx in fitted:
        Xt, yt = X[test_idx], y[test_idx]
        base = roc_auc_score(yt, clf.predict_proba(Xt)[:, 1])
        for c, cols in groups.items():
            shuffled = Xt.copy()
            shuffled[:, cols] = Xt[rng.permutation(len(Xt))][:, cols]
            loss[c] += (base - roc_auc_score(yt, clf.predict_proba(shuffled)[:, 1])) / len(fitted)
    return loss
