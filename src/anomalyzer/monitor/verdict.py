"""A drift report in words: what moved, which way, by how much.

>>> number(47.234), number(0.00412), number(12345.6), percent(0.029)
('47.2', '0.00412', '12,346', '2.9%')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anomalyzer.monitor.checks import ALL_COLUMNS, FLAG_RATE, SCORES, Check

if TYPE_CHECKING:
    from anomalyzer.monitor.batch import DriftReport


def number(v: float) -> str:
    """A value for a sentence: three significant digits, thousands grouped."""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def percent(p: float) -> str:
    """A share as a percentage with one decimal (two below 0.1%)."""
    return f"{100 * p:.2f}%" if 0 < p < 0.001 else f"{100 * p:.1f}%"


def verdict(report: DriftReport) -> str:
    """The whole verdict: a first sentence, then one phrase per drifted check."""
    return "\n".join(verdict_lines(report))


def verdict_lines(report: DriftReport) -> list[str]:
    """The first sentence, then a phrase per drifted check, most important first."""
    rows = f"{report.n_new:,} new row{'s' if report.n_new != 1 else ''}"
    flag = report.check(FLAG_RATE, "rate")
    scores = report.check(SCORES)
    context = []
    if scores is not None and "median_new" in scores.details:
        d = scores.details
        context.append(f"score median {number(d['median_train'])} -> {number(d['median_new'])}")
    if flag is not None:
        context.append(f"flag rate {_rates(flag)}")
    if not report.enough_rows:
        return [
            f"Too few rows to judge drift: {rows}, fewer than the {report.rules.min_rows} the "
            f"rule needs ({'; '.join(context)})."
        ]
    if not report.drifted:
        return [
            f"No drift: {rows} look like the {report.n_train:,} training rows "
            f"({'; '.join(context)})."
        ]
    drifted = [c for c in report.checks if c.drifted]
    n_cols = len(report.drifted_columns)
    head = f"Drift in {rows}: " + ", ".join(
        part
        for part in (
            "scores" if any(c.subject == SCORES for c in drifted) else "",
            "flag rate" if any(c.subject == FLAG_RATE for c in drifted) else "",
            f"{n_cols} column{'s' if n_cols != 1 else ''}" if n_cols else "",
            "rows as a whole" if any(c.subject == ALL_COLUMNS for c in drifted) else "",
        )
        if part
    )
    lines = [head + "."]
    order = {SCORES: -3, FLAG_RATE: -2}
    rank = {name: i for i, name in enumerate(report.drifted_columns)}
    drifted.sort(key=lambda c: order.get(c.subject, rank.get(c.subject, 10**6)))
    lines.extend(phrase(c) for c in drifted)
    if flag is not None and not flag.drifted:
        lines.append(f"flag rate {_rates(flag)} (within noise)")
    return lines


def phrase(c: Check) -> str:
    """One drifted check in words."""
    d = c.details
    if c.subject == FLAG_RATE:
        return f"flag rate {_rates(c)}"
    if c.subject == ALL_COLUMNS:
        top = [name for name, loss in d.get("columns", [])[:3] if loss > 0]
        by = f", mostly by {', '.join(top)}" if top else ""
        return f"new rows can be told from training rows (domain classifier ROC-AUC {c.effect:.2f}){by}"
    name = "anomaly scores" if c.subject == SCORES else c.subject
    if c.aspect == "missing share":
        return f"{name} missing share {percent(d['rate_train'])} -> {percent(d['rate_new'])}"
    if "wasserstein" in d:
        return (
            f"{name} {_numeric_change(d)}, Wasserstein {d['wasserstein']:.2f} SD, KS {d['ks']:.2f}"
        )
    return f"{name} {_level_change(d)}"


def _rates(c: Check) -> str:
    return f"{percent(c.details['rate_train'])} -> {percent(c.details['rate_new'])}"


def _numeric_change(d: dict) -> str:
    medians = f"median {number(d['median_train'])} -> {number(d['median_new'])}"
    if abs(d["shift"]) >= 0.5 * d["wasserstein"]:
        return f"drifted {'upward' if d['shift'] > 0 else 'downward'}: {medians}"
    iqr_train, iqr_new = d["iqr_train"], d["iqr_new"]
    if iqr_train > 0 and iqr_new > 0 and max(iqr_new / iqr_train, iqr_train / iqr_new) >= 1.2:
        way = "widened" if iqr_new > iqr_train else "narrowed"
        return f"spread {way}: IQR {number(iqr_train)} -> {number(iqr_new)}, {medians}"
    return f"changed shape: {medians}"


def _level_change(d: dict) -> str:
    parts = []
    new = d.get("new_levels", [])
    if new:
        shown = ", ".join(f"{k!r} ({percent(s)})" for k, s in new[:3])
        more = d.get("n_new_levels", len(new)) - min(len(new), 3)
        parts.append(
            f"new level{'s' if len(new) > 1 else ''} {shown}{f' and {more} more' if more > 0 else ''}"
        )
    gone = d.get("vanished_levels", [])
    if gone:
        shown = ", ".join(f"{k!r} ({percent(s)} in training)" for k, s in gone[:3])
        parts.append(f"vanished {shown}")
    shares = d.get("shares", {})
    if shares:
        level, (before, after) = max(shares.items(), key=lambda kv: abs(kv[1][1] - kv[1][0]))
        if abs(after - before) >= 0.01 and not any(level == k for k, _ in new):
            parts.append(f"{level!r} {percent(before)} -> {percent(after)}")
    what = "; ".join(parts) if parts else "level shares changed"
    return f"changed: {what}, total variation {d['tvd']:.2f}"
