"""The HTTP service, in-process (FastAPI's TestClient) over a real registry: SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")

from fastapi.testclient import TestClient

from anomalyzer import Model, SeriesModel
from anomalyzer.registry import Registry
from anomalyzer.service import Settings, create_app
from anomalyzer.service.fastpath import TableScorer


def _table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 0.4, n)
    amount[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "items": rng.integers(1, 6, n),
            "country": rng.choice(["US", "FR", "DE", "XK"], n, p=[0.6, 0.2, 0.19, 0.01]),
            "merchant": rng.choice([f"m{i}" for i in range(30)], n),
            "online": rng.choice([True, False], n),
        }
    )


def _series(n: int = 300) -> pd.DataFrame:
    t = pd.date_range("2026-03-01", periods=n, freq="h")
    rng = np.random.default_rng(1)
    cpu = 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, 1, n)
    return pd.DataFrame({"timestamp": t, "cpu": cpu})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("service-models")
    df = _table()
    series = _series()
    return {
        "iforest": Model("iforest", n_estimators=50).fit(df).save(tmp / "iforest.azm"),
        "mad": Model("mad").fit(df).save(tmp / "mad.azm"),
        "series": SeriesModel("rolling_z", causal=True)
        .fit(series.iloc[:250], "timestamp")
        .save(tmp / "series.azm"),
    }


class Served:
    def __init__(self, url: str, files: dict[str, Path], **settings: object) -> None:
        self.url = url
        self.registry = Registry(url, actor="tester")
        self.registry.push(files["iforest"], name="fraud")
        self.registry.push(files["series"], name="cpu")
        self.score_key = self.registry.create_key("score")[1]
        self.admin_key = self.registry.create_key("admin")[1]
        self.settings = Settings(registry=url, refresh=0, **settings)  # type: ignore[arg-type]
        self.app = create_app(self.settings, Registry(url, actor="service"))
        self.client = TestClient(self.app)

    def headers(self, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key if admin else self.score_key}"}

    def post(self, path: str, body: object, admin: bool = False, **kw: object) -> object:
        return self.client.post(path, json=body, headers=self.headers(admin), **kw)

    def get(self, path: str, admin: bool = False) -> object:
        return self.client.get(path, headers=self.headers(admin))

    def close(self) -> None:
        self.client.close()
        self.app.state.registry.close()
        self.registry.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path, files: dict[str, Path]) -> Served:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    s = Served(url, files)
    yield s
    s.close()


@pytest.fixture()
def lite(tmp_path: Path, files: dict[str, Path]) -> Served:
    s = Served(f"sqlite:///{tmp_path / 'registry.db'}", files, max_rows=50, max_body_bytes=20_000)
    yield s
    s.close()


def _rows(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records"))


def _one_sentence(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    text = body["error"]
    assert text.endswith(".") and "\n" not in text and "Traceback" not in text
    return text


# -- scoring -----------------------------------------------------------------------


def test_score_matches_score_frame(served: Served) -> None:
    model = served.registry.load("fraud")
    rows = _rows(_table(30, seed=5))
    rows[3]["amount"] = 25_000.0
    rows[4]["country"] = "never-seen"
    for batch in (rows[3:4], rows[:8], rows):
        r = served.post("/models/fraud/score", {"rows": batch})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["model"], body["version"]) == ("fraud", 1)
        expected = model.score_frame(pd.DataFrame.from_records(batch))
        got = body["results"]
        np.testing.assert_allclose(
            [g["score"] for g in got], expected["anomaly_score"], rtol=0, atol=0
        )
        assert [g["is_anomaly"] for g in got] == expected["is_anomaly"].tolist()
        assert [g["rank"] for g in got] == expected["anomaly_rank"].tolist()
        assert [g["reason"] for g in got] == expected["anomaly_reason"].tolist()
    assert (
        "amount"
        in served.post("/models/fraud/score", {"rows": rows[3:4]}).json()["results"][0]["reason"]
    )


def test_fast_path_equals_score_frame(files: dict[str, Path]) -> None:
    from anomalyzer import load

    rng = np.random.default_rng(7)
    for name in ("iforest", "mad"):
        model = load(files[name])
        scorer = TableScorer(model)
        rows = _rows(_table(40, seed=9))
        # Edge values: missing, unseen levels, blanks, ints in a float column, huge numbers.
        rows[0]["amount"] = None
        rows[1]["country"] = "ZZ"
        rows[2]["merchant"] = "  "
        rows[3]["amount"] = 7
        rows[4]["amount"] = 1e308
        rows[5]["online"] = None
        del rows[6]["items"]
        for size in (1, 2, 5, 40):
            start = int(rng.integers(0, 40 - size + 1))
            batch = rows[start : start + size]
            fast = scorer.score(batch)
            assert fast.fast
            ref = model.score_frame(pd.DataFrame.from_records(batch))
            assert fast.scores.tolist() == ref["anomaly_score"].tolist()
            assert fast.flags.tolist() == ref["is_anomaly"].tolist()
            assert fast.ranks.tolist() == ref["anomaly_rank"].tolist()
            assert fast.reasons == ref["anomaly_reason"].tolist()
        # Text in a numeric column: the pandas path, and its one-sentence error.
        assert not scorer.score([{**rows[0], "amount": "12.5"}]).fast
        with pytest.raises(Exception, match="missing from the data"):
            scorer.score([{"amount": 1.0}])


def test_explain_and_series_score(served: Served) -> None:
    rows = _rows(_table(3, seed=2))
    r = served.post("/models/fraud/explain", {"rows": rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["amount", "items", "country", "merchant", "online"]
    ref = served.registry.load("fraud").explain(pd.DataFrame.from_records(rows))
    np.testing.assert_allclose(
        [[c[k] for k in body["columns"]] for c in body["contributions"]], ref.to_numpy()
    )
    assert "series model" in _one_sentence(served.post("/models/cpu/explain", {"rows": rows}))


def test_stream_state_is_persisted(served: Served, files: dict[str, Path]) -> None:
    rest = _series().iloc[250:]
    rest.loc[rest.index[20], "cpu"] = 150.0
    points = [
        {"timestamp": str(t), "cpu": float(v)}
        for t, v in zip(rest["timestamp"], rest["cpu"], strict=True)
    ]
    r = served.post("/models/cpu/update", {"rows": points[:20]})
    assert r.status_code == 200, r.text
    first = r.json()["results"]
    # A new app on the same registry (a restart, or another worker) continues the stream.
    other = create_app(served.settings, Registry(served.url, actor="service"))
    with TestClient(other) as client:
        r2 = client.post("/models/cpu/update", json={"rows": points[20:]}, headers=served.headers())
    other.state.registry.close()
    assert r2.status_code == 200, r2.text
    second = r2.json()["results"]
    assert second[0]["is_anomaly"] and second[0]["reason"]
    # Same answers as one local model updated with all the points in turn.
    from anomalyzer import load

    local = load(files["series"])
    expected = pd.concat(
        [local.update(pd.DataFrame(points[:20])), local.update(pd.DataFrame(points[20:]))]
    )
    got = [p["score"] for p in first + second]
    np.testing.assert_allclose(got, expected["anomaly_score"].to_numpy())
    # The point already seen is refused, with the reason, not scored twice.
    again = served.post("/models/cpu/update", {"rows": points[-1:]}).json()["results"][0]
    assert again["score"] is None and "not after the last point" in again["reason"]
    assert "table model" in _one_sentence(served.post("/models/fraud/update", {"rows": points[:1]}))


def test_feedback_is_stored(served: Served) -> None:
    r = served.post(
        "/models/fraud/feedback",
        {"items": [{"row": {"amount": 9000}, "label": "anomaly", "row_id": "tx-1", "score": 0.8}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    stored = served.registry.feedback("fraud")
    assert [(f.row_id, f.label, f.row) for f in stored] == [("tx-1", 1, {"amount": 9000})]
    assert stored[0].actor.startswith("key:")
    bad = served.post("/models/fraud/feedback", {"items": [{"row": {}, "label": "perhaps"}]})
    assert bad.status_code == 400 and "label" in _one_sentence(bad)


# -- Open Inference Protocol ------------------------------------------------------


def test_open_inference_protocol(served: Served) -> None:
    assert served.client.get("/v2/health/live").json() == {"live": True}
    assert served.client.get("/v2/health/ready").json() == {"ready": True}
    meta = served.get("/v2/models/fraud").json()
    assert meta["name"] == "fraud" and meta["versions"] == ["1"]
    assert {"name": "amount", "datatype": "FP64", "shape": [-1]} in meta["inputs"]
    assert served.get("/v2/models/fraud/versions/1").json()["parameters"]["detector"] == "iforest"
    assert served.get("/v2/models/fraud/ready").json() == {"name": "fraud", "ready": True}
    listed = {m["name"]: m for m in served.get("/models").json()}
    assert listed["fraud"]["latest"] == 1 and listed["cpu"]["kind"] == "series"
    rows = _rows(_table(4, seed=3))
    inputs = [
        {"name": c, "shape": [4], "datatype": "BYTES", "data": [r.get(c) for r in rows]}
        for c in rows[0]
    ]
    r = served.post("/v2/models/fraud/versions/1/infer", {"id": "q1", "inputs": inputs})
    assert r.status_code == 200, r.text
    out = {o["name"]: o for o in r.json()["outputs"]}
    assert r.json()["id"] == "q1" and out["anomaly_score"]["shape"] == [4]
    plain = served.post("/models/fraud/score", {"rows": rows}).json()["results"]
    assert out["anomaly_score"]["data"] == [p["score"] for p in plain]
    assert out["anomaly_reason"]["data"] == [p["reason"] for p in plain]
    bad = served.post("/v2/models/fraud/infer", {"inputs": [{**inputs[0], "shape": [2, 2]}]})
    assert bad.status_code == 400 and "1-D tensor" in _one_sentence(bad)


# -- security and limits ------------------------------------------------------------


def test_keys_and_scopes(served: Served) -> None:
    body = {"rows": [{"amount": 1.0}]}
    r = served.client.post("/models/fraud/score", json=body)
    assert r.status_code == 401 and "API key" in _one_sentence(r)
    r = served.client.post(
        "/models/fraud/score", json=body, headers={"X-API-Key": "azk_000000_" + "x" * 32}
    )
    assert r.status_code == 401 and "not valid" in _one_sentence(r)
    r = served.post("/admin/models/fraud/promote", {"version": 1})
    assert r.status_code == 403 and "needs 'admin'" in _one_sentence(r)
    assert served.client.get("/metrics").status_code == 401
    # The Azure header works as well.
    r = served.client.get(
        "/v2/models/fraud", headers={"Ocp-Apim-Subscription-Key": served.score_key}
    )
    assert r.status_code == 200


def test_limits_and_malformed_requests(lite: Served) -> None:
    r = lite.post("/models/fraud/score", {"rows": [{"amount": 1.0}] * 51})
    assert r.status_code == 413 and "at most 50" in _one_sentence(r)
    r = lite.post("/models/fraud/score", {"rows": [{"amount": 1.0, "pad": "x" * 30_000}]})
    assert r.status_code == 413 and "larger than 20,000 bytes" in _one_sentence(r)
    r = lite.client.post(
        "/models/fraud/score",
        content=b'{"rows": [{"amount": 1.0,}]}',
        headers={**lite.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "not valid JSON" in _one_sentence(r)
    r = lite.post("/models/fraud/score", {"rowz": []})
    assert r.status_code == 422 and "'rows' is required" in _one_sentence(r)
    r = lite.post("/models/nope/score", {"rows": [{"amount": 1.0}]})
    assert r.status_code == 404 and "No model named 'nope'" in _one_sentence(r)
    r = lite.post("/models/fraud/score", {"rows": [{"other": 1.0}]})
    assert r.status_code == 400 and "missing from the data" in _one_sentence(r)
    assert lite.client.get("/nowhere").status_code == 404
    # CORS is off: no header allows another origin.
    r = lite.client.options(
        "/models/fraud/score",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


def test_timeout_answers_504(tmp_path: Path, files: dict[str, Path]) -> None:
    s = Served(f"sqlite:///{tmp_path / 'r.db'}", files, timeout=0.001)
    try:
        rows = _rows(_table(2000, seed=4))
        r = s.post("/models/fraud/explain", {"rows": rows})
        assert r.status_code == 504 and "longer than" in _one_sentence(r)
    finally:
        s.close()


# -- registry through the service -----------------------------------------------------


def test_alias_swap_under_load(lite: Served, files: dict[str, Path]) -> None:
    lite.registry.push(files["mad"], name="fraud")
    row = {"rows": _rows(_table(1, seed=8))}
    cache = lite.app.state.cache
    assert lite.post("/models/fraud/score", row).json()["version"] == 2  # newest, no alias yet
    failures: list[int] = []
    versions: set[int] = set()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            r = lite.post("/models/fraud/score", row)
            if r.status_code != 200:
                failures.append(r.status_code)
            else:
                versions.add(r.json()["version"])

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for target in (1, 2, 1, 2, 1):
        r = lite.post("/admin/models/fraud/promote", {"version": target}, admin=True)
        assert r.status_code == 200, r.text
        cache.refresh_pointers()
    stop.set()
    for t in threads:
        t.join()
    assert failures == [] and versions == {1, 2}
    assert lite.post("/models/fraud/score", row).json()["version"] == 1
    audit = lite.get("/admin/audit?name=fraud", admin=True).json()
    assert [e["action"] for e in audit][-1] == "promote"
    assert audit[-1]["actor"].startswith("key:")


def test_metrics(served: Served) -> None:
    served.post(
        "/models/fraud/score",
        {"rows": [{"amount": 1.0, "items": 2, "country": "US", "merchant": "m1", "online": True}]},
    )
    text = served.get("/metrics").text
    assert (
        'anomalyzer_requests_total{model="fraud",route="/models/{name}/score",status="200"}' in text
    )
    assert "anomalyzer_rows_scored_total" in text and "anomalyzer_model_load_seconds" in text


# -- Azure Anomaly Detector compatible ----------------------------------------------


def test_azure_routes_agree_with_detect(shared_data: Path, lite: Served) -> None:
    from anomalyzer import detect

    csv = shared_data / "nab" / "realKnownCause" / "ec2_request_latency_system_failure.csv"
    if not csv.exists():
        csv = sorted((shared_data / "nab").glob("*/*.csv"))[0]
    df = pd.read_csv(csv).iloc[:800]
    series = [
        {"timestamp": pd.Timestamp(t).isoformat() + "Z", "value": float(v)}
        for t, v in zip(df["timestamp"], df["value"], strict=True)
    ]
    headers = {"Ocp-Apim-Subscription-Key": lite.score_key}
    big = Settings(registry=lite.url, refresh=0)
    app = create_app(big, Registry(lite.url))
    with TestClient(app) as client:
        r = client.post(
            "/anomalydetector/v1.1/timeseries/entire/detect",
            json={"series": series},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {
            "period", "expectedValues", "upperMargins", "lowerMargins", "isAnomaly",
            "isNegativeAnomaly", "isPositiveAnomaly", "severity",
        }  # fmt: skip
        reference = detect(df, time="timestamp")
        assert body["isAnomaly"] == reference.frame["is_anomaly"].tolist()
        flagged = np.flatnonzero(body["isAnomaly"])
        assert all(body["isPositiveAnomaly"][i] or body["isNegativeAnomaly"][i] for i in flagged)
        assert len(body["expectedValues"]) == len(series)
        r = client.post(
            "/anomalydetector/v1.1/timeseries/last/detect", json={"series": series}, headers=headers
        )
        assert r.status_code == 200, r.text
        last = r.json()
        causal = detect(df, time="timestamp", causal=True)
        assert last["isAnomaly"] == bool(causal.frame["is_anomaly"].iloc[-1])
        assert {"expectedValue", "upperMargin", "lowerMargin", "suggestedWindow"} <= set(last)
        r = client.post(
            "/anomalydetector/v1.1/timeseries/changepoint/detect",
            json={"series": series},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        cp = r.json()
        assert len(cp["isChangePoint"]) == len(series)
        assert all(0 <= c <= 1 for c in cp["confidenceScores"])
        r = client.post(
            "/anomalydetector/v1.1/timeseries/entire/detect",
            json={"series": series[::-1]},
            headers=headers,
        )
        assert r.status_code == 400 and "increasing order" in _one_sentence(r)
    app.state.registry.close()
