"""PyOD's detectors as references for the benchmarks: ``pyod:iforest``, ``pyod:ecod``, ``pyod:knn``, ``pyod:adengine``.

They live with the benchmarks, not in the package: users of anomalyzer never
need PyOD. ``builders()`` gives the factories :func:`anomalyzer.benchmarking.run_benchmark`
takes through ``builders=``; PyOD's detectors run with their default
parameters (only the isolation forest is random, seeded here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: The references, run next to ours under these names.
PYOD_REFERENCES: tuple[str, ...] = ("pyod:iforest", "pyod:ecod", "pyod:knn", "pyod:adengine")


class ADEngineReference:
    """PyOD's automatic engine behind the ``fit`` / ``decision_scores_`` protocol.

    Scores are the engine's consensus, as its documentation presents them:
    ``ADEngine(random_state=0).investigate(X).consensus["scores"]``.
    """

    def __init__(self, random_state: int | None = 0) -> None:
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> ADEngineReference:
        from pyod.utils.ad_engine import ADEngine

        state = ADEngine(random_state=self.random_state).investigate(X)
        self.decision_scores_ = np.asarray(state.consensus["scores"], dtype=np.float64)
        return self


def build_reference(name: str, random_state: int | None = 0) -> Any:
    """The PyOD reference called ``name``."""
    if name == "pyod:iforest":
        from pyod.models.iforest import IForest

        return IForest(random_state=random_state)
    if name == "pyod:ecod":
        from pyod.models.ecod import ECOD

        return ECOD()
    if name == "pyod:knn":
        from pyod.models.knn import KNN

        return KNN()
    if name == "pyod:adengine":
        return ADEngineReference(random_state=random_state)
    raise ValueError(
        f"Unknown PyOD reference {name!r}; choose one of: {', '.join(PYOD_REFERENCES)}."
    )


def builders(names: list[str], random_state: int | None = 0) -> dict[str, Callable[[], Any]]:
    """Factories for the PyOD references among ``names``."""
    return {
        name: (lambda name=name: build_reference(name, random_state))
        for name in names
        if name in PYOD_REFERENCES
    }
