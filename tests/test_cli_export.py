"""``anomalyzer export``: a saved model becomes a checked ONNX file; mistakes are one sentence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import anomalyzer as az
from anomalyzer import cli
from anomalyzer.export import onnx_inputs, report_of
from anomalyzer.export.onnx import session

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "amount": np.r_[rng.normal(50, 5, 199), 400.0],
            "shop": rng.choice(["a", "b", "c"], 200),
            "day": pd.date_range("2024-01-01", periods=200, freq="D").astype(str),
        }
    )
    data = folder / "train.csv"
    df.to_csv(data, index=False)
    model = folder / "model.anomalyzer"
    az.Model("iforest").fit(df).save(model)
    return model, data


def test_export_writes_a_file_that_scores_like_the_model(saved: tuple[Path, Path]) -> None:
    model, data = saved
    out = model.with_name("model.onnx")
    res = runner.invoke(
        cli.app, ["export", str(model), "--format", "onnx", "--out", str(out), "--data", str(data)]
    )
    assert res.exit_code == 0, (res.output, res.exception)
    assert "Parity" in res.output and "within tolerance" in res.output
    assert report_of(out).passed
    fitted = az.load(model)
    df = pd.read_csv(data)
    scores, flags = session(out).run(None, onnx_inputs(fitted.preprocessor_, df))
    np.testing.assert_allclose(scores, fitted.score(df), rtol=1e-12, atol=1e-12)
    assert flags.sum() >= 1 and flags[-1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "{folder}/model.csv"], "use a .onnx file name for --out"),
        (["--out", "{folder}/no/such/m.onnx"], "does not exist"),
        (["--out", "{folder}/lof.onnx", "--model", "lof"], "'lof' cannot be exported to ONNX"),
    ],
)
def test_mistakes_exit_2_with_one_sentence(
    saved: tuple[Path, Path],
    extra: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model, data = saved
    folder = model.parent
    args = [a.format(folder=folder) for a in extra]
    if "--model" in args:
        at = args.index("--model")
        name = args[at + 1]
        del args[at : at + 2]
        model = folder / f"{name}.anomalyzer"
        az.Model(name).fit(pd.read_csv(data)).save(model)
    monkeypatch.setattr(
        sys, "argv", ["anomalyzer", "export", str(model), "--data", str(data), *args]
    )
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and "Traceback" not in err
    assert not any(p.suffix == ".onnx" and p.stem in ("lof",) for p in folder.iterdir())


def test_series_model_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    series = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=200, freq="h").astype(str),
            "value": np.sin(np.arange(200) / 5.0),
        }
    )
    data = tmp_path / "series.csv"
    series.to_csv(data, index=False)
    model = az.SeriesModel("rolling_z", n_jobs=1).fit(series, "timestamp")
    model = model.save(tmp_path / "series.azm")
    out = tmp_path / "series.onnx"
    argv = ["anomalyzer", "export", str(model), "--out", str(out), "--data", str(data)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    assert "only table models export to ONNX" in " ".join(capsys.readouterr().err.split())
    assert not out.exists()
