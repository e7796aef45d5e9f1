"""The Dask engine on a real LocalCluster (2 worker processes): the same rows, scores and flags as locally."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe", reason="the dask extra is not installed")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

import anomalyzer as az  # noqa: E402
from anomalyzer import thresholds  # noqa: E402
from anomalyzer.engines.cluster import dask_client  # noqa: E402
from anomalyzer.engines.dask import score_dask  # noqa: E402
from anomalyzer.engines.detection import detect_dask  # noqa: E402
from anomalyzer.engines.ranking import ORDER, POS, SCORE, GlobalOrder  # noqa: E402
from anomalyzer.engines.sampling import sample_positions  # noqa: E402
from anomalyzer.engines.tail import threshold_at_scale  # noqa: E402
from anomalyzer.errors import AnomalyzerError  # noqa: E402

OUT = ["anomaly_score", "is_anomaly", "anomaly_rank", "anomaly_reason"]


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, memory_per_worker="1GiB") as c:
        yield c


def table(n: int, seed: int = 0, n_out: int = 30) -> pd.DataFrame:
    """Numbers, a category and planted anomalies far out in one column."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.lognormal(3, 0.5, n),
            "x": rng.normal(size=n),
            "shop": rng.choice(["a", "b", "c"], n),
        }
    )
    rows = rng.choice(n, n_out, replace=False)
    df.loc[rows, "x"] = rng.choice([-1.0, 1.0], n_out) * rng.uniform(8, 12, n_out)
    df.loc[rows, "amount"] *= rng.uniform(20, 40, n_out)
    return df


def parts(df: pd.DataFrame, k: int) -> list[pd.DataFrame]:
    bounds = np.linspace(0, len(df), k + 1).astype(int)
    return [df.iloc[a:b] for a, b in itertools.pairwise(bounds)]


def read_out(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("id").reset_index(drop=True)


def test_scores_ranks_reasons_equal_local_score_frame(client, tmp_path):
    df = table(4_000)
    model = az.Model("iforest", contamination=0.02).fit(df)
    local = model.score_frame(df)
    summary = model.score_dask(
        dd.from_pandas(df, npartitions=4), out=tmp_path / "s", client=client, top=5
    )
    got = read_out(tmp_path / "s")
    # Bit for bit: the same model scores the same rows the same way on a worker.
    assert np.array_equal(got["anomaly_score"].to_numpy(), local["anomaly_score"].to_numpy())
    for col in OUT[1:]:
        assert got[col].tolist() == local[col].tolist(), col
    assert summary.rows == 4_000 and summary.flags == int(local["is_anomaly"].sum())
    assert summary.top["anomaly_rank"].tolist() == [1, 2, 3, 4, 5]
    assert summary.top.index.tolist() == local.sort_values("anomaly_rank").index[:5].tolist()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        f"part.{i:05d}.parquet" for i in range(4)
    ]


def test_detect_on_100k_rows_flags_as_local(client, tmp_path):
    df = table(100_000, seed=1, n_out=200)
    local = az.detect(df, "iforest", contamination=0.005)
    summary = az.detect(
        dd.from_pandas(df, npartitions=6),
        "iforest",
        contamination=0.005,
        engine="dask",
        out=tmp_path / "d",
        client=client,
    )
    got = read_out(tmp_path / "d")
    # Below SAMPLE_ROWS the sample is the whole table: the model, the scores,
    # the threshold (an exact distributed quantile) and the flags are local's.
    assert summary.sample_rows == 100_000
    assert summary.threshold == local.threshold
    assert got["is_anomaly"].tolist() == local.frame["is_anomaly"].tolist()
    assert got["anomaly_rank"].tolist() == local.frame["anomaly_rank"].tolist()
    assert summary.model.threshold_ == summary.threshold


def test_fit_on_a_sample_keeps_contamination_over_all_rows(client, tmp_path):
    df = table(40_000, seed=2)
    summary = detect_dask(
        dd.from_pandas(df, npartitions=5),
        "iforest",
        out=tmp_path / "d",
        contamination=0.01,
        sample_rows=5_000,
        client=client,
    )
    got = read_out(tmp_path / "d")
    # The model saw 5,000 rows, the threshold all 40,000 scores: 1% of them flagged.
    assert summary.sample_rows == 5_000
    assert summary.threshold == np.quantile(got["anomaly_score"], 0.99)
    assert summary.flags == got["is_anomaly"].sum() == 400
    # Same scores as the sample model scoring the rows locally.
    local = summary.model.score(df)
    assert np.array_equal(got["anomaly_score"].to_numpy(), local)
    # Documented tolerance: within 2% of the threshold of a model fitted on all rows.
    full = az.detect(df, "iforest", contamination=0.01).threshold
    assert abs(summary.threshold - full) <= 0.02 * abs(full)
    # The planted rows are found as by the model fitted on all rows.
    planted = got["x"].abs() > 7
    assert got.loc[planted, "is_anomaly"].all()


def test_sample_is_uniform_and_reproducible():
    a = sample_positions([50_000, 30_000, 20_000], 10_000, seed=3)
    b = sample_positions([50_000, 30_000, 20_000], 10_000, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert [len(p) for p in a] == pytest.approx([5_000, 3_000, 2_000], rel=0.05)
    assert all(len(np.unique(p)) == len(p) for p in a)
    assert not np.array_equal(a[0], sample_positions([50_000, 30_000, 20_000], 10_000, 4)[0])


def test_auto_threshold_at_scale_matches_local_rule(client):
    rng = np.random.default_rng(5)
    scores = np.r_[rng.gamma(2.0, 1.0, 60_000), rng.uniform(25, 30, 40)]
    rng.shuffle(scores)
    pos = np.arange(scores.size)
    keys = dd.from_pandas(pd.DataFrame({POS: pos, ORDER: pos, SCORE: scores}), npartitions=4)
    order = GlobalOrder(keys, [len(p) for p in np.array_split(pos, 4)], client)
    local = thresholds.auto_threshold(scores)
    # Every score gathered: the local function itself.
    assert threshold_at_scale(order, "auto") == local
    # The scale from a sample and the break from the top 2,000: the same flags here.
    approx = threshold_at_scale(order, "auto", tail_rows=2_000, scale_sample=20_000)
    assert (scores > approx).sum() == (scores > local).sum() == 40
    assert threshold_at_scale(order, 0.1) == np.quantile(scores, 0.9)


def test_parquet_folder_and_csv_glob_give_the_same_rows(client, tmp_path):
    df = table(3_000, seed=6)
    (tmp_path / "pq").mkdir()
    (tmp_path / "csv").mkdir()
    for i, part in enumerate(parts(df, 3)):
        part.to_parquet(tmp_path / "pq" / f"p{i}.parquet", index=False)
        part.to_csv(tmp_path / "csv" / f"p{i}.csv", index=False)
    model = az.Model("iforest", contamination=0.01).fit(df)
    model.score_dask(str(tmp_path / "pq"), out=tmp_path / "a", client=client)
    model.score_dask(str(tmp_path / "csv" / "*.csv"), out=tmp_path / "b", client=client)
    a, b = read_out(tmp_path / "a"), read_out(tmp_path / "b")
    local = model.score_frame(df)
    assert list(a.columns) == [*df.columns, *OUT]
    assert np.array_equal(a["anomaly_score"], local["anomaly_score"])
    assert np.allclose(b["anomaly_score"], local["anomaly_score"], rtol=0, atol=1e-12)
    assert a["anomaly_rank"].tolist() == local["anomaly_rank"].tolist()


def test_mistakes_are_one_sentence(client, tmp_path):
    df = table(500)
    model = az.Model("iforest").fit(df)
    with pytest.raises(AnomalyzerError, match="No file matches"):
        score_dask(model, str(tmp_path / "none" / "*.parquet"), out=tmp_path / "o", client=client)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(AnomalyzerError, match="not empty"):
        model.score_dask(dd.from_pandas(df, npartitions=1), out=tmp_path / "full", client=client)
    df.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(AnomalyzerError, match="overlaps the input"):
        model.score_dask(str(tmp_path / "in.parquet"), out=tmp_path / "in.parquet", client=client)
    empty = dd.from_pandas(df.iloc[:0], npartitions=1)
    with pytest.raises(AnomalyzerError, match="no rows"):
        model.score_dask(empty, out=tmp_path / "e", client=client)
    assert not (tmp_path / "e").exists()
    with pytest.raises(AnomalyzerError, match="give out="):
        az.detect(df, engine="dask")
    with pytest.raises(AnomalyzerError, match="Unknown engine 'spark'"):
        az.detect(df, engine="spark")
    with pytest.raises(AnomalyzerError, match="group="):
        detect_dask(dd.from_pandas(df, npartitions=1), out=tmp_path / "t", time="id", client=client)


def test_series_by_group_equal_local(client, tmp_path):
    rng = np.random.default_rng(7)
    frames = []
    for g in range(8):
        v = 10 + np.sin(np.arange(240) * 2 * np.pi / 24) + rng.normal(0, 0.2, 240)
        v[100 + g] += 6
        t = pd.date_range("2026-01-01", periods=240, freq="h")
        frames.append(pd.DataFrame({"host": f"h{g}", "timestamp": t, "cpu": v}))
    df = pd.concat(frames, ignore_index=True).sample(frac=1, random_state=0)
    df = df.reset_index(drop=True)
    summary = az.detect(
        dd.from_pandas(df, npartitions=3), "rolling_z", time="timestamp", group="host",
        engine="dask", out=tmp_path / "g", client=client,
    )  # fmt: skip
    local = az.detect(df, "rolling_z", time="timestamp", group="host").frame
    got = pd.read_parquet(tmp_path / "g").merge(
        local, on=["host", "timestamp"], suffixes=("", "_local")
    )
    assert len(got) == len(df) and summary.n_series == 8
    for col in OUT:
        assert got[col].tolist() == got[f"{col}_local"].tolist(), col
    assert summary.flags == int(local["is_anomaly"].sum()) >= 8
    assert not (tmp_path / "g" / "_series_pass").exists()


def test_cli_detect_and_score_on_dask(client, tmp_path):
    from typer.testing import CliRunner

    from anomalyzer.cli import app

    df = table(4_000, seed=8)
    (tmp_path / "in").mkdir()
    for i, part in enumerate(parts(df, 2)):
        part.to_parquet(tmp_path / "in" / f"p{i}.parquet", index=False)
    address = client.scheduler.address
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["detect", str(tmp_path / "in"), "-d", "iforest", "--contamination", "0.01",
         "--engine", "dask", "--scheduler", address, "--out", str(tmp_path / "o1"),
         "--save", str(tmp_path / "m.azm"), "--top", "3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "40 of 4,000 rows flagged" in res.output and "dashboard" in res.output
    res = runner.invoke(
        app,
        ["score", str(tmp_path / "m.azm"), str(tmp_path / "in" / "*.parquet"), "--engine",
         "dask", "--scheduler", address, "--out", str(tmp_path / "o2")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert read_out(tmp_path / "o1").equals(read_out(tmp_path / "o2"))
    for args, words in [
        (["detect", str(tmp_path / "in"), "--engine", "dask"], "give --out"),
        (["detect", str(tmp_path / "in"), "--workers", "2"], "need --engine dask"),
        (["detect", "x.csv", "--engine", "dask", "--out", str(tmp_path / "o1")], "not empty"),
        (["detect", "x.csv", "--engine", "ray", "--out", "o"], "Unknown engine"),
    ]:
        res = runner.invoke(app, args)
        assert res.exit_code != 0 and words in str(res.exception), args


def test_worker_killed_mid_run_loses_and_duplicates_no_row(client, tmp_path):
    df = table(20_000, seed=9)
    out = tmp_path / "k"
    done: dict[str, object] = {}

    def run() -> None:
        try:
            done["summary"] = detect_dask(
                dd.from_pandas(df, npartitions=20), "iforest", out=out, contamination=0.01,
                client=client,
            )  # fmt: skip
        except BaseException as exc:  # reported by the assertion below
            done["error"] = exc

    pids = list(client.run(os.getpid).values())
    worker = threading.Thread(target=run)
    worker.start()
    # Kill one worker process as soon as the first partition is written.
    while worker.is_alive() and not list(out.glob("part.*.parquet")):
        time.sleep(0.005)
    written_when_killed = len(list(out.glob("part.*.parquet")))
    os.kill(pids[0], signal.SIGKILL)
    worker.join(timeout=120)
    assert "error" not in done, done.get("error")
    assert 0 < written_when_killed < 20
    got = read_out(out)
    assert len(got) == len(df) and got["id"].is_unique
    assert got["id"].tolist() == df["id"].tolist()
    assert sorted(got["anomaly_rank"]) == list(range(1, len(df) + 1))
    assert np.array_equal(got["anomaly_score"], done["summary"].model.score(df))
    assert not list(out.glob(".*"))
