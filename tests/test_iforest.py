"""IForest: the isolation forest against the paper, scikit-learn and its own explanation."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest
from conftest import planted
from scipy.stats import spearmanr
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from anomalyzer.detectors import iforest
from anomalyzer.detectors.iforest import IForest, average_path_length
from anomalyzer.errors import AnomalyzerError


@pytest.fixture(scope="module")
def clusters() -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters of different density and scattered uniform outliers."""
    rng = np.random.default_rng(3)
    X = np.r_[
        rng.normal(0.0, 1.0, (1500, 5)),
        rng.normal(6.0, 0.5, (400, 5)),
        rng.uniform(-8.0, 12.0, (100, 5)),
    ]
    y = np.r_[np.zeros(1900), np.ones(100)]
    return X, y


@pytest.fixture(scope="module")
def planted_fit() -> tuple[IForest, np.ndarray, np.ndarray]:
    X, y = planted(n=400, d=4, n_out=20, seed=1)
    return IForest(random_state=0).fit(X), X, y


def test_average_path_length_is_the_papers_c():
    # c(n) = 2 H(n - 1) - 2 (n - 1) / n, with H(i) ~ ln(i) + Euler's constant as in
    # the paper (and scikit-learn), close to the exact harmonic number for large n.
    for n in (256, 1000, 10_000):
        harmonic = np.sum(1.0 / np.arange(1, n))
        exact = 2.0 * harmonic - 2.0 * (n - 1) / n
        assert average_path_length(n) == pytest.approx(exact, abs=0.01)
    assert average_path_length(1) == 0.0
    assert average_path_length(2) == 1.0


def test_planted_outliers_have_shorter_paths(planted_fit):
    det, X, y = planted_fit
    paths = det.path_length(X)
    assert paths[y == 1].max() < np.quantile(paths[y == 0], 0.05)
    assert np.median(paths[y == 1]) < 0.6 * np.median(paths[y == 0])


def test_score_is_the_papers_formula(planted_fit):
    det, X, _ = planted_fit
    expected = 2.0 ** (-det.path_length(X) / average_path_length(det.max_samples_))
    np.testing.assert_allclose(det.decision_scores_, expected, rtol=1e-12)
    assert ((det.decision_scores_ > 0) & (det.decision_scores_ <= 1)).all()


def test_ranking_close_to_scikit_learn(clusters):
    X, y = clusters
    ours = IForest(random_state=0).fit(X).decision_scores_
    theirs = -IsolationForest(random_state=0).fit(X).score_samples(X)
    assert spearmanr(ours, theirs).statistic > 0.9
    # Same algorithm: scores agree up to the randomness of the trees.
    assert np.abs(ours - theirs).max() < 0.15
    assert roc_auc_score(y, ours) > roc_auc_score(y, theirs) - 0.01


def test_same_seed_same_forest_other_seed_other_forest(clusters):
    X, _ = clusters
    a = IForest(random_state=7).fit(X)
    b = IForest(random_state=7).fit(X)
    c = IForest(random_state=8).fit(X)
    np.testing.assert_array_equal(a.tree_node_, b.tree_node_)
    np.testing.assert_array_equal(a.tree_threshold_, b.tree_threshold_)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    assert not np.array_equal(a.decision_scores_, c.decision_scores_)


def test_thread_count_does_not_change_scores(clusters):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba runs on a single thread here")
    X, _ = clusters
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = IForest(random_state=0).fit(X)
        numba.set_num_threads(2)
        two = IForest(random_state=0).fit(X)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.tree_node_, two.tree_node_)
    np.testing.assert_array_equal(one.decision_scores_, two.decision_scores_)


def test_rows_alone_or_in_a_batch_score_the_same(clusters):
    X, _ = clusters
    det = IForest(random_state=0).fit(X)
    rows = X[::97]
    alone = np.array([det.decision_function(r[None, :])[0] for r in rows])
    np.testing.assert_array_equal(alone, det.decision_function(rows))


def test_read_only_input_and_pickle_round_trip(planted_fit):
    det, X, _ = planted_fit
    frozen = X.copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(det.decision_function(frozen), det.decision_scores_)
    np.testing.assert_array_equal(det.explain(frozen[:5]), det.explain(X[:5]))
    np.testing.assert_array_equal(
        IForest(random_state=0).fit(frozen).decision_scores_, det.decision_scores_
    )
    twin = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(twin.decision_function(X), det.decision_scores_)


def test_explanation_names_the_planted_feature(planted_fit):
    det, X, y = planted_fit
    outliers = X[y == 1]
    planted_col = np.argmax(np.abs(outliers), axis=1)
    contrib = det.explain(outliers)
    np.testing.assert_array_equal(np.argmax(contrib, axis=1), planted_col)
    # The planted feature carries most of the credit, not just a little more.
    top = contrib[np.arange(len(outliers)), planted_col]
    assert (top > 0.6 * contrib.sum(axis=1)).all()


def test_explanation_credits_both_features_of_a_two_feature_outlier(planted_fit):
    det, _, _ = planted_fit
    row = np.array([[7.0, -7.0, 0.0, 0.0]])
    contrib = det.explain(row)[0]
    assert contrib[0] > 0.35 * contrib.sum() and contrib[1] > 0.35 * contrib.sum()


def test_attributions_add_up_to_the_path_shortfall(clusters):
    X, _ = clusters
    det = IForest(n_estimators=30, random_state=0).fit(X)
    shortfall = average_path_length(det.max_samples_) - det.path_length(X)
    np.testing.assert_allclose(det.path_attributions(X).sum(axis=1), shortfall, atol=1e-9)
    np.testing.assert_array_equal(det.explain(X), np.maximum(det.path_attributions(X), 0.0))


def test_constant_feature_gets_no_credit_and_constant_data_scores_one_half():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(300, 2)), np.full(300, 4.0)]
    X[0, :2] = [9.0, 9.0]
    det = IForest(random_state=0).fit(X)
    assert (det.explain(X)[:, 2] == 0).all()
    # No split is possible: every row ends at the root leaf, path c(psi), score 2 ** -1.
    same = IForest(random_state=0).fit(np.ones((50, 3)))
    np.testing.assert_allclose(same.decision_scores_, 0.5, rtol=1e-12)


def test_max_samples_larger_than_rows_uses_all_rows():
    X, _ = planted(n=40, d=3, n_out=2, seed=0)
    det = IForest(max_samples=1000, random_state=0).fit(X)
    assert det.max_samples_ == len(X)
    assert det.max_depth_ == int(np.ceil(np.log2(len(X))))
    assert np.isfinite(det.decision_scores_).all()
    assert np.argsort(det.decision_scores_)[-2:].tolist() in ([40, 41], [41, 40])


@pytest.mark.parametrize(
    "max_samples, expected", [("auto", 256), (100, 100), (0.5, 500), (1.0, 1000), (2, 2)]
)
def test_max_samples_resolution(max_samples, expected):
    X = np.random.default_rng(0).normal(size=(1000, 2))
    det = IForest(n_estimators=5, max_samples=max_samples, random_state=0).fit(X)
    assert det.max_samples_ == expected
    assert np.isfinite(det.decision_scores_).all()


def test_max_features_subsets_features_per_tree():
    X, y = planted(n=400, d=6, n_out=20, seed=4)
    det = IForest(max_features=0.5, random_state=0).fit(X)
    assert det.max_features_ == 3
    split_features = det.tree_node_ & 0xFFFFFFFF
    assert set(np.unique(split_features)) <= set(range(6))
    assert roc_auc_score(y, det.decision_scores_) > 0.9
    assert IForest(max_features=10).fit(X).max_features_ == 6


@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_estimators": 0}, "n_estimators"),
        ({"n_estimators": 10.0}, "n_estimators"),
        # One row per tree cannot be split, nor normalised (c(1) = 0).
        ({"max_samples": 1}, "max_samples"),
        ({"max_samples": 0.0}, "max_samples"),
        ({"max_samples": 1.5}, "max_samples"),
        ({"max_samples": "all"}, "max_samples"),
        ({"max_samples": True}, "max_samples"),
        ({"max_features": 0}, "max_features"),
        ({"max_features": 1.2}, "max_features"),
        ({"max_features": float("nan")}, "max_features"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_parameters_are_named(params, name):
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(AnomalyzerError, match=f"^{name} must be"):
        IForest(**params).fit(X)


def test_works_without_a_writable_numba_cache(tmp_path):
    # Every place numba could cache to is blocked by a file in the way of its folder.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    module_dir = tmp_path / "module"
    module_dir.mkdir()
    shutil.copy(iforest.__file__, module_dir / "iforest_copy.py")
    (module_dir / "__pycache__").write_text("")
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(blocker / "numba"),
        "XDG_CACHE_HOME": str(blocker / "cache"),
        "HOME": str(blocker),
        "PYTHONPATH": os.pathsep.join([str(module_dir), *sys.path]),
    }
    env.pop("NUMBA_CACHE_LOCATOR_CLASSES", None)
    code = textwrap.dedent(
        """
        import iforest_copy as m
        assert type(m._total_path_lengths._cache).__name__ == "NullCache"
        # Compiles in memory (a small kernel: the big ones take seconds, and all
        # kernels go through the same decorator).
        print(round(m.average_path_length(256), 3))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10.245"


def test_threads_may_score_at_once_on_numba_fallback_pool():
    # numba's workqueue pool aborts the whole process on concurrent launches;
    # a threaded server or Dask worker scoring in several threads must not.
    code = textwrap.dedent(
        """
        import threading
        import numpy as np
        from anomalyzer.detectors.iforest import IForest
        X = np.random.default_rng(0).normal(size=(5000, 4))
        det = IForest(n_estimators=20, random_state=0).fit(X)
        expected = det.decision_function(X)
        same = []
        def work():
            for _ in range(5):
                same.append(np.array_equal(det.decision_function(X), expected))
                det.explain(X[:500])
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(all(same), len(same))
        """
    )
    env = {
        **os.environ,
        "NUMBA_THREADING_LAYER": "workqueue",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True 20"


@pytest.mark.slow
def test_matches_scikit_learn_on_cardio(shared_data: Path):
    path = shared_data / "adbench" / "6_cardio.npz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    data = np.load(path)
    X, y = data["X"].astype(np.float64), data["y"]
    ours = np.mean(
        [roc_auc_score(y, IForest(random_state=s).fit(X).decision_scores_) for s in range(3)]
    )
    theirs = np.mean(
        [
            roc_auc_score(y, -IsolationForest(random_state=s).fit(X).score_samples(X))
            for s in range(3)
        ]
    )
    assert ours > theirs - 0.02


def test_apply_gives_the_leaf_each_row_reaches_in_each_tree():
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(size=(300, 3)), [[9.0, 9.0, 9.0]]]
    det = IForest(n_estimators=20, random_state=0).fit(X)
    leaves = det.apply(X)
    assert leaves.shape == (len(X), 20)
    # Every index is a leaf (no split) and lies in its own tree's nodes.
    assert np.isinf(det.tree_threshold_[leaves]).all()
    roots = det.tree_roots_
    assert (leaves >= roots[None, :]).all()
    # The outlier sits alone in shallow leaves: no other row shares most of them.
    shared = (leaves[:-1] == leaves[-1]).mean(axis=1)
    assert shared.max() < 0.5
