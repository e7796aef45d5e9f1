"""Automatic thresholds on ADBench: F1 at ``contamination="auto"`` against the best F1.

Run with ``python benchmarks/thresholds.py --help``. Each detector (default
``auto``) is fitted without labels on all rows of each data set with
``contamination="auto"``; the rows above its threshold are its flags. Per
data set the script prints the true and the flagged share, the F1 of the
flags, the best F1 over all thresholds of the same scores, their ratio and
the ROC-AUC, and marks the data sets where fewer than a tenth of the true
count is flagged although the ROC-AUC is above 0.9 (a usable ranking with an
unusable threshold). The means are printed per half of the fixed split of
``benchmarks/adbench.py`` and over all data sets.

``--tail-z`` takes candidate values of the threshold's constant
(:data:`anomalyzer.thresholds.TAIL_Z`): the value with the best mean ratio on
one half is reported on the other, both ways, and the clean-data share (rows
flagged among 100,000 standard normal scores) is printed next to each.
Results go to ``benchmarks/results/thresholds.csv`` and ``thresholds.md``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from adbench import DATA, half_of
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score

from anomalyzer import benchmarking, detectors
from anomalyzer.thresholds import TAIL_Z, auto_threshold

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "thresholds.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default="auto", help="comma-separated names (default auto)")
    parser.add_argument("--datasets", help="comma-separated parts of file names; default: all")
    parser.add_argument(
        "--tail-z", default="3,2.5,2,1.5", help="candidate cuts for the cross-half choice"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV file to write")
    parser.add_argument("--data", type=Path, default=DATA, help=f"data folder (default: {DATA})")
    return parser.parse_args(argv)


def best_f1(y: np.ndarray, scores: np.ndarray) -> float:
    """The best F1 over all thresholds of ``scores``.

    >>> best_f1(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.8
    """
    precision, recall, _ = precision_recall_curve(y, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-300)
    return float(np.max(f1))


def flag_row(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Flagged share, F1 at ``threshold``, best F1 and their ratio."""
    flags = scores > threshold
    f1 = float(f1_score(y, flags)) if flags.any() else 0.0
    best = best_f1(y, scores)
    return {
        "true_share": float(y.mean()),
        "flagged_share": float(flags.mean()),
        "f1_auto": f1,
        "f1_best": best,
        "ratio": f1 / best if best > 0 else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"ADBench data not found at {args.data}; nothing to benchmark.")
        return 0
    warnings.simplefilter("ignore")
    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    cuts = [float(c) for c in args.tail_z.split(",") if c.strip()]
    paths = benchmarking.find_datasets(
        args.data, [p for p in (args.datasets or "").split(",") if p]
    )
    rows = []
    for path in paths:
        X, y = benchmarking.load_dataset(path)
        for name in names:
            params = {"random_state": 0} if detectors.accepts(name, "random_state") else {}
            det = detectors.make(name, contamination="auto", **params).fit(X)
            scores = det.decision_scores_
            auc = float(roc_auc_score(y, scores))
            base = {
                "dataset": benchmarking.dataset_name(path),
                "half": half_of(path),
                "detector": name,
                "roc_auc": auc,
            }
            for cut in cuts:
                threshold = det.threshold_ if cut == TAIL_Z else auto_threshold(scores, cut)
                row = {**base, "tail_z": cut, **flag_row(y, scores, threshold)}
                row["under_tenth"] = bool(
                    row["flagged_share"] < row["true_share"] / 10 and auc > 0.9
                )
                rows.append(row)
            default = rows[-len(cuts) + cuts.index(TAIL_Z)] if TAIL_Z in cuts else rows[-1]
            print(
                f"{base['dataset']:<14} {name:<8} true {default['true_share']:.3f}  flagged "
                f"{default['flagged_share']:.3f}  F1 {default['f1_auto']:.3f} / best "
                f"{default['f1_best']:.3f}",
                flush=True,
            )
    df = pd.DataFrame(rows)
    text, md = report(df, cuts)
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(f"\nWrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def clean_share(cut: float, n: int = 100_000) -> float:
    """Share flagged among ``n`` standard normal scores (no anomalies) with this cut."""
    scores = np.random.default_rng(0).normal(size=n)
    return float((scores > auto_threshold(scores, cut)).mean())


def report(df: pd.DataFrame, cuts: list[float]) -> tuple[str, str]:
    """Per data set (at the default cut), per half and the cross-half choice; text and markdown."""
    fmt, mdt = benchmarking.format_table, benchmarking.markdown_table
    default = TAIL_Z if TAIL_Z in cuts else cuts[0]
    per_set = df[df["tail_z"] == default].drop(columns="tail_z")
    means = df.groupby(["detector", "tail_z", "half"])["ratio"].mean().unstack("half").reset_index()
    means["all"] = df.groupby(["detector", "tail_z"])["ratio"].mean().to_numpy()
    means["under_tenth"] = df.groupby(["detector", "tail_z"])["under_tenth"].sum().to_numpy()
    means["clean_share"] = means["tail_z"].map(clean_share)
    choice = []
    for name, part in means.groupby("detector"):
        for chose_on, other in (("A", "B"), ("B", "A")):
            if chose_on not in part or other not in part:
                continue
            pick = part.loc[part[chose_on].idxmax()]
            choice.append(
                {
                    "detector": name,
                    "chosen_on": chose_on,
                    "tail_z": pick["tail_z"],
                    "ratio_chosen_half": pick[chose_on],
                    "reported_on": other,
                    "ratio_other_half": pick[other],
                }
            )
    choice_df = pd.DataFrame(choice)
    t1 = f"Per data set at tail_z = {default:g} (ratio = F1 at the automatic threshold / best F1)"
    t2 = "Mean ratio per half and cut; under_tenth counts sets flagged < 1/10 of the true count at ROC-AUC > 0.9; clean_share: flagged share of 100,000 normal scores"
    t3 = "Cut chosen on one half by mean ratio, reported on the other"
    text = [t1, fmt(per_set, 3), "", t2, fmt(means, 3)]
    md = ["# Automatic thresholds on ADBench", "", f"## {t1}", "", mdt(per_set, 3), "", f"## {t2}"]
    md += ["", mdt(means, 3)]
    if not choice_df.empty:
        text += ["", t3, fmt(choice_df, 3)]
        md += ["", f"## {t3}", "", mdt(choice_df, 3)]
    return "\n".join(text), "\n".join(md) + "\n"


if __name__ == "__main__":
    sys.exit(main())
