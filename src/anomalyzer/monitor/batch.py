"""Batch drift: compare a table of new rows with what a model saw at fit.

Checks, in the order they are reported:

1. the anomaly score distribution (Kolmogorov-Smirnov, Wasserstein, PSI) and
   the flag rate (Fisher / z test) - what a user of the model feels first;
2. per feature column: numeric columns by Kolmogorov-Smirnov with the
   Wasserstein distance and PSI; categorical and boolean ones by a chi-squared
   test of their level counts with the total variation distance, PSI, new and
   vanished levels; every column by a test of its missing share;
3. all columns at once: a domain classifier's ROC-AUC (see
   :mod:`anomalyzer.monitor.domain`).

The rule (:class:`DriftRules`): a check reports drift only when **both**

- its p-value, adjusted by Holm's method over all checks of the batch, is
  below ``alpha`` (0.01): the change is not noise, whatever the batch size, and
  the family of checks together raises a false alarm in about 1% of clean
  batches at most; and
- its effect size reaches a floor that does not depend on the batch size:
  KS >= 0.05 (5% of the mass crossed some value), total variation >= 0.05,
  Cohen's h >= 0.2 for missing shares and >= 0.1 for the flag rate, domain AUC
  >= 0.55;

and the batch has at least ``min_rows`` (30) rows. So a million rows do not
turn trivial differences into drift (the floors), eight rows never raise an
alarm, and a few hundred rows raise one only for a change the p-value can
back.

>>> import pandas as pd, anomalyzer as az
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(50, 10, 3000), "y": rng.normal(size=3000)})
>>> model = az.Model("mad").fit(df)
>>> model.monitor(df.sample(500, random_state=1)).drifted
False
>>> moved = df.sample(500, random_state=2).assign(x=lambda d: d.x + 8)
>>> report = model.monitor(moved)
>>> report.drifted, report.drifted_columns[0]
(True, 'x')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from anomalyzer.data import read_table
from anomalyzer.data.roles import as_text, column_lookup
from anomalyzer.data.sketches import numeric_sketch, numeric_values_of, rounded, table_sketch
from anomalyzer.errors import AnomalyzerError
from anomalyzer.monitor.checks import ALL_COLUMNS, FLAG_RATE, SCORES, Check
from anomalyzer.monitor.domain import domain_test
from anomalyzer.monitor.univariate import holm, level_test, numeric_test, proportion_test
from anomalyzer.monitor.verdict import verdict

if TYPE_CHECKING:
    from anomalyzer.model import Model


@dataclass(frozen=True)
class DriftRules:
    """When a check counts as drift (see the module docstring for the reasoning)."""

    alpha: float = 0.01
    min_rows: int = 30
    ks: float = 0.05
    tvd: float = 0.05
    missing_h: float = 0.2
    flag_h: float = 0.1
    auc: float = 0.55
    multivariate: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise AnomalyzerError(f"alpha must be between 0 and 1, not {self.alpha!r}.")
        if self.min_rows < 1:
            raise AnomalyzerError(f"min_rows must be at least 1, not {self.min_rows!r}.")


@dataclass
class DriftReport:
    """The outcome of :func:`monitor`: every check, the verdict, and sketches for plots."""

    n_train: int
    n_new: int
    rules: DriftRules
    checks: list[Check]
    train_sketch: dict[str, Any]
    new_sketch: dict[str, Any]
    enough_rows: bool = True

    @property
    def drifted(self) -> bool:
        """True when any check reports drift."""
        return any(c.drifted for c in self.checks)

    @property
    def drifted_columns(self) -> list[str]:
        """Feature columns with drift, the most drifted first."""
        best: dict[str, float] = {}
        for c in self.checks:
            if c.drifted and c.subject not in (SCORES, FLAG_RATE, ALL_COLUMNS):
                best[c.subject] = max(best.get(c.subject, 0.0), c.severity)
        return sorted(best, key=lambda k: -best[k])

    def check(self, subject: str, aspect: str = "distribution") -> Check | None:
        """The check of ``subject`` (a column, SCORES, FLAG_RATE, ALL_COLUMNS) and ``aspect``."""
        for c in self.checks:
            if c.subject == subject and c.aspect == aspect:
                return c
        return None

    @property
    def verdict(self) -> str:
        """The outcome in words, most important first."""
        return verdict(self)

    @property
    def exit_code(self) -> int:
        """0 when no drift, 3 when drift (the command line's exit code)."""
        return 3 if self.drifted else 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the verdict, the rules and every check."""
        return {
            "drifted": self.drifted,
            "verdict": self.verdict,
            "n_train": self.n_train,
            "n_new": self.n_new,
            "enough_rows": self.enough_rows,
            "drifted_columns": self.drifted_columns,
            "rules": asdict(self.rules),
            "checks": [_plain(asdict(c)) for c in self.checks],
        }


def monitor(
    model: Model, data: Any, *, rules: DriftRules | None = None, **read: Any
) -> DriftReport:
    """Compare ``data`` (a path, URL or DataFrame) with what ``model`` saw at fit.

    Rules are the defaults of :class:`DriftRules` unless given. New rows are
    scored by ``model.score_frame``, the one scoring path.
    """
    rules = rules or DriftRules()
    model._check_fitted()
    sketch = getattr(model, "sketch_", None)
    if not sketch:
        raise AnomalyzerError(
            "This model keeps no training sketches (it was saved by an older anomalyzer); "
            "fit it again to monitor drift."
        )
    df = read_table(data, **read) if not isinstance(data, pd.DataFrame) else data
    scored = model.score_frame(df, max_explained=0)
    scores = scored["anomaly_score"].to_numpy(dtype=np.float64)
    flags = scored["is_anomaly"].to_numpy(dtype=bool)
    n_train, n_new = int(sketch["n_rows"]), len(df)

    checks = [_score_check(sketch["scores"], scores, rules)]
    checks.append(_flag_check(sketch, flags, rules))
    lookup = column_lookup(df)
    columns = sketch["columns"]
    for name, col_sketch in columns.items():
        if name not in lookup:
            continue  # score_frame has already refused data without a feature column
        s = df[lookup[name]]
        checks.extend(_column_checks(name, col_sketch, s, rules))
    if rules.multivariate and sketch.get("rows"):
        checks.append(_domain_check(model, sketch, df, rules))

    for c, p in zip(checks, holm([c.p_value for c in checks]), strict=True):
        c.p_adjusted = p
    enough = n_new >= rules.min_rows
    for c in checks:
        floor_met = c.effect >= c.floor
        if c.aspect == "distribution" and c.subject not in (SCORES, ALL_COLUMNS):
            floor_met = floor_met or _new_levels_matter(c, rules)
        c.drifted = enough and c.p_adjusted < rules.alpha and floor_met
    new_sketch = {
        "columns": table_sketch(df, model.schema),
        "scores": numeric_sketch(scores),
        "flagged": int(flags.sum()),
        "n_rows": n_new,
    }
    return DriftReport(n_train, n_new, rules, checks, sketch, new_sketch, enough)


def _new_levels_matter(c: Check, rules: DriftRules) -> bool:
    # Levels never seen in training covering a tvd-floor share of the rows are drift on
    # their own, even when the rest of the distribution hides them in the TVD.
    share = sum(s for _, s in c.details.get("new_levels", []))
    return share >= rules.tvd


def _score_check(train: dict[str, Any], scores: np.ndarray, rules: DriftRules) -> Check:
    r = numeric_test(train, scores)
    return Check(
        SCORES,
        "distribution",
        "Kolmogorov-Smirnov",
        r["ks"],
        r["p_value"],
        "KS",
        r["ks"],
        rules.ks,
        r,
    )


def _flag_check(sketch: dict[str, Any], flags: np.ndarray, rules: DriftRules) -> Check:
    n0 = int(sketch["scores"]["n_rows"])
    r = proportion_test(int(sketch["flagged"]), n0, int(flags.sum()), len(flags))
    return Check(
        FLAG_RATE, "rate", "proportions", r["h"], r["p_value"], "Cohen's h", r["h"], rules.flag_h, r
    )


def _column_checks(
    name: str, sketch: dict[str, Any], s: pd.Series, rules: DriftRules
) -> list[Check]:
    out = []
    n_new = len(s)
    if sketch["kind"] == "numeric":
        x = numeric_values_of(s)
        missing = int(np.isnan(x).sum())
        r = numeric_test(sketch, x)
        out.append(
            Check(
                name,
                "distribution",
                "Kolmogorov-Smirnov",
                r["ks"],
                r["p_value"],
                "KS",
                r["ks"],
                rules.ks,
                r,
            )
        )
    else:
        text = as_text(s)
        missing = int(text.isna().sum())
        counts = {str(k): int(v) for k, v in text.value_counts(dropna=True).items()}
        r = level_test(sketch, counts)
        out.append(
            Check(
                name,
                "distribution",
                "chi-squared",
                r["chi2"],
                r["p_value"],
                "total variation",
                r["tvd"],
                rules.tvd,
                r,
            )
        )
    if sketch["missing"] or missing:
        m = proportion_test(int(sketch["missing"]), int(sketch["n_rows"]), missing, n_new)
        out.append(
            Check(
                name,
                "missing share",
                "proportions",
                m["h"],
                m["p_value"],
                "Cohen's h",
                m["h"],
                rules.missing_h,
                m,
            )
        )
    return out


def _domain_check(
    model: Model, sketch: dict[str, Any], df: pd.DataFrame, rules: DriftRules
) -> Check:
    reference = np.asarray(sketch["rows"], dtype=np.float64)
    # Encode no more new rows than the classifier will use.
    take = min(len(df), len(reference))
    rows = np.sort(np.random.default_rng(1).choice(len(df), take, replace=False))
    new = rounded(model.transform(df.iloc[rows])) if take else np.empty((0, reference.shape[1]))
    sources = list(model.preprocessor_.feature_sources_)
    # Date features are left out, as in the column checks: new rows are later by nature.
    dates = set(model.schema.by_role("datetime"))
    keep = [i for i, s in enumerate(sources) if s not in dates]
    r = domain_test(reference[:, keep], new[:, keep], [sources[i] for i in keep])
    return Check(
        ALL_COLUMNS,
        "rows",
        "domain classifier",
        r["auc"],
        r["p_value"],
        "ROC-AUC",
        r["auc"],
        rules.auc,
        r,
    )


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, tuples to lists, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
