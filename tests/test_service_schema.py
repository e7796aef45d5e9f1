"""Schemathesis over the service's OpenAPI schema: generated requests never get a 5xx."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
pytest.importorskip("fastapi", reason="the service extra is not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from anomalyzer import Model, SeriesModel  # noqa: E402
from anomalyzer.registry import Registry  # noqa: E402
from anomalyzer.service import Settings, create_app  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    tmp = tmp_path_factory.mktemp("schema")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"amount": rng.lognormal(3, 0.4, 200), "country": rng.choice(["US", "FR"], 200)}
    )
    t = pd.date_range("2026-01-01", periods=200, freq="h")
    series = pd.DataFrame({"timestamp": t, "cpu": 50 + rng.normal(0, 1, 200)})
    url = f"sqlite:///{tmp / 'registry.db'}"
    reg = Registry(url)
    reg.push(Model("iforest", n_estimators=20).fit(df).save(tmp / "t.azm"), name="fraud")
    reg.push(
        SeriesModel("rolling_z", causal=True).fit(series, "timestamp").save(tmp / "s.azm"),
        name="cpu",
    )
    key = reg.create_key("admin")[1]
    reg.close()
    # Small limits keep generated requests cheap; the limits answer 413, never 5xx.
    app = create_app(Settings(registry=url, refresh=0, max_rows=200, max_body_bytes=200_000))
    return app, key


def test_no_server_errors(served: tuple[object, str]) -> None:
    app, key = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
