"""Retraining: fit a challenger on recent data, compare it with the champion, decide.

:func:`retrain` takes the model in use (the champion) and new rows in time
order (latest last):

1. the window: the last ``window`` rows (all by default; in the order of a
   ``time`` column when one is named), optionally after a
   ``reference`` table (reference + recent instead of a sliding window);
2. the most recent ``holdout`` share of the window is kept aside; a challenger
   with the champion's settings (detector, contamination, roles, exclusions,
   seed) is fitted on the rest;
3. both score the held-out slice through ``score_frame``; their agreement is
   the Spearman rank correlation of the scores, the overlap of the flagged
   rows (Jaccard: shared / either), and each one's flag rate against the
   target (the champion's contamination, or its flag rate at fit when that was
   ``"auto"``);
4. the champion is monitored on the window (:func:`~anomalyzer.monitor.monitor`).

The promotion rule (:class:`PromotionRule`) holds when **all** of these do:

- the challenger was fitted on at least ``min_rows`` rows (500);
- the champion has drifted on the new rows (``require_drift``): a model that
  still fits is not replaced;
- the challenger's flag rate on the held-out slice is within
  ``rate_tolerance`` (50%) of the target, or within three binomial standard
  errors of it on a small slice;
- the challenger ranks the held-out rows like the champion at least a little
  (Spearman >= ``min_rank_correlation``, 0.3): a challenger that disagrees
  completely has learned something else (a burst of anomalies, a broken
  feed) and deserves a look before it replaces anything.

Each part can be changed, and ``force`` promotes regardless; the decision
lists every reason it was refused.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from anomalyzer.data import read_table
from anomalyzer.errors import AnomalyzerError
from anomalyzer.monitor.batch import DriftReport, _plain, monitor
from anomalyzer.monitor.verdict import percent

if TYPE_CHECKING:
    from anomalyzer.model import Model


@dataclass(frozen=True)
class PromotionRule:
    """When a challenger may replace the champion (see the module docstring)."""

    min_rows: int = 500
    require_drift: bool = True
    rate_tolerance: float = 0.5
    min_rank_correlation: float = 0.3


@dataclass
class Decision:
    """Whether to promote, and every reason against it."""

    promote: bool
    reasons: list[str] = field(default_factory=list)
    forced: bool = False

    @property
    def text(self) -> str:
        if self.forced:
            return "Promote (forced): " + "; ".join(self.reasons or ["the rule holds"]) + "."
        if self.promote:
            return "Promote: the challenger meets the rule."
        return "Keep the champion: " + "; ".join(self.reasons) + "."


@dataclass
class RetrainResult:
    """The challenger, its agreement with the champion, the champion's drift and the decision."""

    challenger: Model
    agreement: dict[str, Any]
    drift: DriftReport
    decision: Decision
    rule: PromotionRule

    def to_dict(self) -> dict[str, Any]:
        return _plain(
            {
                "promote": self.decision.promote,
                "decision": self.decision.text,
                "reasons": self.decision.reasons,
                "forced": self.decision.forced,
                "agreement": self.agreement,
                "rule": asdict(self.rule),
                "drift": {
                    "drifted": self.drift.drifted,
                    "verdict": self.drift.verdict,
                    "drifted_columns": self.drift.drifted_columns,
                },
            }
        )


def retrain(
    model: Model,
    data: Any,
    *,
    window: int | None = None,
    reference: Any = None,
    holdout: float = 0.2,
    time: str | None = None,
    rule: PromotionRule | None = None,
    force: bool = False,
    **read: Any,
) -> RetrainResult:
    """Fit a challenger on the recent rows of ``data`` and decide whether it replaces ``model``.

    Rows are taken in the order given, latest last, or in the order of the
    ``time`` column (dates or numbers) when it is named.
    """
    rule = rule or PromotionRule()
    model._check_fitted()
    if not 0 < holdout < 1:
        raise AnomalyzerError(f"holdout must be a share between 0 and 1, not {holdout!r}.")
    df = data if isinstance(data, pd.DataFrame) else read_table(data, **read)
    if time is not None:
        df = _in_time_order(df, time)
    if window is not None:
        if window < 2:
            raise AnomalyzerError(f"window must be at least 2 rows, not {window!r}.")
        df = df.iloc[-window:]
    n_hold = max(1, math.ceil(holdout * len(df)))
    if len(df) - n_hold < 2:
        raise AnomalyzerError(
            f"The window holds {len(df)} row(s): too few to fit a challenger and keep "
            f"{holdout:.0%} aside; give more rows or a larger --window."
        )
    fit_rows, held = df.iloc[:-n_hold], df.iloc[-n_hold:]
    if reference is not None:
        ref = reference if isinstance(reference, pd.DataFrame) else read_table(reference)
        fit_rows = pd.concat([ref, fit_rows], ignore_index=True)
    challenger = _challenger(model, fit_rows)
    agreement = _agreement(model, challenger, held)
    agreement["n_fit"] = len(fit_rows)
    drift = monitor(model, df)
    decision = decide(agreement, drift, rule, force=force)
    return RetrainResult(challenger, agreement, drift, decision, rule)


def _in_time_order(df: pd.DataFrame, time: str) -> pd.DataFrame:
    if time not in df.columns:
        raise AnomalyzerError(
            f"Time column '{time}' not found; the columns are: {', '.join(map(str, df.columns))}."
        )
    key = df[time]
    if not pd.api.types.is_numeric_dtype(key):
        key = pd.to_datetime(key, errors="coerce", format="mixed")
        if key.isna().all():
            raise AnomalyzerError(f"Column '{time}' holds no dates or numbers to order rows by.")
    # Stable: rows with the same time keep their order; rows without one come first.
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")]


def _challenger(model: Model, rows: pd.DataFrame) -> Model:
    from anomalyzer.model import Model

    label = model.label_ if model.label_ is not None and model.label_ in rows.columns else None
    challenger = Model(
        model.detector,
        contamination=model.contamination,
        exclude=model.exclude,
        roles=model.roles,
        random_state=model.random_state,
        **model.params,
    )
    return challenger.fit(rows, label=label)


def target_rate(model: Model) -> float:
    """The flag rate a model aims at: its contamination, or its flag rate at fit."""
    if isinstance(model.contamination, float):
        return model.contamination
    return float(np.mean(np.asarray(model.training_scores_) > model.threshold_))


def _agreement(champion: Model, challenger: Model, held: pd.DataFrame) -> dict[str, Any]:
    from scipy import stats

    a = champion.score_frame(held, max_explained=0)
    b = challenger.score_frame(held, max_explained=0)
    sa, sb = a["anomaly_score"].to_numpy(), b["anomaly_score"].to_numpy()
    fa, fb = a["is_anomaly"].to_numpy(bool), b["is_anomaly"].to_numpy(bool)
    either = int((fa | fb).sum())
    rho = stats.spearmanr(sa, sb).statistic if len(sa) > 2 else math.nan
    return {
        "n_holdout": len(held),
        "rank_correlation": float(rho) if np.isfinite(rho) else 0.0,
        "flag_overlap": float((fa & fb).sum() / either) if either else 1.0,
        "flag_rate_champion": float(fa.mean()),
        "flag_rate_challenger": float(fb.mean()),
        "target_rate": target_rate(champion),
    }


def decide(
    agreement: dict[str, Any], drift: DriftReport, rule: PromotionRule, *, force: bool = False
) -> Decision:
    """Apply ``rule`` to a comparison: promote, or the reasons not to.

    >>> from anomalyzer.monitor.batch import DriftReport, DriftRules
    >>> calm = DriftReport(1000, 900, DriftRules(), [], {}, {})
    >>> agreement = {"n_fit": 800, "n_holdout": 200, "rank_correlation": 0.8,
    ...              "flag_rate_challenger": 0.011, "target_rate": 0.01}
    >>> decide(agreement, calm, PromotionRule()).text
    'Keep the champion: the champion shows no drift on the new rows, so there is nothing to fix.'
    """
    reasons = []
    if agreement["n_fit"] < rule.min_rows:
        reasons.append(
            f"the challenger was fitted on {agreement['n_fit']:,} rows, fewer than the "
            f"{rule.min_rows:,} the rule asks"
        )
    if rule.require_drift and not drift.drifted:
        reasons.append("the champion shows no drift on the new rows, so there is nothing to fix")
    target, rate, n = (
        agreement["target_rate"],
        agreement["flag_rate_challenger"],
        agreement["n_holdout"],
    )
    tolerance = max(rule.rate_tolerance * target, 3 * math.sqrt(target * (1 - target) / n))
    if abs(rate - target) > tolerance:
        reasons.append(
            f"the challenger flags {percent(rate)} of the held-out rows, off the target "
            f"{percent(target)} by more than {percent(tolerance)}"
        )
    rho = agreement["rank_correlation"]
    if rho < rule.min_rank_correlation:
        reasons.append(
            f"the challenger ranks the held-out rows unlike the champion (Spearman {rho:.2f} "
            f"< {rule.min_rank_correlation:g})"
        )
    if force:
        return Decision(True, reasons, forced=True)
    return Decision(not reasons, reasons)
