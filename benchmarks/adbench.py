"""ADBench's classical data sets: every detector of the registry against PyOD's references.

Run with ``make bench`` or ``python benchmarks/adbench.py --help``. Each
detector is fitted without labels on all rows of each data set and scores
the same rows; ROC-AUC, average precision, fit + score seconds and peak
memory are printed, written long-form to a CSV file and summarised in a
markdown file next to it. The work is done by :mod:`anomalyzer.benchmarking`.

``--split`` adds the cross-half protocol. The data sets fall into two fixed
halves by a hash of their file name (the parity of the first byte of the
SHA-256 of, say, ``11_donors.npz``), decided before any result was seen and
never changed: 14 sets in half A, 15 in half B. The summary is printed per
half, and for every group of candidates given with ``--choose`` (variants of
one choice, such as ``auto[combine=rank],auto[combine=mean]``) the candidate
with the best mean ROC-AUC on one half is reported on the other, both ways:
that figure measures the choice on data it was not chosen on. When ``auto``
and ``pyod:iforest`` both ran, their seconds on the data sets over 10,000
rows are printed side by side. The tables go to ``<out>_split.md`` and
``<out>_split.csv``.

A detector name may carry parameters in brackets, ``name[key=value;key=value]``
(values are read as Python literals where they parse, else as text).
``--merge CSV`` adds the rows of an earlier run for detectors not run now, so
that slow references need not be rerun for every change.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from anomalyzer import benchmarking

# The PyOD references live beside this script, not in the package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pyod_reference

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "adbench.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--detectors",
        help="comma-separated detector names (registry names or pyod:iforest, pyod:ecod, "
        "pyod:knn); default: every registered detector and the three PyOD references",
    )
    parser.add_argument(
        "--datasets", help="comma-separated parts of data set file names; default: all"
    )
    parser.add_argument("--max-rows", type=int, help="skip data sets with more rows than this")
    parser.add_argument("--no-pyod", action="store_true", help="leave out the PyOD references")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"CSV file to write (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds before a run is stopped (default 600)"
    )
    parser.add_argument("--data", type=Path, default=DATA, help=f"data folder (default: {DATA})")
    parser.add_argument(
        "--split", action="store_true", help="also report per half of the fixed split"
    )
    parser.add_argument(
        "--choose",
        action="append",
        default=[],
        help="comma-separated candidates of one choice: chosen on one half, reported on the "
        "other (repeatable; implies --split)",
    )
    parser.add_argument(
        "--merge", type=Path, action="append", default=[], help="earlier results CSV to add"
    )
    return parser.parse_args(argv)


def _split(text: str | None) -> list[str]:
    """Comma-separated names; commas inside brackets belong to a name's parameters."""
    return [part.strip() for part in re.split(r",(?![^\[]*\])", text or "") if part.strip()]


def half_of(path: str | Path) -> str:
    """The half ("A" or "B") a data set belongs to, from a hash of its file name.

    >>> half_of("shared/data/adbench/11_donors.npz"), half_of("10_cover.npz")
    ('B', 'A')
    """
    digest = hashlib.sha256(Path(path).name.encode("utf-8")).digest()
    return "A" if digest[0] % 2 == 0 else "B"


def parse_variant(name: str) -> tuple[str, dict[str, Any]]:
    """A detector name and its bracketed parameters.

    >>> parse_variant("auto[combine=rank;members=['iforest', 'ecod']]")
    ('auto', {'combine': 'rank', 'members': ['iforest', 'ecod']})
    >>> parse_variant("pyod:iforest")
    ('pyod:iforest', {})
    """
    match = re.fullmatch(r"([^\[]+)\[(.*)\]", name.strip())
    if match is None:
        return name.strip(), {}
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in match.group(2).split(";"))):
        key, _, text = item.partition("=")
        try:
            params[key.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = text.strip()
    return match.group(1).strip(), params


def _builders(names: list[str]) -> dict[str, Any]:
    """Factories for the names with bracketed parameters."""
    from anomalyzer import detectors

    out = {}
    for name in names:
        base, params = parse_variant(name)
        if not params:
            continue
        if detectors.accepts(base, "random_state"):
            params.setdefault("random_state", 0)

        def make(base: str = base, params: dict[str, Any] = params) -> Any:
            return detectors.make(base, **params)

        out[name] = make
    return out


def with_halves(df: pd.DataFrame, paths: list[Path]) -> pd.DataFrame:
    """``df`` with a ``half`` column, from the data sets' file names."""
    halves = {benchmarking.dataset_name(p): half_of(p) for p in paths}
    return df.assign(half=df["dataset"].map(halves))


def half_summaries(df: pd.DataFrame) -> pd.DataFrame:
    """Mean ROC-AUC, mean AP and average ROC-AUC rank per detector on each half and on all."""
    parts = []
    for label, part in [("A", df[df["half"] == "A"]), ("B", df[df["half"] == "B"]), ("all", df)]:
        if part.empty:
            continue
        summary = benchmarking.summarise(part.drop(columns="half"))
        parts.append(
            summary.set_index("detector")[["mean_roc_auc", "mean_ap", "rank_roc_auc"]].add_suffix(
                f"_{label}"
            )
        )
    table = pd.concat(parts, axis=1).rename_axis("detector").reset_index()
    return table.sort_values("mean_roc_auc_all", ascending=False, ignore_index=True)


def cross_half(df: pd.DataFrame, groups: list[list[str]]) -> pd.DataFrame:
    """For each group of candidates: chosen by mean ROC-AUC on one half, measured on the other."""
    rows = []
    for group in groups:
        part = df[df["detector"].isin(group)]
        means = part.groupby(["half", "detector"])[["roc_auc", "ap"]].mean()
        for chose_on, report_on in (("A", "B"), ("B", "A")):
            if chose_on not in means.index.get_level_values(0):
                continue
            chosen = means.loc[chose_on]["roc_auc"].idxmax()
            other = means.loc[report_on] if report_on in means.index.get_level_values(0) else None
            rows.append(
                {
                    "candidates": ",".join(group),
                    "chosen_on": chose_on,
                    "chosen": chosen,
                    "roc_auc_chosen_half": means.loc[(chose_on, chosen), "roc_auc"],
                    "reported_on": report_on,
                    "roc_auc_other_half": None if other is None else other.loc[chosen, "roc_auc"],
                    "ap_other_half": None if other is None else other.loc[chosen, "ap"],
                    "best_on_other_half": None if other is None else other["roc_auc"].idxmax(),
                }
            )
    return pd.DataFrame(rows)


def auto_speed(df: pd.DataFrame) -> pd.DataFrame:
    """Seconds of ``auto`` and PyOD's ``IForest`` on data sets over 10,000 rows, and their ratio."""
    table = benchmarking.speedup_table(
        df.drop(columns="half", errors="ignore"), "auto", "pyod:iforest", min_rows=10_000
    )
    if table.empty:
        return table
    table["auto_over_iforest"] = 1.0 / table.pop("speedup")
    return table


def split_report(df: pd.DataFrame, groups: list[list[str]]) -> tuple[str, str, pd.DataFrame]:
    """The split tables as text and markdown, and the per-half summary as a frame."""
    summary = half_summaries(df)
    counts = df.drop_duplicates("dataset")["half"].value_counts()
    names = {
        h: ", ".join(sorted(df.loc[df["half"] == h, "dataset"].unique(), key=str.lower))
        for h in ("A", "B")
    }
    head = [
        f"Half A ({counts.get('A', 0)} sets): {names['A']}",
        f"Half B ({counts.get('B', 0)} sets): {names['B']}",
    ]
    title = "Per half: mean ROC-AUC, mean AP, average ROC-AUC rank (1 = best) among these rows"
    text = [*head, "", title, benchmarking.format_table(summary, 3)]
    md = ["# Cross-half results", "", *(f"- {h}" for h in head), "", f"## {title}", ""]
    md.append(benchmarking.markdown_table(summary, 3))
    speed = auto_speed(df)
    if not speed.empty:
        stitle = (
            "auto vs pyod:iforest on data sets over 10,000 rows (fit + score seconds, same run)"
        )
        text += ["", stitle, benchmarking.format_table(speed, 2)]
        md += ["", f"## {stitle}", "", benchmarking.markdown_table(speed, 2)]
    chosen = cross_half(df, groups)
    if not chosen.empty:
        ctitle = "Chosen on one half, reported on the other (by mean ROC-AUC)"
        text += ["", ctitle, benchmarking.format_table(chosen, 3)]
        md += ["", f"## {ctitle}", "", benchmarking.markdown_table(chosen, 3)]
    return "\n".join(text), "\n".join(md) + "\n", summary


def _progress(total: int) -> Any:
    done = 0

    def report(row: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if row["status"] == "ok":
            detail = (
                f"ROC-AUC {row['roc_auc']:.3f}  AP {row['ap']:.3f}  "
                f"{row['seconds']:.2f} s  {row['peak_mib']:.0f} MiB"
            )
        else:
            detail = row["status"]
        step = f"[{done:>{len(str(total))}}/{total}]"
        print(f"{step} {row['dataset']:<14} {row['detector']:<14} {detail}", flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"ADBench data not found at {args.data}; nothing to benchmark.")
        return 0
    detectors = _split(args.detectors) or [
        *benchmarking.default_detectors(),
        *(() if args.no_pyod else pyod_reference.PYOD_REFERENCES),
    ]
    if args.no_pyod:
        detectors = [d for d in detectors if not d.startswith("pyod:")]
    every = benchmarking.find_datasets(args.data, _split(args.datasets))
    datasets = benchmarking.find_datasets(args.data, _split(args.datasets), args.max_rows)
    skipped = sorted(set(every) - set(datasets))
    if skipped:
        names = ", ".join(benchmarking.dataset_name(p) for p in skipped)
        print(f"Skipping {len(skipped)} data set(s) over {args.max_rows:,} rows: {names}")
    if not datasets or not detectors:
        print("No data set or detector selected; nothing to benchmark.")
        return 0

    print(
        f"{len(detectors)} detector(s) x {len(datasets)} data set(s), timeout {args.timeout:g} s; "
        f"{benchmarking.PEAK_NOTE}.",
        flush=True,
    )
    df = benchmarking.run_benchmark(
        detectors,
        datasets,
        timeout=args.timeout,
        builders={**pyod_reference.builders(detectors), **_builders(detectors)},
        progress=_progress(len(detectors) * len(datasets)),
    )
    names = {benchmarking.dataset_name(p) for p in datasets}
    for path in args.merge:
        # Rows of this run come first, then each file's in order; a (data set,
        # detector) pair already present is not added again.
        earlier = pd.read_csv(path)
        earlier = earlier[~earlier["detector"].isin(detectors) & earlier["dataset"].isin(names)]
        df = pd.concat([df, earlier[list(benchmarking.RESULT_COLUMNS)]], ignore_index=True)
        df = df.drop_duplicates(["dataset", "detector"], keep="first", ignore_index=True)
    summary = benchmarking.summarise(df)
    print()
    print(benchmarking.render_text(df, summary))
    csv_path, md_path = benchmarking.write_results(df, args.out, summary)
    print(f"\nWrote {csv_path} and {md_path}")
    groups = [_split(g) for g in args.choose]
    if args.split or groups:
        text, md, halves = split_report(with_halves(df, datasets), groups)
        print()
        print(text)
        split_md = args.out.with_name(args.out.stem + "_split.md")
        split_md.write_text(md, encoding="utf-8")
        halves.to_csv(split_md.with_suffix(".csv"), index=False)
        print(f"\nWrote {split_md} and {split_md.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
