"""Streaming drift: change detectors on a model's score stream and flag stream.

Three of :mod:`river`'s detectors watch the stream, one point at a time:

- Page-Hinkley on the scores (a cumulative sum of deviations from the running
  mean, both directions): fast on a sustained shift;
- ADWIN on the scores (an adaptive window cut where its two halves' means
  differ by more than chance allows): also catches slow drifts;
- ADWIN on the flags (0/1): the flag rate, what users feel.

Scores are first put on a common scale: each is replaced by the normal
quantile of its place in the training score distribution (the probability
integral transform through the model's score sketch), so the detectors see a
standard normal stream whatever the detector and its units, and one extreme
score moves them by at most about 3.5 SD. A stream without a model takes its
reference from its first ``warmup`` points instead.

Both detectors assume independent points, as the scores of independent rows
are. On an autocorrelated stream (the raw values of a metric, or the scores of
a rolling-window series detector) a slow wander looks like a change to them
and they alarm far more often: ``benchmarks/drift.py`` measures it on NAB.

Defaults (checked on synthetic standard normal streams in ``benchmarks/drift.py``):
Page-Hinkley with ``delta`` 0.25 (half the smallest shift worth finding,
0.5 SD) and ``threshold`` 25; ADWIN with ``delta`` 0.001 on both streams.

>>> rng = np.random.default_rng(0)
>>> watch = StreamDrift(warmup=500)
>>> x = np.r_[rng.normal(size=3000), rng.normal(1.0, 1.0, size=500)]
>>> events = watch.update_many(x)
>>> [(e.detector, e.index > 3000) for e in events][:1]
[('page_hinkley', True)]
>>> sorted(watch.stats())
['adwin_flags', 'adwin_scores', 'page_hinkley', 'points']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from anomalyzer.data.sketches import cdf, numeric_sketch
from anomalyzer.errors import AnomalyzerError

if TYPE_CHECKING:
    from anomalyzer.model import Model

PH_DELTA = 0.25
PH_THRESHOLD = 25.0
ADWIN_DELTA = 0.001


@dataclass(frozen=True)
class DriftEvent:
    """One alarm: at which point (0-based, counted from the start), by which detector, and its state."""

    index: int
    detector: str
    statistic: float
    mean: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _river_drift() -> Any:
    try:
        from river import drift
    except ImportError:
        raise AnomalyzerError(
            "Streaming drift needs the river library: pip install 'anomalyzer[monitor]'."
        ) from None
    return drift


class StreamDrift:
    """Page-Hinkley and ADWIN on a stream of anomaly scores (and flags).

    Parameters
    ----------
    reference:
        The training score sketch (``model.sketch_["scores"]``); None takes the
        first ``warmup`` points as the reference.
    warmup:
        Points collected as the reference when there is none.
    ph_delta, ph_threshold:
        Page-Hinkley's tolerance and alarm threshold, in reference SDs.
    adwin_delta:
        ADWIN's confidence (smaller: fewer false alarms, later detections).
    """

    def __init__(
        self,
        reference: Mapping[str, Any] | None = None,
        *,
        warmup: int = 500,
        ph_delta: float = PH_DELTA,
        ph_threshold: float = PH_THRESHOLD,
        adwin_delta: float = ADWIN_DELTA,
    ) -> None:
        if reference is None and warmup < 30:
            raise AnomalyzerError(f"warmup must be at least 30 points, not {warmup!r}.")
        drift = _river_drift()
        self.reference = dict(reference) if reference is not None else None
        self.warmup = warmup
        # alpha=1: the classic, unfaded test. river's default fading (0.9999) pulls the
        # cumulative sum back by delta per point once it has sunk, which cancels delta
        # and leaves a random walk that crosses any threshold given time.
        self.page_hinkley = drift.PageHinkley(
            min_instances=30, delta=ph_delta, threshold=ph_threshold, alpha=1.0, mode="both"
        )
        self.adwin_scores = drift.ADWIN(delta=adwin_delta)
        self.adwin_flags = drift.ADWIN(delta=adwin_delta)
        self.events: list[DriftEvent] = []
        self.points = 0
        self._pending: list[float] = []
        self._lo, self._hi = self._bounds()

    @classmethod
    def for_model(cls, model: Model, **params: Any) -> StreamDrift:
        """A stream watcher whose reference is ``model``'s training score distribution."""
        sketch = getattr(model, "sketch_", None)
        if not sketch:
            raise AnomalyzerError(
                "This model keeps no training sketches (it was saved by an older anomalyzer); "
                "fit it again to monitor drift."
            )
        return cls(sketch["scores"], **params)

    def _bounds(self) -> tuple[float, float]:
        n = int(self.reference.get("n", 0)) if self.reference else 0
        eps = 0.5 / max(n, 1)
        return eps, 1 - eps

    def standardize(self, scores: np.ndarray) -> np.ndarray:
        """Scores as standard normal quantiles of their place in the reference distribution."""
        if self.reference is None:
            raise AnomalyzerError("The stream has no reference yet: it is still warming up.")
        p = np.clip(cdf(self.reference, np.asarray(scores, dtype=np.float64)), self._lo, self._hi)
        return stats.norm.ppf(p)

    def update(self, score: float, flag: bool | None = None) -> list[DriftEvent]:
        """Feed one point; the alarms it raised (usually none)."""
        return self.update_many([score], None if flag is None else [flag])

    def update_many(
        self, scores: Iterable[float], flags: Iterable[bool] | None = None
    ) -> list[DriftEvent]:
        """Feed points in order; the alarms they raised."""
        x = np.asarray(list(scores), dtype=np.float64)
        f = None if flags is None else np.asarray(list(flags), dtype=np.float64)
        if f is not None and len(f) != len(x):
            raise AnomalyzerError(
                f"Got {len(x)} scores but {len(f)} flags; give one flag per score."
            )
        start = 0
        if self.reference is None:
            take = min(self.warmup - len(self._pending), len(x))
            self._pending.extend(x[:take].tolist())
            self.points += take
            start = take
            if len(self._pending) < self.warmup:
                return []
            self.reference = numeric_sketch(np.asarray(self._pending))
            self._lo, self._hi = self._bounds()
            self._pending = []
        fired: list[DriftEvent] = []
        z = self.standardize(x[start:])
        for i, value in enumerate(z.tolist()):
            index = self.points
            self.points += 1
            self.page_hinkley.update(value)
            if self.page_hinkley.drift_detected:
                fired.append(
                    DriftEvent(index, "page_hinkley", self._ph_statistic(), self._ph_mean())
                )
            self.adwin_scores.update(value)
            if self.adwin_scores.drift_detected:
                w = self.adwin_scores
                fired.append(DriftEvent(index, "adwin_scores", float(w.width), float(w.estimation)))
            if f is not None:
                self.adwin_flags.update(float(f[start + i]))
                if self.adwin_flags.drift_detected:
                    w = self.adwin_flags
                    fired.append(
                        DriftEvent(index, "adwin_flags", float(w.width), float(w.estimation))
                    )
        self.events.extend(fired)
        return fired

    def _ph_mean(self) -> float:
        return float(self.page_hinkley._x_mean.get())

    def _ph_statistic(self) -> float:
        ph = self.page_hinkley
        return float(max(ph._sum_increase - ph._min_increase, ph._max_decrease - ph._sum_decrease))

    @property
    def drifted(self) -> bool:
        """True once any detector has raised an alarm."""
        return bool(self.events)

    def stats(self) -> dict[str, Any]:
        """Each detector's state (not only whether it fired), for a metrics page or a log."""
        ph = self.page_hinkley
        counts = {name: 0 for name in ("page_hinkley", "adwin_scores", "adwin_flags")}
        for e in self.events:
            counts[e.detector] += 1
        return {
            "points": self.points,
            "page_hinkley": {
                "statistic": self._ph_statistic() if ph._x_mean.n else 0.0,
                "threshold": float(ph.threshold),
                "mean": self._ph_mean(),
                "n": int(ph._x_mean.n),
                "detections": counts["page_hinkley"],
            },
            "adwin_scores": self._adwin_stats(self.adwin_scores, counts["adwin_scores"]),
            "adwin_flags": self._adwin_stats(self.adwin_flags, counts["adwin_flags"]),
        }

    def to_prometheus(self, prefix: str = "anomalyzer_drift") -> str:
        """:meth:`stats` in the Prometheus text format, one gauge per statistic.

        >>> watch = StreamDrift(warmup=30)
        >>> _ = watch.update_many(np.arange(40.0) % 7)
        >>> print(watch.to_prometheus().splitlines()[0])
        # TYPE anomalyzer_drift_points gauge
        """
        families: dict[str, list[str]] = {}
        for detector, values in self.stats().items():
            for key, value in values.items() if isinstance(values, dict) else ():
                families.setdefault(f"{prefix}_{key}", []).append(
                    f'{prefix}_{key}{{detector="{detector}"}} {float(value):.10g}'
                )
        lines = [f"# TYPE {prefix}_points gauge", f"{prefix}_points {self.points}"]
        for name, samples in families.items():
            lines += [f"# TYPE {name} gauge", *samples]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _adwin_stats(w: Any, detections: int) -> dict[str, Any]:
        width = int(w.width)
        return {
            "width": width,
            "mean": float(w.estimation),
            # river keeps the sum of squared deviations; per point it is the variance.
            "variance": float(w.variance) / width if width else 0.0,
            "detections": detections,
        }
