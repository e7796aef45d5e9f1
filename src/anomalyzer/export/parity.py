"""How closely an exported graph agrees with the model it came from.

A row agrees when its two scores differ by at most ``atol + rtol * |native|``
(``rtol`` covers scores so large that float64 itself cannot hold 1e-5, and
the one-class SVM, whose kernel sums are checked to a relative 1e-4); a row's
flag may differ only when its native score lies within ``atol`` (or
``rtol * |threshold|``) of the threshold, where rounding decides the side.

>>> native = np.array([0.1, 0.5, 0.9])
>>> report = compare_scores(native, native + 1e-9, threshold=0.5)
>>> report.passed, report.rows, report.flags_differ, report.flags_differ_off_threshold
(True, 3, 1, 0)
>>> compare_scores(native, native + [0.0, 0.0, 0.2], threshold=0.5).passed
False
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Rows of the given data checked before writing; beyond it, a seeded random sample.
CHECK_ROWS = 50_000
#: Largest absolute score difference accepted.
ATOL = 1e-5
#: Relative difference accepted beyond ``ATOL`` (rounding of float64 itself).
RTOL = 1e-9
#: Relative difference accepted for the one-class SVM's kernel sums.
RTOL_KERNEL = 1e-4


@dataclass(frozen=True)
class ParityReport:
    """Agreement of exported and native scores on a sample of rows."""

    rows: int
    max_abs_diff: float
    max_rel_diff: float
    flags_differ: int
    flags_differ_off_threshold: int
    rows_beyond_tolerance: int
    atol: float
    rtol: float
    passed: bool

    def to_json(self) -> str:
        """The report as one line of JSON (stored in the ONNX file's metadata)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ParityReport:
        """Read back :meth:`to_json`."""
        return cls(**json.loads(text))

    def summary(self) -> str:
        """One line for people."""
        verdict = "within" if self.passed else "BEYOND"
        return (
            f"{self.rows} rows: max |score diff| {self.max_abs_diff:.2e}, "
            f"max relative {self.max_rel_diff:.2e}, {self.flags_differ} flag(s) differ "
            f"({self.flags_differ_off_threshold} away from the threshold); {verdict} tolerance "
            f"(atol {self.atol:g}, rtol {self.rtol:g})"
        )


def compare_scores(
    native: np.ndarray,
    exported: np.ndarray,
    threshold: float,
    *,
    atol: float = ATOL,
    rtol: float = RTOL,
    exported_flags: np.ndarray | None = None,
) -> ParityReport:
    """Compare two score vectors of the same rows and the flags they give."""
    native = np.asarray(native, dtype=np.float64)
    exported = np.asarray(exported, dtype=np.float64)
    diff = np.abs(native - exported)
    diff = np.where(np.isnan(diff), np.inf, diff)
    rel = diff / np.maximum(np.abs(native), np.finfo(np.float64).tiny)
    beyond = diff > atol + rtol * np.abs(native)
    flags = exported > threshold if exported_flags is None else np.asarray(exported_flags, bool)
    differ = (native > threshold) != flags
    near = np.abs(native - threshold) <= max(atol, rtol * abs(threshold))
    off = int((differ & ~near).sum())
    return ParityReport(
        rows=int(native.size),
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        max_rel_diff=float(rel.max()) if rel.size else 0.0,
        flags_differ=int(differ.sum()),
        flags_differ_off_threshold=off,
        rows_beyond_tolerance=int(beyond.sum()),
        atol=float(atol),
        rtol=float(rtol),
        passed=bool(not beyond.any() and off == 0),
    )


def report_of(model: Any) -> ParityReport:
    """The parity report stored in an exported ``onnx.ModelProto`` (or a path to one)."""
    import onnx

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    meta = {p.key: p.value for p in model.metadata_props}
    return ParityReport.from_json(meta["anomalyzer.parity"])
