"""Any tabular detector over sliding windows of a series (a lag embedding).

Each row given to the tabular detector holds the last ``window`` points of
every channel, flattened channel by channel (oldest point first within a
channel). A point-wise detector sees one value at a time; a window sees the
recent path of every channel together, so it catches what only shows in
context: a shape that never occurs, or two channels that usually move together
parting ways while each stays within its usual range.

- ``causal=True``: a point scores as the window that ends at it. The first
  ``window - 1`` points have no full window; they score the lowest training
  window score, so they are never flagged.
- ``causal=False``: a point scores as the highest-scoring window that covers
  it, so an anomalous window marks all its points (the first and last
  ``window - 1`` points are covered by fewer windows).

With ``normalise=True`` each window has its own mean subtracted per channel,
so the detector compares shapes and not levels (a level shift then shows only
while a window straddles it).

The windows of a series overlap, and neighbouring windows are nearly equal:
neighbour-based detectors (``knn``, ``lof``) find each window's nearest
neighbours among the windows one or two steps away, which hides a stretch of
anomalous windows that resemble each other. ``step`` thins the training
windows; isolation forests (the default) are not affected. An isolation
forest, on the other hand, splits on one feature at a time, and a lone spike
is one of ``window * n_channels`` features: it finds a changed relation
between channels or a changed shape far better than a single odd point, which
``knn`` or ``pca`` over windows (or a point-wise detector) find at once.

>>> t = np.arange(2000)
>>> rng = np.random.default_rng(0)
>>> X = np.sin(2 * np.pi * t / 50)[:, None] + 0.1 * rng.normal(size=(2000, 2))
>>> X[1500:1550, 1] *= -1.0  # for one cycle, channel 1 moves against channel 0
>>> det = WindowDetector(window=16).fit(X)
>>> 1485 <= int(np.argmax(det.decision_scores_)) < 1565
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from anomalyzer import detectors
from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts, check_series
from anomalyzer.validation import check_int


class WindowDetector(SeriesDetector):
    """A tabular detector from the registry, fitted on the sliding windows of a series.

    Parameters
    ----------
    detector:
        Name in :func:`anomalyzer.detectors.available` (not one that needs labels).
    window:
        Points per window, per channel.
    step:
        Use every ``step``-th window of the training series (scoring uses all).
    params:
        Parameters of the tabular detector; ``random_state`` is passed on when
        the detector takes one and ``params`` does not set it.
    normalise:
        Subtract each window's own mean per channel, to compare shapes only.
    max_windows:
        Most training windows; more are subsampled at random (seeded), which
        bounds the fitting time on long series.
    causal:
        Score each point from its window and the points before it only, which
        lets :meth:`update` stream.
    contamination:
        Share of anomalies, or ``"auto"`` to read it off the scores.
    random_state:
        Seed of the subsample of windows and of the tabular detector.

    Attributes
    ----------
    detector_:
        The fitted tabular detector, whose features are ``window`` lags of
        each channel in turn.
    n_train_windows_:
        Number of windows it was fitted on.
    floor_:
        Its lowest training score: what points without a full window score.
    decision_scores_, threshold_:
        Training scores and the score above which a point is flagged.

    >>> x = np.sin(np.arange(1000) / 8.0)
    >>> x[700] = 3.0
    >>> det = WindowDetector(window=10, causal=True).fit(x[:500])
    >>> out = det.update(x[500:])
    >>> int(np.argmax(out.scores)) + 500 in range(700, 710)
    True
    """

    # The tabular detector scores the channels jointly: the parts carry its
    # score, and z only splits it evenly (explain attributes it).
    _joint = False

    def __init__(
        self,
        detector: str = "knn",
        window: int = 16,
        step: int = 1,
        params: dict[str, Any] | None = None,
        normalise: bool = False,
        max_windows: int = 20_000,
        causal: bool = False,
        contamination: float | str = "auto",
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.detector = detector
        self.window = window
        self.step = step
        self.params = params
        self.normalise = normalise
        self.max_windows = max_windows
        self.causal = causal
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        check_int("window", self.window, minimum=1)
        check_int("step", self.step, minimum=1)
        check_int("max_windows", self.max_windows, minimum=2)
        entry = detectors.spec(self.detector)
        if entry.labels:
            raise AnomalyzerError(
                f"Detector '{entry.name}' learns from labels, which a series detector does "
                "not have; choose one of: " + ", ".join(detectors.available()) + "."
            )
        if self.params is not None and not isinstance(self.params, dict):
            raise AnomalyzerError(
                f"params must be a dict of the detector's parameters or None, got {self.params!r}."
            )

    def _fit(self, X: np.ndarray) -> None:
        n, w = X.shape[0], int(self.window)
        if n < w + 1:
            raise AnomalyzerError(
                f"window={w} needs a series of at least {w + 1} points (two windows), "
                f"got {n}; use a smaller window or a longer series."
            )
        rows = self._windows(X)
        chosen = np.arange(0, rows.shape[0], int(self.step))
        if chosen.size > self.max_windows:
            rng = check_random_state(self.random_state)
            chosen = np.sort(rng.choice(chosen, size=int(self.max_windows), replace=False))
        name = detectors.spec(self.detector).name
        params = dict(self.params or {})
        if "random_state" not in params and detectors.accepts(name, "random_state"):
            params["random_state"] = self.random_state
        self.detector_ = detectors.make(name, **params).fit(rows[chosen])
        self.n_train_windows_ = int(chosen.size)
        self.floor_ = float(np.min(self.detector_.decision_scores_))

    def _windows(self, X: np.ndarray) -> np.ndarray:
        """Rows of ``window`` points per channel, channel-major: ``(n - window + 1, d * window)``."""
        w = int(self.window)
        # (n_windows, d, w), copied so that each row is contiguous: the window
        # means then come out the same whichever call computes them.
        view = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(X, w, axis=0))
        if self.normalise:
            view -= view.mean(axis=2, keepdims=True)
        return view.reshape(view.shape[0], -1)

    # -- causal recursion -----------------------------------------------------

    def _new_state(self) -> dict[str, Any]:
        # The last window - 1 points: the start of the next point's window.
        return {"buffer": np.empty((0, self.n_features_in_))}

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        w = int(self.window)
        k = state["buffer"].shape[0]
        values = np.concatenate([state["buffer"], X])
        score = np.full(X.shape[0], self.floor_)
        if values.shape[0] >= w:
            # The window ending at values[p] scores X[p - k]; it exists from p = w - 1.
            score[w - 1 - k :] = self.detector_.decision_function(self._windows(values))
        state["buffer"] = values[values.shape[0] - min(w - 1, values.shape[0]) :].copy()
        return _parts(score, X.shape[1])

    # -- two-sided ------------------------------------------------------------

    def _batch(self, X: np.ndarray) -> SeriesParts:
        n = X.shape[0]
        if n < int(self.window):
            return _parts(np.full(n, self.floor_), X.shape[1])
        scores = self.detector_.decision_function(self._windows(X))
        best, _ = self._covering_max(scores)
        return _parts(best, X.shape[1])

    def _covering_max(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per point, the highest score of the windows covering it, and that window's index."""
        w = int(self.window)
        pad = np.full(w - 1, -np.inf)
        view = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, scores, pad]), w)
        # Point t is covered by windows t - w + 1 .. t; column a of its row is window t - w + 1 + a.
        arg = view.argmax(axis=1)
        index = np.arange(view.shape[0]) - (w - 1) + arg
        return view[np.arange(view.shape[0]), arg], index

    # -- combination and explanation ------------------------------------------

    def explain(self, X: Any) -> np.ndarray:
        """Per-channel contribution to each point's score, shape ``(n_points, n_channels)``.

        The tabular detector's explanation of a window, summed over the lags of
        each channel: the window ending at the point (causal), or the
        highest-scoring window covering it. Points without a window get zeros.
        """
        check_is_fitted(self, "threshold_")
        X = check_series(X, n_channels=self.n_features_in_)
        (n, d), w = X.shape, int(self.window)
        out = np.zeros((n, d))
        if n < w:
            return out
        rows = self._windows(X)
        per_channel = self.detector_.explain(rows).reshape(-1, d, w).sum(axis=2)
        if self.causal:
            out[w - 1 :] = per_channel
        else:
            _, index = self._covering_max(self.detector_.decision_function(rows))
            out[:] = per_channel[index]
        return out


def _parts(score: np.ndarray, n_channels: int) -> SeriesParts:
    """The window score, split evenly over the channels; no expected value nor scale.

    An even split because a real one costs the tabular detector's explanation
    of every window (a scoring per feature for most detectors); :meth:`explain`
    computes it when asked.
    """
    z = np.repeat(score[:, None] / n_channels, n_channels, axis=1)
    nan = np.full(z.shape, np.nan)
    return SeriesParts(z=z, expected=nan, scale=nan.copy(), score=score)
