"""The autoencoder detector: what it finds, what it explains, and its parameters."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from anomalyzer.detectors import autoencoder
from anomalyzer.detectors.autoencoder import AutoEncoder, auto_hidden_sizes
from anomalyzer.errors import AnomalyzerError

FAST = {"epochs": 25, "random_state": 0}
MIXING = np.array(
    [
        [1.0, 0.5, -1.0, 0.0, 2.0, 1.0, -0.5, 0.3],
        [0.0, 1.0, 0.5, -1.5, 1.0, -1.0, 0.8, 1.2],
    ]
)


def structured(n: int = 400, seed: int = 0) -> np.ndarray:
    """Eight features driven by two latent factors, plus a little noise."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    return latent @ MIXING + rng.normal(scale=0.05, size=(n, MIXING.shape[1]))


@pytest.fixture(scope="module")
def fitted() -> tuple[AutoEncoder, np.ndarray]:
    X = structured()
    # One typical row with feature 3 moved off its relation to the others,
    # though within the feature's own range: only a multivariate model sees it.
    odd = X[:1].copy()
    odd[0, 3] += 3.0
    return AutoEncoder(random_state=0).fit(np.r_[X, odd]), odd


def test_planted_anomaly_has_higher_reconstruction_error(fitted):
    det, _ = fitted
    assert int(np.argmax(det.decision_scores_)) == len(det.decision_scores_) - 1
    fresh = structured(n=100, seed=7)
    broken = fresh.copy()
    broken[:, 1] -= 2.0
    assert (det.decision_function(broken) > det.decision_function(fresh)).mean() > 0.95


def test_explanation_names_the_planted_feature(fitted):
    det, odd = fitted
    contrib = det.explain(odd)
    assert int(np.argmax(contrib[0])) == 3
    # Exact decomposition: the score is the mean of the per-feature errors.
    np.testing.assert_allclose(contrib.mean(axis=1), det.decision_function(odd))


def test_same_random_state_identical_scores():
    X = structured(n=300, seed=3)
    a = AutoEncoder(**FAST).fit(X)
    b = AutoEncoder(**FAST).fit(X)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    for key in a.state_dict_:
        np.testing.assert_array_equal(a.state_dict_[key], b.state_dict_[key])
    c = AutoEncoder(epochs=25, random_state=1).fit(X)
    assert not np.array_equal(a.decision_scores_, c.decision_scores_)


def test_fit_leaves_torch_global_state_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    AutoEncoder(epochs=2, random_state=0).fit(structured(n=100))
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_learned_state_is_plain_arrays_and_scores_without_torch(monkeypatch):
    X = structured(n=200)
    det = AutoEncoder(hidden_sizes=[4, 2], epochs=5, random_state=0).fit(X)
    assert det.layer_sizes_ == [8, 4, 2, 4, 8]
    assert sorted(det.state_dict_) == [f"{j}.{p}" for j in range(4) for p in ("bias", "weight")]
    assert all(isinstance(v, np.ndarray) for v in det.state_dict_.values())
    assert det.state_dict_["0.weight"].shape == (4, 8)
    expected = det.decision_function(X[:10])
    # Scoring reads the arrays only: it works where torch is not installed.
    monkeypatch.setattr(autoencoder, "torch", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    np.testing.assert_array_equal(det.decision_function(X[:10]), expected)
    with pytest.raises(AnomalyzerError, match="needs PyTorch"):
        AutoEncoder().fit(X)


def test_subsamples_training_rows_but_scores_all():
    X = structured(n=500)
    det = AutoEncoder(max_samples=120, epochs=3, random_state=0).fit(X)
    assert det.decision_scores_.shape == (500,)
    assert np.isfinite(det.decision_scores_).all()


def test_without_hold_out_runs_every_epoch():
    det = AutoEncoder(epochs=7, validation_fraction=0.0, random_state=0).fit(structured(n=300))
    assert det.n_epochs_ == 7
    assert det.validation_curve_ == []


def test_constant_feature_does_not_break_scaling():
    X = np.c_[structured(n=200), np.full(200, 3.0)]
    det = AutoEncoder(epochs=3, random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert det.scale_[-1] == 1.0


@pytest.mark.parametrize(
    ("d", "sizes"), [(3, [16, 2]), (4, [16, 2]), (10, [20, 2]), (36, [72, 9]), (1555, [128, 32])]
)
def test_auto_hidden_sizes(d, sizes):
    assert auto_hidden_sizes(d) == sizes


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"max_samples": 1}, "max_samples must be an integer >= 2"),
        ({"learning_rate": 0.0}, "learning_rate must be a number"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ({"weight_decay": -1e-3}, "weight_decay must be a number"),
        ({"validation_fraction": 0.5}, "validation_fraction must be a number"),
        ({"hidden_sizes": []}, "hidden_sizes must be None or a non-empty list"),
        ({"hidden_sizes": "8,4"}, "hidden_sizes must be None or a non-empty list"),
        ({"hidden_sizes": [8, 0]}, "each of hidden_sizes must be an integer >= 1"),
        ({"device": "tpu"}, "device must be 'auto', 'cpu' or 'cuda'"),
    ],
)
def test_bad_params_rejected(params, words):
    with pytest.raises(AnomalyzerError, match=words):
        AutoEncoder(**params).fit(structured(n=50))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is available here")
def test_cuda_requested_without_gpu():
    with pytest.raises(AnomalyzerError, match="no CUDA GPU is available"):
        AutoEncoder(device="cuda", epochs=1).fit(structured(n=50))
