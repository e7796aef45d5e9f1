"""scikit-learn's own estimator checks over every table detector in the registry.

Each intended deviation from scikit-learn's conventions is listed with its
reason; any other failing check fails the suite, and a listed check that starts
passing is reported too (scikit-learn marks it as an unexpected pass).
"""

from __future__ import annotations

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from anomalyzer import detectors

# Small settings where the defaults only cost time: the checks test the
# contract, not accuracy.
FAST = {"autoencoder": {"epochs": 3, "hidden_sizes": [4]}}

DEVIATIONS = {
    "check_fit2d_predict1d": (
        "a 1-D input is refused with the project's one-sentence error (DESIGN.md), which "
        "says to reshape it but not in scikit-learn's words"
    ),
    "check_dtype_object": (
        "values that are not numbers raise AnomalyzerError, a ValueError, so that every "
        "user mistake is one exception type; scikit-learn expects a TypeError"
    ),
}
# Detectors whose scores of a row depend on the other rows scored with it.
SUBSET_DEPENDENT = {
    "kde": (
        "scores of new rows are evaluated on a bounded reference sample with a "
        "batch-dependent numerical path; differences are at floating-point level"
    ),
}


def _estimators() -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [detectors.make(name, **FAST.get(name, {})) for name in detectors.available()]


def _expected_failures(estimator) -> dict[str, str]:
    name = detectors.name_of(estimator)
    failures = dict(DEVIATIONS)
    if name in SUBSET_DEPENDENT:
        failures["check_methods_subset_invariance"] = SUBSET_DEPENDENT[name]
    return failures


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
