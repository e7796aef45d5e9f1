"""Exporting fitted models to formats other runtimes read: ONNX.

``to_onnx(model, path, data=train)`` writes one graph holding the
preprocessing, the detector and the threshold, checked against the model on
``data`` before it is written. ``exportable()`` lists the detectors that
export; ``onnx_inputs(model.preprocessor_, df)`` writes a table as the graph's
inputs; ``report_of(path)`` reads the parity report stored in a file.

Needs the ``onnx`` extra: ``pip install 'anomalyzer[onnx]'``.
"""

from __future__ import annotations

from typing import Any

from anomalyzer.errors import AnomalyzerError

__all__ = ["exportable", "onnx_inputs", "report_of", "to_onnx"]


def _require() -> None:
    import importlib.util

    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise AnomalyzerError(
            f"ONNX export needs {' and '.join(missing)}, which is not installed; "
            "install it with: pip install 'anomalyzer[onnx]'."
        )


def to_onnx(model: Any, path: Any = None, *, data: Any, **kwargs: Any) -> Any:
    """See :func:`anomalyzer.export.onnx.to_onnx`."""
    _require()
    from anomalyzer.export.onnx import to_onnx as export

    return export(model, path, data=data, **kwargs)


def exportable() -> list[str]:
    """Names of the detectors that export to ONNX."""
    _require()
    from anomalyzer.export.detector_graphs import exportable as names

    return names()


def onnx_inputs(pre: Any, df: Any) -> Any:
    """See :func:`anomalyzer.export.inputs.onnx_inputs`."""
    _require()
    from anomalyzer.export.inputs import onnx_inputs as convert

    return convert(pre, df)


def report_of(model: Any) -> Any:
    """See :func:`anomalyzer.export.parity.report_of`."""
    _require()
    from anomalyzer.export.parity import report_of as read

    return read(model)
