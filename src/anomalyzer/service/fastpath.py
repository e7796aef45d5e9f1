"""Scoring of small batches without pandas, prepared once per model when it is loaded.

A 1-row request through ``Model.score_frame`` pays for a DataFrame, the
column checks and the preprocessing machinery: milliseconds, far more than
the detector needs. :class:`TableScorer` reads the fitted encodings
(``Preprocessor.get_state()``) once and encodes plain JSON rows straight into
the feature matrix with the same arithmetic, then calls the model's own
detector (its ``decision_function`` and ``explain``), threshold and reason
writer. Values it does not encode the same way with certainty (dates, text
in a numeric column, numbers in a category, a column absent from every row)
send the batch through ``Model.score_frame`` instead, so the answers are
always those of ``score_frame``; a test checks they are equal.

Small batches are also scored in one thread: the detectors' compiled
kernels and neighbour searches start a thread pool per call, which costs
more than a row's work and waits on busy cores.

>>> import pandas as pd
>>> from anomalyzer import Model
>>> model = Model("mad").fit(pd.DataFrame({"x": [1.0, 1.1, 0.9, 1.0, 1.2] * 4, "k": list("aabab") * 4}))
>>> scorer = TableScorer(model)
>>> out = scorer.score([{"x": 1.0, "k": "a"}, {"x": 40.0, "k": "b"}])
>>> out.fast, out.flags.tolist(), out.ranks.tolist()
(True, [False, True], [2, 1])
>>> out.reasons[1]
'x = 40 is 40x its typical value (1)'
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.data.preprocess import MISSING_LEVEL
from anomalyzer.data.roles import FALSE_WORDS, TRUE_WORDS
from anomalyzer.model import Model
from anomalyzer.reasons import reason_for
from anomalyzer.scored import rows_to_explain

#: Batches up to this many rows take the fast path (when their values allow it).
SMALL_BATCH = 64
#: Detector time per row below which small batches are scored on the event loop itself:
#: a hand-over to a worker thread would cost more than the work.
CHEAP_SECONDS = 0.0005
# The cap Preprocessor.transform applies, so that absurd inputs stay finite.
_BOUND = 1e100
_TRUTH = {**dict.fromkeys(TRUE_WORDS | {"1"}, 1.0), **dict.fromkeys(FALSE_WORDS | {"0"}, 0.0)}


class _Fallback(Exception):
    """A value the fast path does not encode exactly as pandas would: use score_frame."""


@dataclass(frozen=True)
class Scored:
    """Scores, flags, ranks (1 = most anomalous) and reasons of a batch; ``fast`` tells the path."""

    scores: np.ndarray
    flags: np.ndarray
    ranks: np.ndarray
    reasons: list[str]
    fast: bool


_pool_lock = threading.Lock()
_pool_users = 0
_pool_limits: Any = None


@functools.cache
def _controller() -> Any:
    """The process's OpenMP and BLAS pools, found once (finding them reads every loaded library)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the detectors' parallel kernels, OpenMP/BLAS loops and joblib work in the calling thread.

    numba's thread count is set per calling thread; the OpenMP and BLAS pools
    are process-wide, so they are limited while any small batch is scored and
    restored when the last one ends (a large batch scored meanwhile runs on
    one thread too: slower, never different).
    """
    import joblib
    import numba

    global _pool_users, _pool_limits
    with _pool_lock:
        if _pool_users == 0:
            _pool_limits = _controller().limit(limits=1)
        _pool_users += 1
    before = numba.get_num_threads()
    numba.set_num_threads(1)  # per calling thread
    try:
        with joblib.parallel_config(backend="sequential"):
            yield
    finally:
        numba.set_num_threads(before)
        with _pool_lock:
            _pool_users -= 1
            if _pool_users == 0 and _pool_limits is not None:
                _pool_limits.restore_original_limits()
                _pool_limits = None


class TableScorer:
    """Scores JSON rows with a fitted table :class:`~anomalyzer.model.Model`.

    Batches of at most ``small`` rows are encoded without pandas (see the
    module docstring); larger ones, and any batch the fast path cannot encode
    exactly, go through ``Model.score_frame``.
    """

    def __init__(self, model: Model, small: int = SMALL_BATCH) -> None:
        self.model = model
        self.small = small
        state = model.preprocessor_.get_state()
        self._encoders: list[dict[str, Any]] = state["encoders"]
        self._profile: dict[str, dict] = state["profile"]
        names = model.preprocessor_.feature_names_
        sources = model.preprocessor_.feature_sources_
        self.n_features = len(names)
        present = set(sources)
        self.columns = [c for c in model.schema.features if c in present]
        index = {c: j for j, c in enumerate(self.columns)}
        # Feature -> folded column (explanations are reported per original column).
        self._fold_to = np.array([index.get(s, -1) for s in sources], dtype=np.int64)
        self.needed = [e["column"] for e in self._encoders]
        self._warm()

    def _warm(self) -> None:
        # Compiled kernels load (or compile) on first use: pay that at load, not in a request.
        # The fastest of a few timed calls says whether a row costs little enough to be
        # scored on the server's event loop (see ``cheap``).
        X = np.zeros((1, self.n_features))
        best = math.inf
        with one_thread():
            for _ in range(4):
                start = time.perf_counter()
                self.model.detector_.decision_function(X)
                self.model.detector_.explain(X)
                best = min(best, time.perf_counter() - start)
        self.row_seconds = best

    @property
    def cheap(self) -> bool:
        """Whether a small batch costs well under a millisecond of detector time."""
        return self.row_seconds < CHEAP_SECONDS

    # -- scoring ------------------------------------------------------------------

    def score(self, rows: Sequence[Mapping[str, Any]]) -> Scored:
        """Score, flag, rank and reason of each row, as ``Model.score_frame`` gives them."""
        if 0 < len(rows) <= self.small:
            try:
                X = self.encode(rows)
            except _Fallback:
                pass
            else:
                return self._score_matrix(rows, X)
        return self._score_frame(rows)

    def _score_frame(self, rows: Sequence[Mapping[str, Any]]) -> Scored:
        df = pd.DataFrame.from_records(list(rows)) if len(rows) else pd.DataFrame()
        out = self.model.score_frame(df)
        return Scored(
            scores=out["anomaly_score"].to_numpy(dtype=np.float64),
            flags=out["is_anomaly"].to_numpy(dtype=bool),
            ranks=out["anomaly_rank"].to_numpy(dtype=np.int64),
            reasons=out["anomaly_reason"].astype(str).tolist(),
            fast=False,
        )

    def _score_matrix(self, rows: Sequence[Mapping[str, Any]], X: np.ndarray) -> Scored:
        model = self.model
        with one_thread():
            scores = np.asarray(model.detector_.decision_function(X), dtype=np.float64)
            flags = scores > model.threshold_
            top = rows_to_explain(scores, flags)
            contrib = (
                model.detector_.explain(X[top]) if len(top) else np.empty((0, self.n_features))
            )
        order = np.argsort(-scores, kind="stable")
        ranks = np.empty(len(scores), dtype=np.int64)
        ranks[order] = np.arange(1, len(scores) + 1)
        reasons = [""] * len(rows)
        for k, pos in enumerate(top.tolist()):
            folded = self._fold(contrib[k])
            reasons[pos] = reason_for(rows[pos], folded, self._profile)  # type: ignore[arg-type]
        return Scored(scores=scores, flags=flags, ranks=ranks, reasons=reasons, fast=True)

    def _fold(self, contributions: np.ndarray) -> pd.Series:
        sums = [[] for _ in self.columns]  # type: list[list[float]]
        for value, j in zip(contributions.tolist(), self._fold_to.tolist(), strict=True):
            if j >= 0:
                sums[j].append(value)
        return pd.Series([math.fsum(s) for s in sums], index=self.columns, dtype=np.float64)

    # -- encoding -----------------------------------------------------------------

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The feature matrix of ``rows``, as ``Preprocessor.transform`` computes it.

        Raises ``_Fallback`` for values that only the pandas path reads exactly.
        """
        for col in self.needed:
            if not any(col in r for r in rows):
                raise _Fallback  # score_frame words the missing-column error
        out = np.empty((len(rows), self.n_features), dtype=np.float64)
        for i, row in enumerate(rows):
            start = 0
            for enc in self._encoders:
                block = _ENCODE[enc["kind"]](enc, row.get(enc["column"]))
                out[i, start : start + len(block)] = block
                start += len(block)
        np.clip(np.nan_to_num(out, nan=0.0), -_BOUND, _BOUND, out=out)
        return out


def _number(value: Any) -> float:
    """A JSON number as pandas reads it in a numeric column (NaN = missing)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Fallback
    if isinstance(value, int) and abs(value) >= 2**53:
        raise _Fallback  # pandas may keep such integers as objects
    x = float(value)
    return x if math.isfinite(x) else math.nan


def _indicator(enc: Mapping[str, Any], values: list[float], missing: bool) -> list[float]:
    return [*values, 1.0 if missing else 0.0] if enc["missing_indicator"] else values


def _numeric(enc: Mapping[str, Any], value: Any) -> list[float]:
    x = _number(value)
    missing = math.isnan(x)
    with np.errstate(over="ignore", invalid="ignore"):
        z = float((np.float64(enc["fill"] if missing else x) - enc["center"]) / enc["divisor"])
    return _indicator(enc, [z], missing)


def _text(value: Any) -> str | None:
    """Text as ``as_text`` gives it (blank = missing), for strings, booleans and None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value if value.strip() != "" else None
    raise _Fallback


def _boolean(enc: Mapping[str, Any], value: Any) -> list[float]:
    if enc["mode"] == "linear":
        x = _number(value)
        v = float((np.float64(x) - enc["low"]) / enc["divisor"])
    else:
        text = _text(value)
        lookup = {**_TRUTH, **enc["mapping"]}
        v = math.nan if text is None else lookup.get(text.lower(), math.nan)
    missing = math.isnan(v)
    return _indicator(enc, [enc["fill"] if missing else v], missing)


def _categorical(enc: Mapping[str, Any], value: Any) -> list[float]:
    text = _text(value)
    key = MISSING_LEVEL if text is None else text
    if enc["encoding"] == "onehot":
        return [1.0 if level == key else 0.0 for level in enc["levels"]]
    share = enc["freq"].get(key, 0.0)
    return [float((np.float64(share) - enc["center"]) / enc["divisor"])]


def _datetime(enc: Mapping[str, Any], value: Any) -> list[float]:
    raise _Fallback  # dates are parsed by the pandas path only


_ENCODE = {
    "numeric": _numeric,
    "boolean": _boolean,
    "categorical": _categorical,
    "datetime": _datetime,
}
