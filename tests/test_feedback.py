"""Feedback: labels with who and when, the AAD update, query strategies, descriptions, partial labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomalyzer import detectors, load
from anomalyzer.cli import app
from anomalyzer.errors import AnomalyzerError
from anomalyzer.feedback import (
    CsvStore,
    FeedbackSession,
    ForestFeedback,
    MemoryStore,
    SqlStore,
    describe_anomalies,
    diverse_batch,
    read_labels,
)
from anomalyzer.feedback.semi import fit_with_labels
from anomalyzer.model import Model

N_NORMAL = 400
CLUSTER = 8


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Gaussian rows plus two tight clusters of outliers: A at a = 6, B at b = 6."""
    rng = np.random.default_rng(0)
    a = np.r_[
        rng.normal(size=N_NORMAL),
        6 + 0.1 * rng.normal(size=CLUSTER),
        0.1 * rng.normal(size=CLUSTER),
    ]
    b = np.r_[
        rng.normal(size=N_NORMAL),
        0.1 * rng.normal(size=CLUSTER),
        6 + 0.1 * rng.normal(size=CLUSTER),
    ]
    n = len(a)
    return pd.DataFrame({"row_id": [f"R{i:04d}" for i in range(n)], "a": a, "b": b,
                         "c": rng.choice(["x", "y"], size=n)})  # fmt: skip


A = list(range(N_NORMAL, N_NORMAL + CLUSTER))
B = list(range(N_NORMAL + CLUSTER, N_NORMAL + 2 * CLUSTER))


@pytest.fixture(scope="module")
def model(frame) -> Model:
    return Model("iforest", random_state=0).fit(frame)


def _mean_rank(scores: np.ndarray, rows: list[int]) -> float:
    rank = np.empty(len(scores))
    rank[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return float(rank[rows].mean())


def test_equal_weights_give_the_isolation_forest_ranking(model, frame):
    X = model.transform(frame)
    learner = ForestFeedback(model.detector_, X)
    n_trees = model.detector_.tree_roots_.shape[0]
    m = learner.value_.size
    # w . z with w = 1/sqrt(m) is minus the summed path lengths: the forest's own score.
    path = -learner.scores_ * np.sqrt(m) / n_trees
    np.testing.assert_allclose(path, model.detector_.path_length(X), rtol=1e-9)


def test_normal_labels_push_similar_rows_down_and_anomaly_labels_pull_them_up(model, frame):
    X = model.transform(frame)
    learner = ForestFeedback(model.detector_, X)
    rest_a, rest_b = A[3:], B[3:]
    before_a, before_b = _mean_rank(learner.scores_, rest_a), _mean_rank(learner.scores_, rest_b)
    assert before_a < before_b  # the forest ranks cluster A first
    learner.update(A[:3], [0, 0, 0])
    after_a, after_b = _mean_rank(learner.scores_, rest_a), _mean_rank(learner.scores_, rest_b)
    assert after_a > before_a and after_a > after_b  # the rest of A sinks below B
    assert _mean_rank(learner.scores_, A[:3]) > 12  # the labelled rows below the top 3%
    learner = ForestFeedback(model.detector_, X)
    learner.update(B[:3], [1, 1, 1])
    assert _mean_rank(learner.scores_, rest_b) < before_b  # the rest of B rises
    assert learner.labels_ == {B[0]: 1, B[1]: 1, B[2]: 1}


def test_forgetting_every_label_restores_the_unsupervised_ranking(model, frame):
    learner = ForestFeedback(model.detector_, model.transform(frame))
    start = learner.scores_.copy()
    learner.update([A[0]], [0])
    assert not np.allclose(learner.scores_, start)
    learner.forget([A[0]])
    np.testing.assert_allclose(learner.scores_, start)


def test_update_refuses_bad_input(model, frame):
    learner = ForestFeedback(model.detector_, model.transform(frame))
    with pytest.raises(AnomalyzerError, match="not among the"):
        learner.update([10_000], [1])
    with pytest.raises(AnomalyzerError, match="1 \\(anomaly\\) or 0"):
        learner.update([0], [2])
    with pytest.raises(AnomalyzerError, match="isolation forest"):
        ForestFeedback(detectors.make("mad"), np.zeros((3, 1)))


def test_model_feedback_keeps_who_and_when_and_is_saved_with_the_model(model, frame, tmp_path):
    m = Model("iforest", random_state=0).fit(frame)
    made = m.feedback(frame.iloc[[A[0], B[0]]], ["normal", "anomaly"], who="ana",
                      when="2026-01-02T03:04:05+00:00")  # fmt: skip
    assert [(x.row, x.label, x.who) for x in made] == [("R0400", "normal", "ana"),
                                                       ("R0408", "anomaly", "ana")]  # fmt: skip
    m.feedback("R0001", "?", who="bo")
    path = m.save(tmp_path / "m.azm")
    again = load(path)
    assert again.feedback_ == m.feedback_
    assert again.feedback_[2]["label"] == "unsure" and again.feedback_[2]["when"]
    with pytest.raises(AnomalyzerError, match="not one of anomaly, normal or unsure"):
        m.feedback("R0001", "perhaps")
    with pytest.raises(AnomalyzerError, match="one label per row"):
        m.feedback(["R0001", "R0002"], ["normal"])


def test_csv_store_is_resumable_and_undo_rewrites_it(tmp_path):
    path = tmp_path / "labels.csv"
    from anomalyzer.feedback.store import make_labels

    store = CsvStore(path)
    store.add(make_labels(["1", "2"], ["anomaly", "normal"], who="ana"))
    assert CsvStore(path).history() == store.history()
    assert store.undo().row == "2"
    again = CsvStore(path).history()
    assert [(x.row, x.label, x.who) for x in again] == [("1", "anomaly", "ana")]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nx,1\n")
    with pytest.raises(AnomalyzerError, match="needs a 'row'"):
        read_labels(bad)


def test_session_learns_undoes_and_replays_labels(model, frame):
    store = MemoryStore()
    session = FeedbackSession(model, frame, store=store)
    first = int(session.next()[0])
    assert first in A + B
    session.label(first, "normal", who="ana")
    assert _mean_rank(session.scores, [first]) > 12  # below the top 3% now
    assert first not in session.next(20).tolist()
    session.undo()
    assert session.progress()["labelled"] == 0 and store.history() == []
    session.label(first, "anomaly", who="ana")
    session.label(int(session.next()[0]), "unsure", who="ana")
    resumed = FeedbackSession(model, frame, store=store)
    assert resumed.labels() == session.labels()
    assert resumed.learner.labels_ == {first: 1}
    view = resumed.view(first)
    assert view["id"] == frame["row_id"][first] and view["reason"] and view["unusual"]


def test_diverse_batch_spreads_where_the_top_rows_are_neighbours(model, frame):
    session = FeedbackSession(model, frame, store=MemoryStore())
    top = session.next(2).tolist()
    batch = session.next(2, diverse=True).tolist()
    assert batch[0] == top[0] and len(set(batch)) == 2

    def spread(rows: list[int]) -> float:
        return float(np.linalg.norm(session.X[rows[0]] - session.X[rows[1]]))

    assert spread(top) < 1.0 < 5.0 < spread(batch)  # the top two are neighbours, the batch is not
    assert diverse_batch(session.scores, session.X, labelled=top, k=3).tolist()[0] not in top


def test_description_names_the_columns_the_anomalies_share(model, frame):
    session = FeedbackSession(model, frame, store=MemoryStore())
    for r in B[:4]:
        session.label(r, "anomaly", who="ana")
    text = session.describe()
    assert text.startswith("The 4 rows labelled anomalous share: b from 5.")
    assert "all 4 labelled anomalies" in text
    assert describe_anomalies(frame, []) == "No row is labelled anomalous yet."


def test_semi_and_supervised_learn_from_partly_labelled_rows(frame, model):
    X = model.transform(frame)
    y = np.full(len(X), np.nan)
    y[:60] = 0
    y[B[:3]] = 1
    for name in ("semi", "supervised"):
        det = detectors.make(name, random_state=0).fit(X, y)
        scores = det.decision_scores_
        assert np.isfinite(scores).all()
        assert scores[B[3:]].min() > np.median(scores[60:N_NORMAL])  # unlabelled B rows rank high
    with pytest.raises(AnomalyzerError, match="no labelled row"):
        detectors.make("semi").fit(X, np.full(len(X), np.nan))


def test_fit_with_labels_gives_a_model_that_saves(model, frame, tmp_path):
    session = FeedbackSession(model, frame, store=MemoryStore())
    for r in range(30):
        session.label(r, "normal", who="ana")
    session.label(B[0], "anomaly", who="ana")
    learned = fit_with_labels(session, "semi")
    again = load(learned.save(tmp_path / "semi.azm"))
    np.testing.assert_allclose(again.score(frame), learned.score(frame))
    assert again.score(frame.iloc[[B[1]]])[0] > again.score(frame.iloc[[5]])[0]


def test_feedback_command_imports_labels_into_the_model_file(model, tmp_path):
    path = model.save(tmp_path / "m.azm")
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label,who\nR0400,normal,ana\nR0408,1,\n")
    before = path.read_bytes()
    labelled = tmp_path / "labelled.azm"
    res = CliRunner().invoke(
        app, ["feedback", str(path), str(labels), "--who", "bo", "--out", str(labelled)]
    )
    assert res.exit_code == 0, res.output
    assert "Added 2 label(s)" in res.output and "1 anomaly, 1 normal" in res.output
    assert path.read_bytes() == before  # the input model is never rewritten
    res = CliRunner().invoke(app, ["feedback", str(path), str(labels), "--out", str(path)])
    assert res.exit_code != 0 and path.read_bytes() == before
    stored = load(labelled).feedback_
    assert [(r["row"], r["label"], r["who"]) for r in stored] == [("R0400", "normal", "ana"),
                                                                  ("R0408", "anomaly", "bo")]  # fmt: skip
    labels.write_text("id,label\nR0400,maybe not\n")
    res = CliRunner().invoke(app, ["feedback", str(path), str(labels), "--out", str(labelled)])
    assert res.exit_code != 0
    assert isinstance(res.exception, AnomalyzerError) and "line 2" in str(res.exception)


def test_sql_store_keeps_labels_per_model_and_a_session_resumes_from_it(model, frame, tmp_path):
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    session = FeedbackSession(model, frame, store=SqlStore(url, key="fraud-v1"))
    first = int(session.next()[0])
    session.label(first, "anomaly", who="ana")
    session.label(int(session.next()[0]), "normal", who="bo")
    session.undo()
    SqlStore(url, key="other").add(session.store.history())  # another model's labels apart
    resumed = FeedbackSession(model, frame, store=SqlStore(url, key="fraud-v1"))
    assert resumed.labels() == {first: "anomaly"}
    assert [x.who for x in resumed.store.history()] == ["ana"]
    assert len(SqlStore(url, key="other").history()) == 1


def test_review_command_writes_to_a_label_file_or_a_database(model, frame, tmp_path):
    path = model.save(tmp_path / "m.azm")
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    res = CliRunner().invoke(app, ["review", str(path), str(data), "--who", "ana"], input="n\nq\n")
    assert res.exit_code == 0, res.output
    assert "Labelled 1 of 416: 0 anomalies, 1 normal" in res.output
    stored = pd.read_csv(tmp_path / "m.labels.csv")
    assert stored[["label", "who"]].values.tolist() == [["normal", "ana"]]
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    res = CliRunner().invoke(app, ["review", str(path), str(data), "--db", url], input="a\nq\n")
    assert res.exit_code == 0, res.output
    assert [x.label for x in SqlStore(url, key="m.azm").history()] == ["anomaly"]
    res = CliRunner().invoke(app, ["review", str(path), str(data), "--labels", str(data)])
    assert isinstance(res.exception, AnomalyzerError) and "is an input" in str(res.exception)


def test_feedback_command_writes_another_file_with_out(model, tmp_path):
    path = model.save(tmp_path / "m.azm")
    labels = tmp_path / "labels.csv"
    labels.write_text("row,label\nR0001,normal\n")
    res = CliRunner().invoke(
        app, ["feedback", str(path), str(labels), "--out", str(tmp_path / "n.azm")]
    )
    assert res.exit_code == 0, res.output
    assert load(path).feedback_ == [] and len(load(tmp_path / "n.azm").feedback_) == 1


def test_registry_store_reviews_from_the_labels_the_service_stored(model, frame, tmp_path):
    from anomalyzer.feedback.registry_store import RegistryStore
    from anomalyzer.registry import Registry

    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", actor="svc")
    try:
        version = registry.push(model.save(tmp_path / "m.azm"), name="fraud").version
        registry.add_feedback("fraud", [{"row": {}, "row_id": "R0408", "label": 1}], actor="key:1")
        store = RegistryStore(registry, "fraud", version=version)
        session = FeedbackSession(model, frame, store=store)
        assert session.labels() == {B[0]: "anomaly"}
        nxt = int(session.next()[0])
        session.label(nxt, "normal", who="ana")
        session.undo()  # not sent yet: taken back
        session.label(nxt, "normal", who="ana")
        session.label(int(session.next()[0]), "unsure", who="ana")  # kept for the review only
        store.flush()
        stored = registry.feedback("fraud", version=version)
        assert [(e.row_id, e.label, e.actor) for e in stored] == [
            ("R0408", 1, "key:1"),
            (frame["row_id"][nxt], 0, "ana"),
        ]
        session.undo()  # the unsure one
        with pytest.raises(AnomalyzerError, match="keeps every label"):
            session.undo()
    finally:
        registry.close()
