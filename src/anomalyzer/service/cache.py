"""Models loaded once per worker: an LRU of loaded versions and the aliases that point into it.

A request names a model and optionally a version or an alias. Numbers go
straight to the LRU. Aliases (and "no version", which means ``production``
or else the newest) are resolved through pointers that a background thread
re-reads from the registry every ``refresh`` seconds; when a pointer moves,
the new version is loaded first and the pointer swapped after, in one
assignment, so a request in flight keeps the model it started with and no
request waits for, or fails during, a swap.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anomalyzer.registry import ModelNotFound, ModelVersion, Registry, load_bytes
from anomalyzer.service.fastpath import TableScorer

Ref = int | str | None


@dataclass
class Loaded:
    """One model version in memory, with what scoring it needs."""

    record: ModelVersion
    model: Any
    scorer: TableScorer | None
    load_seconds: float
    # Streams of a series model: serialised by this lock, at this stored revision.
    lock: threading.Lock = field(default_factory=threading.Lock)
    revision: int = 0

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def kind(self) -> str:
        return self.record.kind


def prepare(record: ModelVersion, data: bytes) -> Loaded:
    """Load a model file's bytes and prepare its scorer."""
    start = time.perf_counter()
    model = load_bytes(data, f"{record.name} version {record.version}")
    scorer = TableScorer(model) if record.kind == "table" else None
    return Loaded(record, model, scorer, time.perf_counter() - start)


class ModelCache:
    """Loaded model versions (at most ``capacity``) and the pointers of aliases to them."""

    def __init__(
        self,
        registry: Registry,
        capacity: int = 8,
        refresh: float = 1.0,
        on_load: Callable[[Loaded], None] | None = None,
    ) -> None:
        self.registry = registry
        self.capacity = max(1, int(capacity))
        self.refresh = float(refresh)
        self._models: OrderedDict[tuple[str, int], Loaded] = OrderedDict()
        self._pointers: dict[tuple[str, str | None], int] = {}
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._on_load = on_load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lookups --------------------------------------------------------------------

    def get(self, name: str, ref: Ref = None) -> Loaded:
        """The loaded model meant by ``ref`` (a number, an alias, ``latest`` or None)."""
        number = self._number(name, ref)
        return self._loaded(name, number)

    def cached(self, name: str, ref: Ref = None) -> Loaded | None:
        """The loaded model meant by ``ref`` if it is in memory already, else None (no I/O)."""
        if isinstance(ref, str) and ref.strip().isdigit():
            ref = int(ref)
        number = ref if isinstance(ref, int) else self._pointers.get((name, ref))
        if number is None:
            return None
        found = self._models.get((name, number))
        if found is not None:
            with self._lock:
                if (name, number) in self._models:
                    self._models.move_to_end((name, number))
        return found

    def _number(self, name: str, ref: Ref) -> int:
        if isinstance(ref, int):
            return ref
        if isinstance(ref, str) and ref.strip().isdigit():
            return int(ref)
        key = (name, ref)
        number = self._pointers.get(key)
        if number is None:
            number = self.registry.resolve(name, ref).version
            self._pointers[key] = number
        return number

    def _loaded(self, name: str, number: int) -> Loaded:
        key = (name, number)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
                return found
        with self._load_lock:  # one load at a time: a burst of requests loads once
            with self._lock:
                found = self._models.get(key)
            if found is None:
                record, data = self.registry.fetch(name, number)
                found = prepare(record, data)
                if self._on_load is not None:
                    self._on_load(found)
            with self._lock:
                self._models[key] = found
                self._models.move_to_end(key)
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
        return found

    def forget(self, name: str, number: int) -> None:
        """Drop a loaded version (its stream state moved on elsewhere)."""
        with self._lock:
            self._models.pop((name, number), None)

    def loaded(self) -> list[Loaded]:
        """The versions in memory, least recently used first."""
        with self._lock:
            return list(self._models.values())

    # -- pointers -------------------------------------------------------------------

    def refresh_pointers(self) -> list[tuple[str, str | None, int, int]]:
        """Re-read every pointer; load moved targets first, then swap. Returns the moves."""
        moves = []
        for (name, ref), old in list(self._pointers.items()):
            try:
                new = self.registry.resolve(name, ref).version
            except ModelNotFound:
                self._pointers.pop((name, ref), None)
                continue
            if new != old:
                self._loaded(name, new)  # before the swap: no request waits for the load
                self._pointers[(name, ref)] = new
                moves.append((name, ref, old, new))
        return moves

    def start(self) -> None:
        """Start the background refresh of pointers."""
        if self._thread is not None or self.refresh <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alias-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.refresh):
            try:
                self.refresh_pointers()
            except Exception:  # a database hiccup: the pointers stay as they are, retried next tick
                continue
