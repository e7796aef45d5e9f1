"""``to_onnx``: a fitted :class:`~anomalyzer.Model` as one ONNX graph, checked before it is written.

The graph takes one input per original feature column (see
:mod:`anomalyzer.export.preprocess_graph` for their types), encodes them as
the model's preprocessing does, scores the rows with the detector and compares
the score with the threshold. Its outputs are ``anomaly_score`` (float64,
higher = more anomalous) and ``is_anomaly`` (bool).

Before anything is written, the graph runs in onnxruntime on the sample it is
given (the training table, at most ``check_rows`` rows of it) and its scores
and flags are compared with the model's own (:mod:`anomalyzer.export.parity`).
The report is stored in the file's metadata under ``anomalyzer.parity``; a
graph that disagrees beyond the tolerance is refused, not written.

>>> import pandas as pd, tempfile, os
>>> from anomalyzer import Model
>>> df = pd.DataFrame({"x": [1.0, 1.2, 0.9, 1.1, 1.0, 8.0] * 5, "c": list("aabab" "c") * 5})
>>> model = Model("pca").fit(df)
>>> with tempfile.TemporaryDirectory() as tmp:
...     proto = to_onnx(model, os.path.join(tmp, "m.onnx"), data=df)
...     os.path.exists(os.path.join(tmp, "m.onnx"))
True
>>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
(['x', 'c'], ['anomaly_score', 'is_anomaly'])
>>> report_of(proto).passed
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd

from anomalyzer.data import read_table
from anomalyzer.destinations import check_destination
from anomalyzer.detectors.auto import Auto
from anomalyzer.detectors.neighbors import KNN
from anomalyzer.detectors.ocsvm import OCSVM
from anomalyzer.errors import AnomalyzerError
from anomalyzer.export.detector_graphs import check_exportable, detector_graph
from anomalyzer.export.graph import GraphBuilder
from anomalyzer.export.inputs import onnx_inputs
from anomalyzer.export.parity import (
    ATOL,
    CHECK_ROWS,
    RTOL,
    RTOL_KERNEL,
    ParityReport,
    compare_scores,
    report_of,
)
from anomalyzer.export.preprocess_graph import build_preprocessing, check_expressible, input_types

__all__ = ["build_graph", "report_of", "session", "to_onnx"]

# Entries of the widest intermediate (rows x reference rows) per onnxruntime call
# of the check: about 64 MiB in float64.
_CHUNK_VALUES = 1 << 23


def build_graph(model: Any) -> onnx.ModelProto:
    """The unchecked ONNX graph of a fitted ``model`` (preprocessing, detector, threshold)."""
    model._check_fitted()
    det, pre = model.detector_, model.preprocessor_
    check_exportable(det)
    check_expressible(pre)
    b = GraphBuilder()
    X = build_preprocessing(b, pre)
    score = detector_graph(b, det, X)
    flags = b.op("Greater", score, b.const(np.array(float(model.threshold_))))
    b.output(score, "anomaly_score", "double")
    b.output(flags, "is_anomaly", "bool")
    from anomalyzer.version import __version__

    return b.model(
        {
            "anomalyzer.version": __version__,
            "anomalyzer.detector": model.detector_name,
            "anomalyzer.threshold": repr(float(model.threshold_)),
            "anomalyzer.inputs": json.dumps(input_types(pre)),
            "anomalyzer.features": json.dumps(pre.feature_names_),
        }
    )


def session(proto: onnx.ModelProto | str | os.PathLike[str]) -> Any:
    """An onnxruntime session on the CPU for an exported graph (a proto or a path)."""
    import onnxruntime as ort

    source = proto.SerializeToString() if isinstance(proto, onnx.ModelProto) else str(proto)
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


def to_onnx(
    model: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    data: Any,
    check_rows: int = CHECK_ROWS,
    **read: Any,
) -> onnx.ModelProto:
    """Export ``model`` as one ONNX graph, checked on ``data`` and written to ``path`` if given.

    ``data`` is the table the model was fitted on (a path, URL or DataFrame),
    or a sample of it: the export scores it both ways and refuses to write a
    graph whose scores or flags disagree beyond the tolerance. The parity
    report is kept in the graph's metadata (:func:`report_of` reads it).
    """
    if data is None:
        raise AnomalyzerError(
            "Exporting checks the graph on the training data; pass data=<the table the model "
            "was fitted on, or a sample of it>."
        )
    destination = None if path is None else check_destination(Path(path), "ONNX file")
    if destination is not None and isinstance(data, str | os.PathLike):
        if Path(data).exists() and Path(data).resolve() == destination.resolve():
            raise AnomalyzerError(
                f"Cannot write the ONNX file over the data '{destination}'; give another path."
            )
    proto = build_graph(model)
    df = _check_sample(read_table(data, **read), check_rows)
    report = check_parity(model, proto, df)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "anomalyzer.parity", report.to_json()
    if not report.passed:
        raise AnomalyzerError(
            f"The ONNX graph disagrees with the model beyond the tolerance ({report.summary()}); "
            "it was not written, please report this with the model."
        )
    if destination is not None:
        onnx.save(proto, str(destination))
    return proto


def check_parity(model: Any, proto: onnx.ModelProto, df: pd.DataFrame) -> ParityReport:
    """Score ``df`` natively and through onnxruntime, and compare."""
    native = model.score(df)
    feeds = onnx_inputs(model.preprocessor_, df)
    sess = session(proto)
    step = max(1, min(len(df), _CHUNK_VALUES // _widest(model.detector_)))
    scores, flags = [], []
    for start in range(0, len(df), step):
        part = {k: v[start : start + step] for k, v in feeds.items()}
        s, f = sess.run(["anomaly_score", "is_anomaly"], part)
        scores.append(s)
        flags.append(f)
    return compare_scores(
        native,
        np.concatenate(scores),
        model.threshold_,
        atol=ATOL,
        rtol=_rtol(model.detector_),
        exported_flags=np.concatenate(flags),
    )


def _rtol(det: Any) -> float:
    members = [m for _, m in det.members_] if isinstance(det, Auto) else [det]
    return RTOL_KERNEL if any(isinstance(m, OCSVM) for m in members) else RTOL


def _widest(det: Any) -> int:
    """Columns of the widest (rows x columns) intermediate the graph builds per row."""
    members = [m for _, m in det.members_] if isinstance(det, Auto) else [det]
    width = 64
    for m in members:
        if isinstance(m, KNN):
            width = max(width, len(m.index_.inverse))
        elif isinstance(m, OCSVM):
            width = max(width, len(m.support_vectors_))
    return width


def _check_sample(df: pd.DataFrame, check_rows: int) -> pd.DataFrame:
    if len(df) <= check_rows:
        return df
    rng = np.random.default_rng(0)
    return df.iloc[np.sort(rng.choice(len(df), size=check_rows, replace=False))]
