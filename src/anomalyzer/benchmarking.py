"""Benchmarking detectors on labelled data sets, one isolated process per run.

The protocol (``shared/data/README.md``): fit each detector without labels on
all rows of a data set, score the same rows (its ``decision_scores_``), and
report ROC-AUC and average precision against the labels, with the fit + score
seconds and the peak memory.

Each (detector, data set) run happens in a forked child process. The parent
loads a data set once and every child sees it without a copy; the child's
peak resident memory is reset just before fitting, so the peak it reports
belongs to that run alone (plus the interpreter and the data set, which are
already resident). A stuck run is killed at a timeout and a failing one is
recorded as an error row, so one bad detector never stops a benchmark.

:func:`run_benchmark` returns the long-form results (one row per detector and
data set) and :func:`summarise` the per-detector summary; the benchmark
scripts and the command line both go through them, so they report the same
numbers.
"""

from __future__ import annotations

import math
import multiprocessing
import re
import resource
import sys
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from anomalyzer.errors import AnomalyzerError

__all__ = [
    "PEAK_NOTE",
    "RESULT_COLUMNS",
    "SUMMARY_NOTES",
    "RunOutcome",
    "average_ranks",
    "build_detector",
    "dataset_name",
    "dataset_shape",
    "default_detectors",
    "find_datasets",
    "format_table",
    "load_dataset",
    "markdown_table",
    "metric_table",
    "render_markdown",
    "render_text",
    "run_benchmark",
    "run_folder",
    "run_one",
    "speedup_table",
    "summarise",
    "write_results",
]

#: Columns of the long-form results, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "dataset",
    "n_rows",
    "n_features",
    "detector",
    "roc_auc",
    "ap",
    "seconds",
    "peak_mib",
    "status",
)

PEAK_NOTE = (
    "peak MiB is the run's peak resident memory, including the Python interpreter, "
    "the imported libraries and the data set"
)

# Error messages are kept to one line of about this length in tables and CSV files.
_MAX_MESSAGE = 200


@dataclass(frozen=True)
class RunOutcome:
    """What one (detector, data set) run gave: metrics, cost, and how it ended."""

    roc_auc: float
    ap: float
    seconds: float
    peak_mib: float
    status: str  # "ok", "timeout" or "error: <message>"


# -- data sets -------------------------------------------------------------------


def dataset_name(path: str | Path) -> str:
    """Short name of a data set file: its stem without the numeric prefix.

    >>> dataset_name("shared/data/adbench/11_donors.npz")
    'donors'
    """
    return re.sub(r"^\d+_", "", Path(path).stem)


def _sort_key(path: Path) -> tuple[int, str]:
    match = re.match(r"^(\d+)_", path.name)
    return (int(match.group(1)) if match else sys.maxsize, path.name)


def dataset_shape(path: str | Path) -> tuple[int, int]:
    """Rows and features of ``X`` in an ``.npz`` file, read from its header only."""
    with zipfile.ZipFile(path) as archive, archive.open("X.npy") as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(handle)
    return int(shape[0]), int(shape[1]) if len(shape) > 1 else 1


def find_datasets(
    folder: str | Path, patterns: Iterable[str] | None = None, max_rows: int | None = None
) -> list[Path]:
    """The ``.npz`` data sets in ``folder``, in their numeric order.

    ``patterns`` keeps the files whose name contains any of them (case-insensitive);
    ``max_rows`` leaves out data sets with more rows.
    """
    paths = sorted(Path(folder).glob("*.npz"), key=_sort_key)
    wanted = [p.strip().lower() for p in patterns or () if p.strip()]
    if wanted:
        paths = [p for p in paths if any(w in p.name.lower() for w in wanted)]
    if max_rows is not None:
        paths = [p for p in paths if dataset_shape(p)[0] <= max_rows]
    return paths


def load_dataset(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as a C-contiguous float64 array and ``y`` as 0/1 integers from an ``.npz`` file.

    ``X`` is converted here, once, so that a detector's conversion of integer
    data does not count towards its time and memory.
    """
    with np.load(path) as data:
        if "X" not in data or "y" not in data:
            raise AnomalyzerError(
                f"Data set {path} must hold arrays named 'X' and 'y'; it has: "
                f"{', '.join(data.files)}."
            )
        X = np.ascontiguousarray(data["X"], dtype=np.float64)
        y = np.asarray(data["y"]).ravel().astype(np.int64)
    return X, y


# -- detectors -------------------------------------------------------------------


def default_detectors() -> list[str]:
    """Every table detector of the registry (the references to compare with are the caller's)."""
    from anomalyzer import detectors

    return detectors.available()


def build_detector(name: str, random_state: int | None = 0) -> Any:
    """A detector by registry name; those that take ``random_state`` get it.

    Other implementations (a reference library's detectors, variants with
    parameters) come in through ``builders=`` of :func:`run_benchmark`.
    """
    from anomalyzer import detectors

    if random_state is not None and detectors.accepts(name, "random_state"):
        return detectors.make(name, random_state=random_state)
    return detectors.make(name)


# -- one run in a child process -----------------------------------------------------


def _reset_peak_memory() -> None:
    """Reset the peak resident set size (VmHWM) of this process to its current size."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        # Not Linux, or not permitted: the peak then includes whatever came before.
        pass


def _peak_memory_mib() -> float:
    """Peak resident memory of this process in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _child(conn: Any, make: Callable[[], Any], X: np.ndarray, y: np.ndarray) -> None:
    """Build, fit and evaluate in the child; send back a tuple, never raise."""
    try:
        # Library warnings would interleave with the tables; failures are recorded anyway.
        warnings.simplefilter("ignore")
        detector = make()
        _reset_peak_memory()
        start = time.perf_counter()
        detector.fit(X)
        scores = np.asarray(detector.decision_scores_, dtype=np.float64)
        seconds = time.perf_counter() - start
        peak = _peak_memory_mib()
        if scores.shape != y.shape:
            raise ValueError(f"decision_scores_ has shape {scores.shape}, expected {y.shape}")
        result = (
            float(roc_auc_score(y, scores)),
            float(average_precision_score(y, scores)),
            seconds,
            peak,
            "ok",
        )
    except BaseException as exc:
        result = (math.nan, math.nan, math.nan, math.nan, f"error: {_one_line(exc)}")
    try:
        conn.send(result)
    finally:
        conn.close()


def run_one(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray, *, timeout: float = 600.0
) -> RunOutcome:
    """Fit ``make()`` on ``X`` in a forked child and evaluate its training scores against ``y``.

    The child shares ``X`` and ``y`` with this process (fork, copy on write).
    A run still going after ``timeout`` seconds is killed and reported as
    ``"timeout"``; a child that dies without answering (a crash, the
    out-of-memory killer) is reported as an error with its exit code.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # Flush so that buffered output is not written twice, by parent and child.
    sys.stdout.flush()
    sys.stderr.flush()
    process = context.Process(target=_child, args=(sender, make, X, y), daemon=True)
    start = time.perf_counter()
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout):
            try:
                return RunOutcome(*receiver.recv())
            except EOFError:
                process.join()
                return RunOutcome(
                    math.nan,
                    math.nan,
                    math.nan,
                    math.nan,
                    f"error: the run's process ended without a result (exit code "
                    f"{process.exitcode})",
                )
        return RunOutcome(math.nan, math.nan, time.perf_counter() - start, math.nan, "timeout")
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()


def run_benchmark(
    detectors: Sequence[str],
    datasets: Sequence[str | Path],
    *,
    timeout: float = 600.0,
    random_state: int | None = 0,
    builders: Mapping[str, Callable[[], Any]] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run every detector on every data set; one row per (data set, detector).

    ``detectors`` are registry names or PyOD references (see
    :func:`build_detector`); ``builders`` maps further names to zero-argument
    factories (a detector with chosen parameters, say). A detector that cannot
    be imported or built gives an error row, like one that fails to fit.
    ``progress`` is called with each row as soon as it is known.
    """
    rows: list[dict[str, Any]] = []
    for path in datasets:
        X, y = load_dataset(path)
        for name in detectors:
            if builders is not None and name in builders:
                make = builders[name]
            else:

                def make(name: str = name) -> Any:
                    return build_detector(name, random_state)

            outcome = run_one(make, X, y, timeout=timeout)
            row = {
                "dataset": dataset_name(path),
                "n_rows": int(X.shape[0]),
                "n_features": int(X.shape[1]),
                "detector": name,
                **asdict(outcome),
            }
            rows.append(row)
            if progress is not None:
                progress(row)
        del X, y
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


# -- summaries ---------------------------------------------------------------------


def run_folder(
    files: Sequence[str | Path],
    detectors: Sequence[str],
    *,
    label: str | None = None,
    timeout: float = 600.0,
    random_state: int | None = 0,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Benchmark labelled files of any kind; one row per (file, detector).

    ``.npz`` files (``X`` and ``y``) go through :func:`run_benchmark`, the
    protocol of ``make bench``, so the numbers are the same. Tables (CSV,
    Parquet) go through :func:`anomalyzer.evaluate.compare` with ``label``:
    read, preprocessed and scored by ``Model`` as a user's table would be.
    """
    from anomalyzer.data import read_table
    from anomalyzer.evaluate import compare

    frames = []
    for path in map(Path, files):
        if path.suffix.lower() == ".npz":
            frames.append(
                run_benchmark(
                    detectors, [path], timeout=timeout, random_state=random_state, progress=progress
                )
            )
            continue
        if label is None:
            raise AnomalyzerError(f"'{path}' is a table; name its label column with label=.")
        df = read_table(path)
        board = compare(df, label, list(detectors), time_budget=timeout, random_state=random_state)
        rows = []
        for _, r in board.iterrows():
            row = {
                "dataset": dataset_name(path),
                "n_rows": len(df),
                "n_features": df.shape[1] - 1,
                "detector": r["detector"],
                "roc_auc": r["roc_auc"],
                "ap": r["ap"],
                "seconds": r["fit_seconds"] + r["score_seconds"],
                "peak_mib": math.nan,
                "status": r["status"],
            }
            rows.append(row)
            if progress is not None:
                progress(row)
        frames.append(pd.DataFrame(rows, columns=list(RESULT_COLUMNS)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)


def metric_table(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``metric`` with data sets as rows and detectors as columns, in the order run."""
    table = df.pivot(index="dataset", columns="detector", values=metric)
    return table.reindex(index=df["dataset"].unique(), columns=df["detector"].unique())


def average_ranks(df: pd.DataFrame, metric: str) -> pd.Series:
    """Mean over data sets of each detector's rank by ``metric`` (1 = best).

    Ties share the average rank; a failed run ranks below every result on its
    data set, so failing is never better than a poor score.
    """
    table = metric_table(df, metric)
    ranks = table.rank(axis=1, ascending=False, method="average", na_option="bottom")
    return ranks.mean(axis=0)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """One row per detector: means, average ranks, cost, and the cost on the largest data set.

    Means are over the data sets where the detector ran; ``failed`` counts the
    others. ``largest_s`` and ``largest_peak_mib`` are on the data set with the
    most rows, named in ``summary.attrs["largest"]``. Rows are sorted by the
    average ROC-AUC rank.

    >>> df = pd.DataFrame({
    ...     "dataset": ["a", "a", "b", "b"], "n_rows": [10, 10, 20, 20], "n_features": 2,
    ...     "detector": ["x", "y", "x", "y"], "roc_auc": [0.9, 0.8, 0.6, 0.7],
    ...     "ap": [0.5, 0.4, 0.3, 0.2], "seconds": [1.0, 2.0, 3.0, 4.0],
    ...     "peak_mib": [100.0, 120.0, 110.0, 130.0], "status": "ok"})
    >>> summarise(df)[["detector", "mean_roc_auc", "rank_roc_auc", "rank_ap", "largest_s"]]
      detector  mean_roc_auc  rank_roc_auc  rank_ap  largest_s
    0        x          0.75           1.5      1.0        3.0
    1        y          0.75           1.5      2.0        4.0
    """
    if df.empty:
        return pd.DataFrame()
    largest = df.loc[df["n_rows"].idxmax(), "dataset"]
    ok = df["status"] == "ok"
    grouped = df.groupby("detector", sort=False)
    summary = pd.DataFrame(
        {
            "datasets": grouped["status"].size(),
            "failed": (~ok).groupby(df["detector"], sort=False).sum(),
            "mean_roc_auc": grouped["roc_auc"].mean(),
            "mean_ap": grouped["ap"].mean(),
            "rank_roc_auc": average_ranks(df, "roc_auc"),
            "rank_ap": average_ranks(df, "ap"),
            "total_s": grouped["seconds"].sum(min_count=1),
            "max_s": grouped["seconds"].max(),
            "max_peak_mib": grouped["peak_mib"].max(),
        }
    )
    on_largest = df[df["dataset"] == largest].set_index("detector")
    summary["largest_s"] = on_largest["seconds"]
    summary["largest_peak_mib"] = on_largest["peak_mib"]
    summary = summary.rename_axis("detector").reset_index()
    summary = summary.sort_values(["rank_roc_auc", "rank_ap"], kind="stable", ignore_index=True)
    summary.attrs["largest"] = str(largest)
    summary.attrs["largest_rows"] = int(df["n_rows"].max())
    return summary


def speedup_table(
    df: pd.DataFrame,
    ours: str = "iforest",
    reference: str = "pyod:iforest",
    min_rows: int = 100_000,
) -> pd.DataFrame:
    """Seconds of ``ours`` and ``reference`` on data sets above ``min_rows`` rows, and the ratio.

    ``speedup`` above 1 means ours is faster. Empty when either was not run.
    """
    big = df[(df["n_rows"] > min_rows) & df["detector"].isin([ours, reference])]
    if big.empty or not {ours, reference} <= set(big["detector"]):
        return pd.DataFrame(columns=["dataset", "n_rows", f"{ours}_s", f"{reference}_s", "speedup"])
    seconds = big.pivot(index="dataset", columns="detector", values="seconds")
    rows = big.drop_duplicates("dataset").set_index("dataset")["n_rows"]
    table = pd.DataFrame(
        {
            "n_rows": rows,
            f"{ours}_s": seconds[ours],
            f"{reference}_s": seconds[reference],
            "speedup": seconds[reference] / seconds[ours],
        }
    )
    return table.rename_axis("dataset").reset_index()


# -- output ------------------------------------------------------------------------


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float | np.floating):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _cells(df: pd.DataFrame, digits: Mapping[str, int] | int) -> list[list[str]]:
    def places(column: str) -> int:
        return digits if isinstance(digits, int) else digits.get(column, 3)

    return [[_cell(v, places(c)) for c, v in row.items()] for _, row in df.iterrows()]


def format_table(df: pd.DataFrame, digits: Mapping[str, int] | int = 3, index: bool = False) -> str:
    """Plain text with aligned columns (text left, numbers right); NaN shows as ``-``.

    >>> print(format_table(pd.DataFrame({"detector": ["a", "bb"], "auc": [0.5, float("nan")]})))
    detector    auc
    a         0.500
    bb            -
    """
    if index:
        df = df.reset_index()
    header = [str(c) for c in df.columns]
    body = _cells(df, digits)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)
    ]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(r) for r in body)])


def markdown_table(
    df: pd.DataFrame, digits: Mapping[str, int] | int = 3, index: bool = False
) -> str:
    """A GitHub-flavoured markdown table; numbers right-aligned, NaN as ``-``.

    >>> print(markdown_table(pd.DataFrame({"detector": ["a"], "auc": [0.5]})))
    | detector | auc |
    |:--|--:|
    | a | 0.500 |
    """
    if index:
        df = df.reset_index()
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    lines = [
        "| " + " | ".join(str(c) for c in df.columns) + " |",
        "|" + "|".join("--:" if num else ":--" for num in numeric) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in _cells(df, digits)]
    return "\n".join(lines)


_SUMMARY_DIGITS = {
    "mean_roc_auc": 3,
    "mean_ap": 3,
    "rank_roc_auc": 2,
    "rank_ap": 2,
    "total_s": 1,
    "max_s": 1,
    "max_peak_mib": 0,
    "largest_s": 1,
    "largest_peak_mib": 0,
    "iforest_s": 2,
    "pyod:iforest_s": 2,
    "speedup": 1,
}


def _failures(df: pd.DataFrame) -> pd.DataFrame:
    return df.loc[df["status"] != "ok", ["dataset", "detector", "status"]]


def render_text(df: pd.DataFrame, summary: pd.DataFrame | None = None) -> str:
    """The printed report: ROC-AUC and AP per data set, the summary, speed-ups, failures."""
    summary = summarise(df) if summary is None else summary
    parts = [
        "ROC-AUC per data set",
        format_table(metric_table(df, "roc_auc"), index=True),
        "",
        "Average precision per data set",
        format_table(metric_table(df, "ap"), index=True),
        "",
        _summary_title(summary),
        format_table(summary, _SUMMARY_DIGITS),
        SUMMARY_NOTES,
    ]
    speed = speedup_table(df)
    if not speed.empty:
        parts += ["", "iforest vs pyod:iforest on data sets over 100k rows (seconds)"]
        parts.append(format_table(speed, _SUMMARY_DIGITS))
    failures = _failures(df)
    if not failures.empty:
        parts += ["", "Failed runs", format_table(failures)]
    return "\n".join(parts)


def render_markdown(df: pd.DataFrame, summary: pd.DataFrame | None = None) -> str:
    """The same report as :func:`render_text`, as markdown."""
    summary = summarise(df) if summary is None else summary
    parts = [
        "# Benchmark results",
        "",
        f"## {_summary_title(summary)}",
        "",
        markdown_table(summary, _SUMMARY_DIGITS),
        "",
        SUMMARY_NOTES,
    ]
    speed = speedup_table(df)
    if not speed.empty:
        parts += ["", "## iforest vs pyod:iforest on data sets over 100k rows (seconds)", ""]
        parts.append(markdown_table(speed, _SUMMARY_DIGITS))
    parts += [
        "",
        "## ROC-AUC per data set",
        "",
        markdown_table(metric_table(df, "roc_auc"), index=True),
    ]
    parts += [
        "",
        "## Average precision per data set",
        "",
        markdown_table(metric_table(df, "ap"), index=True),
    ]
    failures = _failures(df)
    if not failures.empty:
        parts += ["", "## Failed runs", "", markdown_table(failures)]
    return "\n".join(parts) + "\n"


def _summary_title(summary: pd.DataFrame) -> str:
    largest = summary.attrs.get("largest", "?")
    rows = summary.attrs.get("largest_rows")
    size = f", {rows:,} rows" if rows is not None else ""
    return f"Summary per detector (largest_* on {largest}{size})"


SUMMARY_NOTES = (
    "Means are over the data sets a detector ran on; ranks are 1 = best, averaged over "
    "data sets, with a failed run ranked last; seconds are fit + scoring of the training rows; "
    f"{PEAK_NOTE}."
)


def write_results(
    df: pd.DataFrame, path: str | Path, summary: pd.DataFrame | None = None
) -> tuple[Path, Path]:
    """Write the long-form results to ``path`` (CSV) and the report next to it (``.md``)."""
    csv_path = Path(path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(csv_path, index=False)
    md_path = csv_path.with_suffix(".md")
    md_path.write_text(render_markdown(df, summary), encoding="utf-8")
    return csv_path, md_path
