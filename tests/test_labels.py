from __future__ import annotations

import numpy as np
import pytest

from anomalyzer.errors import AnomalyzerError
from anomalyzer.labels import to_binary


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0, 1, 1], [0, 1, 1]),
        ([True, False], [1, 0]),
        (["normal", "anomaly"], [0, 1]),
        (["no", "yes", "no"], [0, 1, 0]),
        ([0.0, 1.0], [0, 1]),
        ([0, 0], [0, 0]),
    ],
)
def test_binary_labels(values, expected):
    assert to_binary(values).tolist() == expected


def test_named_positive():
    assert to_binary(["a", "b", "a"], positive="b").tolist() == [0, 1, 0]
    with pytest.raises(AnomalyzerError, match="does not occur"):
        to_binary(["a", "b"], positive="c")


@pytest.mark.parametrize(
    "values, words",
    [
        ([0, 1, 2], "two values"),
        (["cat", "dog"], "Cannot tell which value"),
        ([0, np.nan, 1], "missing"),
    ],
)
def test_bad_labels(values, words):
    with pytest.raises(AnomalyzerError, match=words):
        to_binary(values)
