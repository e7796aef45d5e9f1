"""Shape anomalies: subsequences unlike any other (matrix-profile discords).

The matrix profile of a series (Yeh et al. 2016) gives each subsequence of
``window`` points the z-normalised Euclidean distance to its nearest neighbour
elsewhere in the series. Z-normalising compares shapes, not levels: one cycle
of a sine replaced by a triangle of the same amplitude and mean has values no
point-wise detector finds unusual, but no other subsequence looks like it, so
its distance is large. Such a subsequence is a *discord*.

Definitions follow ``stumpy``: neighbours closer than ``ceil(window / 4)``
starts are trivial matches and excluded; a constant subsequence is at distance
0 from another constant one and ``sqrt(window)`` from any other. Here
"constant" means a range within ``1e-8`` of the channel's training standard
deviation, so that rounding noise on a flat stretch is not z-normalised into a
random shape. Distances are divided by ``sqrt(2 * window)``: 0 is an exact
match, 1 what two unrelated shapes score on average, ``sqrt(2)`` the maximum
(a mirror image).

- ``causal=False``: the full (two-sided) profile, and each point takes the
  largest distance of the subsequences that cover it, so a discord marks all
  its points.
- ``causal=True``: the *left* profile, each subsequence compared only with
  earlier ones that lie within the last ``max_history`` points, and each point
  takes the distance of the subsequence that ends there (the newest one that
  contains it). The first ``window - 1`` points, and subsequences with nothing
  earlier to compare with, score 0. The first occurrence of a new shape scores
  high (in a seasonal series, the whole first cycle does).

A series is compared with itself: ``decision_function(X)`` finds the discords
of ``X`` (in causal mode, of ``X`` continued from nothing), and fitting learns
the window, the level and spread of each channel and the threshold. Each
channel has its own profile; several are combined by the root mean square of
their scores, and :meth:`explain` gives each channel's score.

The profile is computed by compiled kernels rather than by ``stumpy``, whose
functions are compiled afresh in every process (about 40 s on two cores): the
same diagonal recurrence of dot products, recomputed directly every
``_REFRESH`` starts so that rounding cannot drift along a long stream, on the
series less its training mean, since the formula loses digits to a level far
from zero. Batch causal scoring and :meth:`update` run the same kernel over the
same arithmetic, so after fitting on ``X[:k]``, updating with ``X[k:]``
reproduces ``decision_function(X)[k:]`` bit for bit. The two-sided profile costs ``O(n^2)``; the causal
one ``O(n * max_history)``.

>>> t = np.arange(1200)
>>> x = np.sin(2 * np.pi * t / 40)
>>> x[600:640] = np.abs(((t[600:640] - 600) / 10.0) % 4 - 2) - 1  # a triangle cycle
>>> det = MatrixProfile(window=40).fit(x)
>>> 560 < int(np.argmax(det.decision_scores_)) < 680
True
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import prange

from anomalyzer.compiled import jit, launch
from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts
from anomalyzer.timeseries.seasonality import detect_periods
from anomalyzer.validation import check_int

# Window when no seasonal period is found: long enough to hold a shape, short
# enough to place an anomaly within a few dozen points.
_DEFAULT_WINDOW = 32
# Window limits when it comes from a period (see MatrixProfile._choose_window).
_MIN_AUTO_WINDOW, _MAX_AUTO_WINDOW = 8, 256
# A series must hold this many windows: fewer leaves too few shapes to compare.
_MIN_WINDOWS = 4
# Starts between direct recomputations of the dot products (see module docs).
_REFRESH = 1024
# A subsequence whose range is within this share of the channel's training
# standard deviation counts as constant.
_FLAT_RTOL = 1e-8
# Per-subsequence statistics kept in the causal state.
_STATS = ("mean", "inv_sd", "flat")
# Below this many pairs (a few milliseconds) a call runs on one thread: waking
# threads costs more, and far more on a busy machine.
_PARALLEL_PAIRS = 2_000_000


# -- compiled kernels ---------------------------------------------------------


@jit(nogil=True)
def _subsequence_stats(
    T: np.ndarray,
    m: int,
    first: int,
    flat_tol: float,
    mu: np.ndarray,
    isd: np.ndarray,
    flat: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Mean, inverse standard deviation and flatness (1.0 or 0.0) of subsequences ``first..``.

    Each is computed directly from its own ``m`` values, so it does not depend on
    which call computes it.
    """
    for i in range(first, T.shape[0] - m + 1):
        s = 0.0
        lo = T[i]
        hi = T[i]
        for q in range(m):
            v = T[i + q]
            s += v
            lo = min(lo, v)
            hi = max(hi, v)
        mean = s / m
        ss = 0.0
        for q in range(m):
            dv = T[i + q] - mean
            ss += dv * dv
        mu[i] = mean
        is_flat = hi - lo <= flat_tol
        flat[i] = 1.0 if is_flat else 0.0
        isd[i] = 0.0 if is_flat else 1.0 / max(math.sqrt(ss / m), 1e-150)


@jit(nogil=True, fastmath=True)
def _smallest(values: np.ndarray, n: int) -> float:  # pragma: no cover - compiled
    """Minimum of ``values[:n]`` (``inf`` if empty); exact in any order, so vectorised."""
    v = np.inf
    for q in range(n):
        if values[q] < v:
            v = values[q]
    return v


@jit(nogil=True)
def _diagonals(
    T: np.ndarray,
    Tr: np.ndarray,
    m: int,
    k_lo: int,
    k_hi: int,
    first_row: int,
    first_abs: int,
    mu: np.ndarray,
    isd: np.ndarray,
    flat: np.ndarray,
    mu_r: np.ndarray,
    isd_r: np.ndarray,
    flat_r: np.ndarray,
    qt: np.ndarray,
    left: np.ndarray,
    right_r: np.ndarray,
    scratch: np.ndarray,
    both: bool,
) -> None:  # pragma: no cover - compiled
    """Rows ``first_row..`` against the rows ``k`` starts before them, ``k_lo <= k < k_hi``.

    Row by row, so that the loops over lags run over contiguous memory (the
    ``_r`` arrays are reversed copies: the partner of row ``i`` at lag ``k``
    sits at ``n_rows - 1 - i + k``) and vectorise. ``qt[k]`` is the dot
    product of the newest pair on diagonal ``k``; it is recomputed directly at
    the first pair of a diagonal and at absolute starts divisible by
    ``_REFRESH``, and carried forward otherwise. Writes the smallest squared
    distance per row to ``left`` and, with ``both``, lowers the partners'
    entries of ``right_r``.
    """
    L = T.shape[0]
    n_rows = L - m + 1
    for i in range(first_row, n_rows):
        a = first_abs + i
        hi = min(k_hi, a + 1)
        if hi <= k_lo:
            continue
        if a % _REFRESH == 0:
            top = k_lo
        else:
            top = min(hi, a)
            x0 = T[i - 1]
            x1 = T[i + m - 1]
            base = L - i  # Tr[base + k] = T[i - 1 - k]
            for k in range(k_lo, top):
                qt[k] = qt[k] - x0 * Tr[base + k] + x1 * Tr[base - m + k]
        for k in range(top, hi):
            s = 0.0
            for q in range(m):
                s += T[i + q] * T[i - k + q]
            qt[k] = s
        rb = n_rows - 1 - i
        mi = mu[i]
        si = isd[i]
        if flat[i] == 1.0:
            # Constant against constant: 0; against anything else: m (as stumpy).
            for k in range(k_lo, hi):
                scratch[k - k_lo] = m * (1.0 - flat_r[rb + k])
        else:
            for k in range(k_lo, hi):
                fj = flat_r[rb + k]
                rho = min((qt[k] - m * mi * mu_r[rb + k]) * (si * isd_r[rb + k]) / m, 1.0)
                scratch[k - k_lo] = fj * m + (1.0 - fj) * abs(2.0 * m * (1.0 - rho))
        if both:
            for k in range(k_lo, hi):
                right_r[rb + k] = min(right_r[rb + k], scratch[k - k_lo])
        left[i - first_row] = _smallest(scratch, hi - k_lo)


@jit(nogil=True)
def _lag_bounds(
    k_lo: int, k_hi: int, first_row: int, first_abs: int, n_rows: int, n_chunks: int
) -> np.ndarray:  # pragma: no cover - compiled
    """Split lags ``[k_lo, k_hi)`` into ``n_chunks`` runs of about equal numbers of pairs."""
    total = 0
    for k in range(k_lo, k_hi):
        total += max(0, n_rows - max(first_row, k - first_abs))
    bounds = np.full(n_chunks + 1, k_hi, dtype=np.int64)
    bounds[0] = k_lo
    c = 1
    acc = 0
    for k in range(k_lo, k_hi):
        acc += max(0, n_rows - max(first_row, k - first_abs))
        while c < n_chunks and acc * n_chunks >= total * c:
            bounds[c] = k + 1
            c += 1
    return bounds


@jit(nogil=True, parallel=True)
def _profile_parallel(
    T: np.ndarray,
    m: int,
    excl: int,
    max_lag: int,
    first_row: int,
    first_abs: int,
    mu: np.ndarray,
    isd: np.ndarray,
    flat: np.ndarray,
    qt: np.ndarray,
    both: bool,
    n_chunks: int,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Squared z-normalised distances to the nearest earlier (and later) subsequence.

    Rows are subsequence starts in ``T`` (local), ``first_abs`` the absolute
    index of row 0. Rows ``first_row..`` are compared with the rows ``k`` starts
    before them for ``excl < k <= max_lag``; ``qt`` carries each diagonal's dot
    product between calls. Returns the minimum per new row (the left profile)
    and, with ``both``, the minimum per row over the later rows (the right
    profile). Each of ``n_chunks`` threads takes a run of lags; every pair is
    computed by the same operations whatever the split, and a minimum does not
    depend on order, so the result does not depend on the number of threads.
    """
    n_rows = T.shape[0] - m + 1
    n_new = n_rows - first_row
    bounds = _lag_bounds(excl + 1, max_lag + 1, first_row, first_abs, n_rows, n_chunks)
    widest = 1
    for c in range(n_chunks):
        widest = max(widest, bounds[c + 1] - bounds[c])
    Tr, mu_r, isd_r, flat_r = T[::-1].copy(), mu[::-1].copy(), isd[::-1].copy(), flat[::-1].copy()
    left = np.full((n_chunks, n_new), np.inf)
    right_r = np.full((n_chunks, n_rows if both else 0), np.inf)
    scratch = np.empty((n_chunks, widest))
    for c in prange(n_chunks):
        _diagonals(
            T, Tr, m, bounds[c], bounds[c + 1], first_row, first_abs, mu, isd, flat,
            mu_r, isd_r, flat_r, qt, left[c], right_r[c], scratch[c], both,
        )  # fmt: skip
    lp = np.empty(n_new)
    for i in prange(n_new):
        lp[i] = _smallest(left[:, i].copy(), n_chunks)
    rp = np.empty(n_rows if both else 0)
    for i in prange(rp.shape[0]):
        rp[i] = _smallest(right_r[:, n_rows - 1 - i].copy(), n_chunks)
    return lp, rp


@jit(nogil=True)
def _profile_serial(
    T: np.ndarray,
    m: int,
    excl: int,
    max_lag: int,
    first_row: int,
    first_abs: int,
    mu: np.ndarray,
    isd: np.ndarray,
    flat: np.ndarray,
    qt: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """The left profile of :func:`_profile_parallel` on one thread, for a few new rows.

    Starting threads costs more than comparing a handful of rows, as when
    points are streamed one at a time.
    """
    n_rows = T.shape[0] - m + 1
    left = np.full(n_rows - first_row, np.inf)
    _diagonals(
        T, T[::-1].copy(), m, excl + 1, max_lag + 1, first_row, first_abs, mu, isd, flat,
        mu[::-1].copy(), isd[::-1].copy(), flat[::-1].copy(), qt, left, np.empty(0),
        np.empty(max(max_lag - excl, 1)), False,
    )  # fmt: skip
    return left


# -- the detector -------------------------------------------------------------


class MatrixProfile(SeriesDetector):
    """Discords: each point scored by how unlike the rest its surrounding shape is.

    Parameters
    ----------
    window:
        Subsequence length in points (at least 3, at most a quarter of the
        training series). ``None`` chooses it at fit: one cycle of the
        strongest seasonal period (:func:`~anomalyzer.timeseries.seasonality.detect_periods`),
        clipped to [8, 256], or 32 when the series has none; never more than a
        quarter of the series nor of ``max_history``.
    cover:
        How a point's batch score is read off the subsequences covering it:
        ``"max"`` marks every point of a discord alike, ``"mean"`` peaks in
        its middle (so a spike marks fewer points around it).
    causal:
        Score each point from the points before it only (the left matrix
        profile), which lets :meth:`update` stream.
    max_history:
        Causal mode: how many recent points a new subsequence is compared with
        (the memory and time of each update grow with it). At least 4 windows.
        The two-sided profile compares every pair, at ``O(n^2)`` cost.
    contamination:
        Share of anomalies, or ``"auto"`` to read it off the scores.

    Attributes
    ----------
    window_:
        The subsequence length in use.
    excl_zone_:
        Starts closer than this (inclusive) are trivial matches, ``ceil(window_ / 4)``.
    center_:
        Per channel, the training mean, subtracted before the dot products
        (which lose digits to a level far from zero).
    flat_tol_:
        Per channel, the range below which a subsequence counts as constant.
    decision_scores_, threshold_:
        Training scores and the score above which a point is flagged.

    >>> rng = np.random.default_rng(0)
    >>> x = np.sin(np.arange(600) * 2 * np.pi / 25) + 0.05 * rng.normal(size=600)
    >>> x[400] += 3.0
    >>> det = MatrixProfile(causal=True).fit(x[:300])
    >>> det.window_
    25
    >>> out = det.update(x[300:])
    >>> int(np.argmax(out.scores)) + 300 in range(400, 425)
    True
    """

    _min_points = 3 * _MIN_WINDOWS
    # Scores are distances, so channels are combined by root mean square.
    _joint = False

    def __init__(
        self,
        window: int | None = None,
        cover: str = "max",
        causal: bool = False,
        max_history: int = 10_000,
        contamination: float | str = "auto",
    ) -> None:
        self.window = window
        self.cover = cover
        self.causal = causal
        self.max_history = max_history
        self.contamination = contamination

    def _validate_params(self) -> None:
        if self.window is not None:
            check_int("window", self.window, minimum=3)
        check_int("max_history", self.max_history, minimum=3 * _MIN_WINDOWS)
        if self.cover not in ("max", "mean"):
            raise AnomalyzerError(f"cover must be 'max' or 'mean', got {self.cover!r}.")

    def _fit(self, X: np.ndarray) -> None:
        n = X.shape[0]
        if self.window is None:
            m = self._choose_window(X)
        else:
            m = int(self.window)
            limit = self._window_limit(n)
            if m > limit:
                what = (
                    f"max_history={self.max_history}"
                    if self.causal and n > self.max_history
                    else f"a series of {n} points"
                )
                raise AnomalyzerError(
                    f"window={m} is too large for {what}: the matrix profile needs at least "
                    f"{_MIN_WINDOWS} windows of data to compare shapes, so use window <= "
                    f"{limit} or a longer series."
                )
        self.window_ = m
        self.excl_zone_ = math.ceil(m / 4)
        # Shapes do not depend on the level, but the dot-product formula loses
        # digits to it (the mean products cancel); centring keeps them.
        self.center_ = X.mean(axis=0)
        self.flat_tol_ = _FLAT_RTOL * X.std(axis=0)

    def _choose_window(self, X: np.ndarray) -> int:
        """One cycle of the strongest seasonal period in [8, 256], else 32; at most n / 4.

        A subsequence one cycle long compares whole cycles, at every phase, so
        a cycle of a different shape has no near neighbour. Shorter windows see
        only part of a cycle, and a part of a changed cycle can look like a
        part of a normal one: on a sine with one cycle replaced by a triangle,
        a quarter-cycle window ranks the anomaly no better than chance, a
        whole-cycle window almost perfectly. The cap keeps a discord, which
        marks every point of the subsequences covering it, within a few hundred
        points of the anomaly.
        """
        periods = detect_periods(X, max_periods=1)
        if periods:
            m = int(np.clip(periods[0], _MIN_AUTO_WINDOW, _MAX_AUTO_WINDOW))
        else:
            m = _DEFAULT_WINDOW
        return max(min(m, self._window_limit(X.shape[0])), 3)

    def _window_limit(self, n: int) -> int:
        """Longest window for ``n`` training points (and, causal, the history kept)."""
        span = min(n, int(self.max_history)) if self.causal else n
        return span // _MIN_WINDOWS

    # -- causal recursion -----------------------------------------------------

    def _new_state(self) -> dict[str, Any]:
        m, d = self.window_, self.n_features_in_
        return {
            # The last max_history points seen (centred), and the mean, inverse standard
            # deviation and flatness of the subsequences that start among them.
            "values": np.empty((0, d)),
            "mean": np.empty((0, d)),
            "inv_sd": np.empty((0, d)),
            "flat": np.empty((0, d)),
            # Dot product of the newest pair on each diagonal (lag), per channel.
            "qt": np.zeros((int(self.max_history) - m + 1, d)),
            "seen": 0,
        }

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        m, d, n = self.window_, self.n_features_in_, X.shape[0]
        horizon = int(self.max_history)
        h = state["values"].shape[0]
        values = np.concatenate([state["values"], X - self.center_])
        offset = int(state["seen"]) - h  # absolute index of values[0]
        n_rows = max(values.shape[0] - m + 1, 0)
        old_rows = state["mean"].shape[0]
        stats = {key: np.empty((n_rows, d)) for key in _STATS}
        for key in _STATS:
            stats[key][:old_rows] = state[key]
        z = np.zeros((n, d))
        for c in range(d):
            T = np.ascontiguousarray(values[:, c])
            mu, isd, flat = (np.ascontiguousarray(stats[key][:, c]) for key in _STATS)
            _subsequence_stats(T, m, old_rows, float(self.flat_tol_[c]), mu, isd, flat)
            for key, col in zip(_STATS, (mu, isd, flat), strict=True):
                stats[key][:, c] = col
            if n_rows == old_rows:
                continue
            qt = np.ascontiguousarray(state["qt"][:, c])
            args = (T, m, self.excl_zone_, horizon - m, old_rows, offset, mu, isd, flat, qt)
            if (n_rows - old_rows) * (horizon - m) < _PARALLEL_PAIRS:
                lp = _profile_serial(*args)
            else:
                lp, _ = launch(_profile_parallel, *args, False, numba.get_num_threads())
            state["qt"][:, c] = qt
            # Row r ends at values[r + m - 1], and X starts at values[h].
            z[old_rows + m - 1 - h :, c] = self._normalise(lp)
        keep = min(values.shape[0], horizon)
        kept_rows = max(keep - m + 1, 0)
        state["values"] = values[values.shape[0] - keep :].copy()
        for key in _STATS:
            state[key] = stats[key][n_rows - kept_rows :].copy()
        state["seen"] = int(state["seen"]) + n
        return _parts(z)

    # -- two-sided ------------------------------------------------------------

    def _batch(self, X: np.ndarray) -> SeriesParts:
        m, (n, d) = self.window_, X.shape
        n_rows = n - m + 1
        z = np.zeros((n, d))
        if n_rows <= self.excl_zone_ + 1:
            return _parts(z)
        for c in range(d):
            T = np.ascontiguousarray(X[:, c] - self.center_[c])
            mu, isd, flat = (np.empty(n_rows) for _ in range(3))
            _subsequence_stats(T, m, 0, float(self.flat_tol_[c]), mu, isd, flat)
            lp, rp = launch(
                _profile_parallel,
                *(T, m, self.excl_zone_, n_rows - 1, 0, 0, mu, isd, flat, np.zeros(n_rows)),
                True,
                numba.get_num_threads(),
            )
            per_row = self._normalise(np.minimum(lp, rp))
            # Each point takes the largest (or the mean) distance among the
            # rows covering it: the mean peaks in the middle of a discord, so
            # a spike marks fewer of the points around it.
            padded = np.concatenate([np.zeros(m - 1), per_row, np.zeros(m - 1)])
            covering = np.lib.stride_tricks.sliding_window_view(padded, m)
            z[:, c] = covering.max(axis=1) if self.cover == "max" else covering.mean(axis=1)
        return _parts(z)

    def _normalise(self, d2: np.ndarray) -> np.ndarray:
        """Squared distances to distances over ``sqrt(2 * window)``; none found scores 0."""
        out = np.sqrt(np.maximum(d2, 0.0) / (2.0 * self.window_))
        out[~np.isfinite(out)] = 0.0
        return out


def _parts(z: np.ndarray) -> SeriesParts:
    """Distances carry no expected value nor scale: the band is NaN."""
    nan = np.full(z.shape, np.nan)
    return SeriesParts(z=z, expected=nan, scale=nan.copy())
