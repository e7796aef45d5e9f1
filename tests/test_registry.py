"""The model registry on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomalyzer import AnomalyzerError, Model, SeriesModel
from anomalyzer.registry import ModelNotFound, Registry, default_url, migrate


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"amount": rng.lognormal(3, 0.5, 300), "country": rng.choice(["US", "FR"], 300)}
    )
    t = pd.date_range("2026-01-01", periods=200, freq="h")
    series = pd.DataFrame({"timestamp": t, "cpu": 50 + rng.normal(0, 1, 200)})
    return {
        "a": Model("mad").fit(df).save(tmp / "a.azm"),
        "b": Model("iforest", n_estimators=20).fit(df).save(tmp / "b.azm"),
        "series": SeriesModel("rolling_z", causal=True)
        .fit(series, "timestamp")
        .save(tmp / "s.azm"),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Registry:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    reg = Registry(url, actor="tester")
    yield reg
    reg.close()


def test_push_versions_and_metadata(registry: Registry, model_files: dict[str, Path]) -> None:
    v1 = registry.push(model_files["a"], name="fraud", metrics={"roc_auc": 0.9})
    v2 = registry.push(model_files["b"], name="fraud", description="more trees")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.detector == "mad" and v2.detector == "iforest"
    assert v1.kind == "table" and v1.n_rows == 300
    assert {"name": "amount", "role": "numeric"} in v1.columns
    assert v1.metrics == {"roc_auc": 0.9} and v1.pushed_by == "tester"
    assert v1.pushed_at.tzinfo is not None
    assert v1.size == model_files["a"].stat().st_size
    # The same bytes again: the existing version, not a new one.
    assert registry.push(model_files["a"], name="fraud").version == 1
    info = registry.show("fraud")
    assert [v.version for v in info.versions] == [1, 2] and info.latest.version == 2
    s = registry.push(model_files["series"], name="cpu")
    assert s.kind == "series" and s.columns[0] == {"name": "timestamp", "role": "time"}
    assert [(m.name, m.latest, m.n_versions) for m in registry.list()] == [
        ("cpu", 1, 1),
        ("fraud", 2, 2),
    ]


def test_aliases_resolution_and_load(registry: Registry, model_files: dict[str, Path]) -> None:
    registry.push(model_files["a"], name="fraud")
    registry.push(model_files["b"], name="fraud")
    # Nothing promoted: the newest version.
    assert registry.resolve("fraud").version == 2
    registry.promote("fraud", 1, alias="production")
    registry.promote("fraud", "2", alias="staging")
    assert registry.resolve("fraud").version == 1
    assert registry.resolve("fraud", "latest").version == 2
    assert registry.resolve("fraud", alias="staging").version == 2
    assert registry.show("fraud").aliases == {"production": 1, "staging": 2}
    assert registry.load("fraud", "staging").detector_name == "iforest"
    assert registry.load("fraud", 1).detector_name == "mad"
    registry.promote("fraud", 2, alias="production")
    assert registry.resolve("fraud").version == 2
    assert registry.aliases("fraud") == {("fraud", "production"): 2, ("fraud", "staging"): 2}
    actions = [(e.action, e.version, e.detail.get("previous")) for e in registry.audit("fraud")]
    assert actions[-1] == ("promote", 2, 1)
    assert all(e.actor == "tester" for e in registry.audit("fraud"))


def test_errors_are_one_sentence(
    registry: Registry, model_files: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(ModelNotFound, match="No model named 'nope'"):
        registry.resolve("nope")
    registry.push(model_files["a"], name="fraud")
    with pytest.raises(ModelNotFound, match="has no version 7"):
        registry.load("fraud", 7)
    with pytest.raises(ModelNotFound, match="has no alias 'staging'"):
        registry.resolve("fraud", alias="staging")
    with pytest.raises(AnomalyzerError, match="Model name"):
        registry.push(model_files["a"], name="bad name!")
    with pytest.raises(AnomalyzerError, match="Alias"):
        registry.promote("fraud", 1, alias="latest")
    bogus = tmp_path / "not-a-model.azm"
    bogus.write_text("hello")
    with pytest.raises(AnomalyzerError, match="not an anomalyzer model file"):
        registry.push(bogus, name="fraud")
    with pytest.raises(AnomalyzerError, match="must be a number"):
        registry.push(model_files["b"], name="fraud", metrics={"auc": "high"})
    assert registry.show("fraud").latest.version == 1  # nothing half-written


def test_delete_keeps_aliased_versions_unless_forced(
    registry: Registry, model_files: dict[str, Path]
) -> None:
    registry.push(model_files["a"], name="fraud")
    registry.push(model_files["b"], name="fraud")
    registry.promote("fraud", 2)
    with pytest.raises(AnomalyzerError, match="production -> 2"):
        registry.delete("fraud", 2)
    assert registry.delete("fraud", 1) == [1]
    assert [v.version for v in registry.show("fraud").versions] == [2]
    assert registry.delete("fraud", force=True) == [2]
    with pytest.raises(ModelNotFound):
        registry.show("fraud")
    # Version numbers are never reused while the name exists; a new name starts at 1.
    assert registry.push(model_files["a"], name="fraud").version == 1
    assert [e.action for e in registry.audit("fraud")][-3:] == [
        "delete_version",
        "delete_model",
        "push",
    ]


def test_keys_are_hashed_and_scoped(registry: Registry) -> None:
    record, token = registry.create_key("score", note="ci")
    assert token.startswith(f"azk_{record.id}_")
    assert registry.verify_key(token).scope == "score"
    assert registry.verify_key(token[:-2] + "xx") is None
    assert registry.verify_key("garbage") is None
    registry.revoke_key(record.id)
    assert registry.verify_key(token) is None
    with pytest.raises(AnomalyzerError, match="Unknown key scope"):
        registry.create_key("root")
    assert [e.action for e in registry.audit()][-2:] == ["key_create", "key_revoke"]


def test_feedback_and_stream_state(registry: Registry, model_files: dict[str, Path]) -> None:
    registry.push(model_files["a"], name="fraud")
    ids = registry.add_feedback(
        "fraud",
        [
            {"row": {"amount": 900}, "label": "anomaly", "row_id": "r1", "score": 3.5},
            {"row": {}, "label": 0},
        ],
        actor="analyst",
    )
    assert len(ids) == 2
    stored = registry.feedback("fraud")
    assert [(f.label, f.row_id, f.version, f.actor) for f in stored] == [
        (1, "r1", 1, "analyst"),
        (0, None, 1, "analyst"),
    ]
    with pytest.raises(AnomalyzerError, match="label 'maybe' is not valid"):
        registry.add_feedback("fraud", [{"row": {}, "label": "maybe"}])
    assert len(registry.feedback("fraud")) == 2  # the bad batch stored nothing
    assert registry.stream_state("fraud", 1) is None
    assert registry.save_stream_state("fraud", 1, b"one", 0) == 1
    assert registry.save_stream_state("fraud", 1, b"late", 0) is None
    assert registry.save_stream_state("fraud", 1, b"two", 1) == 2
    assert registry.save_stream_state("fraud", 1, b"stale", 1) is None
    assert registry.stream_state("fraud", 1) == (2, b"two")


def test_schema_comes_from_alembic(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    Registry(str(path)).close()
    with sqlite3.connect(path) as conn:
        (revision,) = conn.execute("select version_num from alembic_version").fetchone()
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert revision == migrate.head()
    assert {"blobs", "model_versions", "aliases", "audit_log", "api_keys", "feedback"} <= tables
    # Opening again runs nothing.
    reg = Registry(str(path))
    assert migrate.upgrade(reg._engine) is False
    reg.close()


def test_default_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANOMALYZER_REGISTRY", f"sqlite:///{tmp_path}/x.db")
    assert default_url() == f"sqlite:///{tmp_path}/x.db"
    monkeypatch.delenv("ANOMALYZER_REGISTRY")
    assert default_url().endswith(".anomalyzer/registry.db")
    with pytest.raises(AnomalyzerError, match="not supported"):
        Registry("mysql://x/y")


def test_unreachable_database_is_one_sentence() -> None:
    with pytest.raises(AnomalyzerError, match="Cannot open the registry"):
        Registry("postgresql+psycopg://nobody@127.0.0.1:1/none")
