"""Model files: identical scores after a round trip, and nothing runs when a file is read."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import anomalyzer as az
from anomalyzer import detectors
from anomalyzer.errors import AnomalyzerError
from anomalyzer.persist import ALLOWED_TYPES, FORMAT, MANIFEST, PAYLOAD, _digest, read_manifest


def mixed_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Numbers (with a missing value), categories, booleans as words, dates, an id."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "order_id": [f"A{i:05d}" for i in range(n)],
            "amount": rng.lognormal(3.0, 0.5, n).round(2),
            "items": rng.poisson(3, n),
            "country": rng.choice(["DE", "FR", "NL"], n, p=[0.6, 0.3, 0.1]),
            "express": rng.choice(["yes", "no"], n),
            "when": pd.date_range("2024-01-01", periods=n, freq="37min").astype(str),
        }
    )
    df.loc[5, "amount"] = np.nan
    df.loc[7, "amount"] = 5000.0
    return df


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return mixed_table()


@pytest.fixture(scope="module")
def saved(table, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.azm"
    az.Model("iforest").fit(table, label=None).save(path)
    return path


def _all_detectors() -> list[str]:
    """Every registered detector that can be built here, those that learn from labels too."""
    try:
        return detectors.available(labels=True)
    except TypeError:  # a registry without label-learning detectors
        return detectors.available()


def _learns_from_labels(name: str) -> bool:
    return bool(getattr(detectors.spec(name), "labels", False))


def _fit(name: str, table: pd.DataFrame) -> az.Model:
    try:
        if _learns_from_labels(name):
            flag = np.zeros(len(table), dtype=np.int64)
            flag[[7, 20, 33, 50, 90, 120]] = 1
            return az.Model(name).fit(table.assign(flag=flag), label="flag")
        return az.Model(name).fit(table)
    except ModuleNotFoundError as exc:  # a registered detector whose module is not written yet
        if (exc.name or "").startswith("anomalyzer.detectors."):
            pytest.skip(f"{name}: {exc}")
        raise


@pytest.mark.parametrize("name", _all_detectors())
def test_round_trip_gives_identical_scores(name, table, tmp_path):
    model = _fit(name, table)
    path = model.save(tmp_path / f"{name}.azm")
    again = az.load(path)
    new = mixed_table(60, seed=1)
    for data in (table, new):
        assert np.array_equal(again.score(data), model.score(data))
        assert np.array_equal(again.predict(data), model.predict(data))
    assert again.threshold_ == model.threshold_
    assert np.array_equal(again.training_scores_, model.training_scores_)
    assert again.detector_name == name
    assert again.schema == model.schema
    assert again.reasons(new.head(5)) == model.reasons(new.head(5))


def test_manifest_describes_the_model(saved, table):
    manifest = read_manifest(saved)
    assert manifest["format"] == FORMAT and manifest["format_version"] == 1
    assert set(manifest["versions"]) >= {"anomalyzer", "numpy", "scikit-learn", "pandas"}
    assert manifest["detector"]["name"] == "iforest"
    assert manifest["detector"]["params"]["n_estimators"] > 0
    assert manifest["training"]["n_rows"] == len(table)
    assert manifest["training"]["score_quantiles"]["0.5"] <= manifest["threshold"]
    assert [c["name"] for c in manifest["schema"]["columns"]] == list(table.columns)
    assert manifest["preprocessor"]["format"] == "anomalyzer.Preprocessor"
    with zipfile.ZipFile(saved) as zf:
        payload = zf.read(PAYLOAD)
    assert manifest["payload"]["sha256"] == hashlib.sha256(payload).hexdigest()


def test_no_pickle_inside(saved):
    """The payload holds JSON and .npy arrays that load with allow_pickle=False."""
    with zipfile.ZipFile(saved) as zf:
        assert sorted(zf.namelist()) == sorted([MANIFEST, PAYLOAD])
        inner = zipfile.ZipFile(io.BytesIO(zf.read(PAYLOAD)))
    for name in inner.namelist():
        assert name == "schema.json" or name.endswith(".npy"), name
        if name.endswith(".npy"):
            np.load(io.BytesIO(inner.read(name)), allow_pickle=False)


def _rewrite(src: Path, dst: Path, *, manifest=None, payload=None) -> Path:
    with zipfile.ZipFile(src) as zf:
        old_manifest, old_payload = json.loads(zf.read(MANIFEST)), zf.read(PAYLOAD)
    manifest = old_manifest if manifest is None else manifest(old_manifest)
    payload = old_payload if payload is None else payload
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        zf.writestr(PAYLOAD, payload)
    return dst


def _refused(path: Path, words: str) -> str:
    with pytest.raises(AnomalyzerError, match=words) as info:
        az.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_edited_manifest_is_refused(saved, tmp_path):
    def lower_threshold(m):
        m["threshold"] = m["threshold"] / 2
        return m

    _refused(_rewrite(saved, tmp_path / "edited.azm", manifest=lower_threshold), "modified")


def test_edited_payload_is_refused(saved, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        payload = bytearray(zf.read(PAYLOAD))
    payload[len(payload) // 2] ^= 0xFF
    _refused(_rewrite(saved, tmp_path / "edited.azm", payload=bytes(payload)), "modified")


def test_flipped_byte_on_disk_is_refused(saved, tmp_path):
    raw = bytearray(saved.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path = tmp_path / "flipped.azm"
    path.write_bytes(bytes(raw))
    with pytest.raises(AnomalyzerError, match=r"not an anomalyzer model file|modified|damaged"):
        az.load(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.95])
def test_truncated_file_is_refused(saved, tmp_path, keep):
    raw = saved.read_bytes()
    path = tmp_path / "cut.azm"
    path.write_bytes(raw[: int(len(raw) * keep)])
    _refused(path, "not an anomalyzer model file")


class Boom:
    """Unpickling or rebuilding this object would create a marker file."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_foreign_files_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    Boom.marker = marker
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(Boom()))
    text = tmp_path / "model.txt"
    text.write_text("this is not a model\n")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("hello.txt", "hi")
    wrong_format = tmp_path / "wrong.azm"
    with zipfile.ZipFile(wrong_format, "w") as zf:
        zf.writestr(MANIFEST, json.dumps({"format": "something-else"}))
    empty = tmp_path / "empty.azm"
    empty.write_bytes(b"")
    for path in (pickled, text, other_zip, wrong_format, empty):
        _refused(path, "not an anomalyzer model file")
    assert not marker.exists()


def test_untrusted_type_in_payload_is_refused_before_it_is_built(saved, tmp_path, table):
    import skops.io as sio

    marker = tmp_path / "ran"
    Boom.marker = marker
    detector = az.Model("mad").fit(table).detector_
    detector.extra_ = Boom()
    payload = sio.dumps(detector)

    def matching(m):  # an attacker can recompute the digests: the allowlist still holds
        m["payload"]["sha256"] = hashlib.sha256(payload).hexdigest()
        m["detector"]["class"] = "anomalyzer.detectors.statistical.MAD"
        m["digest"] = _digest(m, payload)
        return m

    path = _rewrite(saved, tmp_path / "evil.azm", manifest=matching, payload=payload)
    _refused(path, "may not contain")
    assert not marker.exists()


def test_newer_format_version_is_refused(saved, tmp_path):
    def newer(m):
        m["format_version"] = 99
        return m

    _refused(_rewrite(saved, tmp_path / "new.azm", manifest=newer), "newer")


def test_saving_a_detector_holding_other_types_is_refused(table, tmp_path):
    model = az.Model("mad").fit(table)
    model.detector_.extra_ = Boom()
    with pytest.raises(AnomalyzerError, match="do not allow"):
        model.save(tmp_path / "m.azm")
    assert not (tmp_path / "m.azm").exists()


def test_unfitted_model_and_bad_paths(table, tmp_path):
    with pytest.raises(AnomalyzerError, match="not fitted"):
        az.Model("mad").save(tmp_path / "m.azm")
    model = az.Model("mad").fit(table)
    with pytest.raises(AnomalyzerError, match="directory"):
        model.save(tmp_path)
    with pytest.raises(AnomalyzerError, match="does not exist"):
        model.save(tmp_path / "no" / "m.azm")
    with pytest.raises(AnomalyzerError, match="was not found"):
        az.load(tmp_path / "missing.azm")
    with pytest.raises(AnomalyzerError, match="directory"):
        az.load(tmp_path)


def test_allowlist_holds_every_registered_detector():
    for name in _all_detectors():
        s = detectors.spec(name)
        assert f"anomalyzer.detectors.{s.module}.{s.cls}" in ALLOWED_TYPES
    assert not any(t.startswith(("builtins.eval", "builtins.exec", "os.")) for t in ALLOWED_TYPES)


def test_scoring_data_is_checked_against_the_schema(saved, table):
    model = az.load(saved)
    with pytest.raises(AnomalyzerError, match=r"'amount'.*missing"):
        model.score(table.drop(columns=["amount"]))
    bad = table.copy()
    bad["amount"] = "lots"
    with pytest.raises(AnomalyzerError, match="'amount'"):
        model.score(bad)
    extra = table.assign(unseen=1.0)
    assert np.array_equal(model.score(extra), model.score(table))
