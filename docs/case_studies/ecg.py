# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # ECG
#
# Three long single-lead ECG recordings from the UCR anomaly archive (KDD Cup
# 2021) in `../shared/data/cases/ecg/`: a value per (synthetic) second, a
# `split` column whose `train` part holds no anomaly, and one labelled
# anomalous region in the test part. Each model learns the heartbeat from the
# train part and scores the test part. A cardiologist reviewing the recording
# looks at the few most anomalous stretches, so besides VUS-PR we ask whether
# the labelled region is among the three highest-scoring periods.

# %%
import os
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

import anomalyzer as az
from anomalyzer.evaluate import series_metrics
from anomalyzer.evaluate.periods import region_rank, top_periods

QUICK = os.environ.get("ANOMALYZER_DOCS_QUICK") == "1"
DATA = Path(os.environ.get("ANOMALYZER_SHARED_DATA", "../shared/data")) / "cases" / "ecg"
RECORDINGS = ["UCR_ECG1", "UCR_ECG2", "UCR_qtdbSel100MLII"]
# auto finds every region in the benchmark's top three; matrix_profile has its best VUS-PR
# (benchmarks/ecg.py).
DETECTORS = ["auto", "matrix_profile"]


def load(name: str) -> tuple:
    df = az.read_table(DATA / f"{name}.csv.gz")
    train = df[df["split"] == "train"]
    test = df[df["split"] == "test"].reset_index(drop=True)
    if QUICK:  # the test suite scores the stretch around the region, after a short train part
        where = np.flatnonzero(test["label"].to_numpy())
        start = max(0, int(where[0]) - 3000)
        train, test = train.tail(2000), test.iloc[start : start + 5000].reset_index(drop=True)
    return train, test


train, test = load(RECORDINGS[0])
print(
    f"{RECORDINGS[0]}: train {len(train):,} points, test {len(test):,}, "
    f"labelled region of {int(test['label'].sum())} points"
)

# %% [markdown]
# ## Explore the train part
#
# The heartbeat is the season: its period, in points, is what the detectors
# compare each beat with.

# %%
report = az.explore(train[["timestamp", "value"]])
print(report.summary())

# %% [markdown]
# ## Fit on train, score test

# %%
scores = {}
for name in RECORDINGS:
    train, test = load(name)
    for detector in DETECTORS:
        model = az.SeriesModel(detector, n_jobs=1).fit(train, time="timestamp", value="value")
        s = model.score(test[["timestamp", "value"]])["anomaly_score"].fillna(0.0).to_numpy()
        m = series_metrics(test["label"], s)
        rank = region_rank(test["label"], s, k=3)
        found = f"period {rank} of the top 3" if rank else "not in the top 3"
        print(f"ECG {name}, {detector}: VUS-PR {m.vus_pr:.3f}; labelled region: {found}")
        scores[name, detector] = (test, s)

# %% [markdown]
# ## The top periods of the first recording

# %%
test, s = scores[RECORDINGS[0], "auto"]
label = test["label"].to_numpy()
width = max(100, int(label.sum()))
fig = go.Figure(go.Scatter(y=test["value"], mode="lines", name="ECG", line={"width": 1}))
where = np.flatnonzero(label)
fig.add_vrect(
    x0=int(where[0]),
    x1=int(where[-1]),
    fillcolor="#E45756",
    opacity=0.25,
    line_width=0,
    annotation_text="labelled",
)
for i, (a, b) in enumerate(top_periods(s, width, k=3), start=1):
    fig.add_vrect(
        x0=a,
        x1=b,
        line={"color": "#4C78A8", "dash": "dot"},
        annotation_text=f"top {i}",
        annotation_position="bottom left",
    )
fig.update_layout(
    title=f"{RECORDINGS[0]} (test part): the three top periods of auto",
    xaxis_title="point",
    height=360,
)
fig
