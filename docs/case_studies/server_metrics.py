# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Server metrics
#
# Two machines of the Server Machine Dataset (SMD; Su et al., KDD 2019) in
# `../shared/data/cases/server_machines/`: 38 normalised metrics per machine at
# one-minute steps, a train part without labels and a test part whose
# anomalies are labelled. As in the SMD protocol, each model is fitted on a
# machine's train part and scores its test part; the labels only evaluate.
#
# The detector is `window`: nearest neighbours (`knn`) over sliding windows of
# all 38 metrics at once, which sees the recent path of every metric together
# and so catches metrics that usually move together parting ways.

# %%
import os
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

import anomalyzer as az
from anomalyzer.evaluate import series_metrics

QUICK = os.environ.get("ANOMALYZER_DOCS_QUICK") == "1"

DATA = Path(os.environ.get("ANOMALYZER_SHARED_DATA", "../shared/data")) / "cases"
MACHINES = ["machine-1-4", "machine-2-2"]


def load(machine: str) -> tuple:
    train = az.read_table(DATA / "server_machines" / f"{machine}_train.csv.gz")
    test = az.read_table(DATA / "server_machines" / f"{machine}_test.csv.gz")
    if QUICK:  # the test suite runs on the stretch around the first labelled anomalies
        first = int(np.argmax(test["label"].to_numpy()))
        start = max(0, first - 500)
        train, test = train.tail(2000), test.iloc[start : start + 3000]
    return train, test.reset_index(drop=True)


train, test = load(MACHINES[0])
print(
    f"{MACHINES[0]}: train {len(train):,} minutes, test {len(test):,} minutes, "
    f"{train.shape[1] - 1} metrics, {int(test['label'].sum())} labelled minutes"
)

# %% [markdown]
# ## Explore the train part

# %%
report = az.explore(train)
print(report.summary())

# %% [markdown]
# ## Fit on train, score test, per machine
#
# VUS-PR (the volume under the precision-recall surface over buffers around
# each labelled range) ranks every minute; range-based recall (Tatbul et al.)
# says how much of the labelled ranges the flagged minutes cover.

# %%
results = {}
for machine in MACHINES:
    train, test = load(machine)
    model = az.SeriesModel("window", n_jobs=1).fit(train, time="timestamp")
    scored = model.score(test.drop(columns="label"))
    m = series_metrics(test["label"], scored["anomaly_score"].fillna(0.0), scored["is_anomaly"])
    results[machine] = (test, scored, model)
    print(
        f"SMD {machine}: VUS-PR {m.vus_pr:.3f}, range-based recall {m.range_recall:.3f}, "
        f"range-based precision {m.range_precision:.3f} ({m.n_ranges} labelled ranges)"
    )

# %% [markdown]
# ## Where the flags fall
#
# The score of every test minute of the first machine, the labelled ranges shaded.

# %%
test, scored, model = results[MACHINES[0]]
fig = go.Figure(
    go.Scatter(
        x=test["timestamp"],
        y=scored["anomaly_score"],
        mode="lines",
        name="anomaly score",
        line={"width": 1},
    )
)
label = test["label"].to_numpy()
edges = np.flatnonzero(np.diff(np.r_[0, label, 0]))
for a, b in zip(edges[::2], edges[1::2], strict=True):
    fig.add_vrect(
        x0=test["timestamp"].iloc[a],
        x1=test["timestamp"].iloc[b - 1],
        fillcolor="#E45756",
        opacity=0.2,
        line_width=0,
    )
fig.add_hline(y=model.threshold[None], line_dash="dash", annotation_text="threshold")
fig.update_layout(title=f"{MACHINES[0]}: anomaly score, labelled ranges shaded", height=360)
fig

# %% [markdown]
# ## Why a minute was flagged

# %%
flagged = scored[scored["is_anomaly"]].sort_values("anomaly_rank").head(3)
print(flagged[["timestamp", "anomaly_score", "anomaly_reason"]].to_string(index=False))
