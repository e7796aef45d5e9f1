"""ONNX export: every exportable detector agrees with its model, the file runs without anomalyzer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("onnx", reason="the onnx extra is not installed")
pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import onnx

import anomalyzer as az
from anomalyzer.errors import AnomalyzerError
from anomalyzer.export import exportable, onnx_inputs, report_of
from anomalyzer.export.onnx import build_graph, check_parity, session


def mixed_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Every kind of column the preprocessing knows, with missing values in each."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3.0, 0.6, n).round(2),
            "items": rng.poisson(3, n).astype(float),
            "country": rng.choice(["DE", "FR", "NL", "Ünï"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "merchant": [f"m{int(v)}" for v in rng.zipf(1.6, n) % 40],  # many levels: frequency
            "express": rng.choice(["Yes", "no"], n),
            "flag": rng.choice([0, 5], n),  # two numbers: a linear boolean
            "when": pd.date_range("1969-12-20", periods=n, freq="7h13min11s").astype(str),
        }
    )
    df.loc[[3, 40], "amount"] = np.nan
    df.loc[9, "amount"] = 9000.0
    df.loc[[5, 11], "country"] = None
    df.loc[12, "country"] = "  "
    df.loc[14, "express"] = None
    df.loc[15, "flag"] = np.nan
    df.loc[[17, 90], "when"] = None
    return df


def fresh_rows() -> pd.DataFrame:
    """Rows unlike the training ones: unseen levels, blanks, missing and extreme values."""
    return pd.DataFrame(
        {
            "amount": [12.0, np.nan, 1e9, -3.0, np.inf],
            "items": [0.0, 50.0, np.nan, 2.0, 3.0],
            "country": ["XK", "", "DE", None, "\xa0\u3000 "],  # blank: missing
            "merchant": ["m1", "never-seen", None, "m3", "m2"],
            "express": ["YES", "maybe", None, "No", "  "],
            "flag": [5.0, 2.5, np.nan, 0.0, 10.0],
            "when": [
                "2030-02-29 23:59:59",
                None,
                "1950-06-01 00:00:00",
                "1970-01-01",
                "1969-12-31 23:00",
            ],
        }
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return mixed_table()


def run_graph(proto: onnx.ModelProto, model: az.Model, df: pd.DataFrame) -> tuple:
    scores, flags = session(proto).run(None, onnx_inputs(model.preprocessor_, df))
    return scores, flags


@pytest.mark.parametrize("name", exportable())
def test_exported_scores_and_flags_match_the_model(name: str, table: pd.DataFrame) -> None:
    model = az.Model(name).fit(table)
    proto = model.to_onnx(data=table)
    report = report_of(proto)
    assert report.passed and report.rows == len(table)
    assert report.max_abs_diff <= 1e-5
    assert report.flags_differ_off_threshold == 0
    # Rows never seen at fit time go through the same encodings and scores.
    new = fresh_rows()
    scores, flags = run_graph(proto, model, new)
    native = model.score(new)
    np.testing.assert_allclose(scores, native, rtol=1e-9, atol=1e-9)
    assert flags.tolist() == (native > model.threshold_).tolist()


def test_graph_has_one_typed_input_per_column_and_two_outputs(table: pd.DataFrame) -> None:
    model = az.Model("iforest").fit(table)
    proto = build_graph(model)
    types = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    T = onnx.TensorProto
    assert types == {
        "amount": T.DOUBLE,
        "items": T.DOUBLE,
        "country": T.STRING,
        "merchant": T.STRING,
        "express": T.STRING,
        "flag": T.DOUBLE,
        "when": T.INT64,
    }
    assert [o.name for o in proto.graph.output] == ["anomaly_score", "is_anomaly"]
    assert any(n.op_type == "TreeEnsemble" for n in proto.graph.node)


def test_written_file_holds_the_parity_report(table: pd.DataFrame, tmp_path: Path) -> None:
    model = az.Model("pca").fit(table)
    out = tmp_path / "model.onnx"
    model.to_onnx(out, data=table)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["anomalyzer.parity"])["rows"] == len(table)
    assert float(meta["anomalyzer.threshold"]) == model.threshold_
    assert report_of(out).passed


def test_detector_that_cannot_export_is_named_with_those_that_can(table: pd.DataFrame) -> None:
    model = az.Model("lof").fit(table)
    with pytest.raises(
        AnomalyzerError, match=r"'lof' cannot be exported to ONNX; these can: .*iforest"
    ):
        model.to_onnx(data=table)
    members = az.Model("auto", members=["iforest", "kde"]).fit(table)
    with pytest.raises(AnomalyzerError, match=r"'kde' \(a member of auto\) cannot be exported"):
        members.to_onnx(data=table)


def test_export_needs_the_training_data(table: pd.DataFrame) -> None:
    model = az.Model("mad").fit(table)
    with pytest.raises(AnomalyzerError, match="data="):
        model.to_onnx(data=None)


def test_graph_beyond_tolerance_is_refused_and_not_written(
    table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = az.Model("pca").fit(table)
    proto = build_graph(model)
    # Shift the detector's centre by a little: a real graph that disagrees.
    centre = next(t for t in proto.graph.initializer if t.dims == [len(model.detector_.centre_)])
    values = onnx.numpy_helper.to_array(centre) + 0.01
    centre.CopyFrom(onnx.numpy_helper.from_array(values, centre.name))
    report = check_parity(model, proto, table)
    assert not report.passed and report.rows_beyond_tolerance > 0

    import anomalyzer.export.onnx as export

    monkeypatch.setattr(export, "build_graph", lambda m: proto)
    out = tmp_path / "bad.onnx"
    with pytest.raises(AnomalyzerError, match=r"beyond the tolerance.*not written"):
        model.to_onnx(out, data=table)
    assert not out.exists()


def test_daylight_saving_time_zone_with_hours_is_refused() -> None:
    when = pd.date_range("2024-03-01", periods=200, freq="5h", tz="Europe/Paris")
    df = pd.DataFrame({"when": when, "x": np.arange(200.0)})
    model = az.Model("mad").fit(df)
    with pytest.raises(AnomalyzerError, match=r"Europe/Paris.*daylight saving"):
        model.to_onnx(data=df)
    utc = pd.DataFrame({"when": when.tz_convert("UTC"), "x": np.arange(200.0)})
    model = az.Model("mad").fit(utc)
    assert report_of(model.to_onnx(data=utc)).passed


_RUNNER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "anomalyzer" or name.startswith("anomalyzer."):
                raise ImportError("anomalyzer is blocked in this process")

    sys.meta_path.insert(0, Block())
    try:
        import anomalyzer  # noqa: F401
        sys.exit("anomalyzer was importable")
    except ImportError:
        pass
    import numpy as np
    import onnxruntime as ort

    model_path, feeds_path = sys.argv[1], sys.argv[2]
    raw = json.load(open(feeds_path))
    types = {"double": np.float64, "int64": np.int64, "string": object}
    feeds = {k: np.array(v["values"], dtype=types[v["type"]]) for k, v in raw.items()}
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    scores, flags = sess.run(["anomaly_score", "is_anomaly"], feeds)
    print(json.dumps({"scores": scores.tolist(), "flags": flags.tolist(),
                      "modules": sorted(m for m in sys.modules if m.startswith("anomalyzer"))}))
    """
)


def test_exported_file_runs_with_onnxruntime_alone(table: pd.DataFrame, tmp_path: Path) -> None:
    model = az.Model("auto").fit(table)
    out = tmp_path / "auto.onnx"
    model.to_onnx(out, data=table)
    new = fresh_rows()
    feeds = onnx_inputs(model.preprocessor_, new)
    kinds = {
        np.dtype(np.float64): "double",
        np.dtype(np.int64): "int64",
        np.dtype(object): "string",
    }
    payload = {
        k: {"type": kinds[v.dtype], "values": [None if x != x else x for x in v.tolist()]}
        for k, v in feeds.items()
    }
    # JSON has no NaN: missing numbers travel as null and come back as NaN.
    (tmp_path / "feeds.json").write_text(json.dumps(payload))
    (tmp_path / "run.py").write_text(_RUNNER)
    # -I: no PYTHONPATH, no user site, no current folder on the path.
    done = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "run.py"), str(out), str(tmp_path / "feeds.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["modules"] == []
    native = model.score(new)
    np.testing.assert_allclose(result["scores"], native, rtol=1e-9, atol=1e-9)
    assert result["flags"] == (native > model.threshold_).tolist()
