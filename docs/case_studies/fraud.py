# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Card fraud
#
# A month of card transactions (`examples/transactions.csv`, bundled with the
# project): amount, merchant category, country, channel, distance from home,
# the customer's transactions in the last 24 hours, and a label `is_fraud`
# that the detectors never see. We explore the table, detect without labels,
# read the reasons, evaluate against the labels, compare detectors, save the
# model and score new transactions with it.

# %%
import os
import tempfile
from pathlib import Path

import anomalyzer as az
from anomalyzer.evaluate import compare, evaluate, plot_pr

# The test suite sets this to run every case study on less data.
QUICK = os.environ.get("ANOMALYZER_DOCS_QUICK") == "1"
df = az.read_table("examples/transactions.csv")
print(f"{len(df):,} transactions, {int(df['is_fraud'].sum())} labelled as fraud")

# %% [markdown]
# ## Explore
#
# Before detecting anything: what does each column hold, how much is missing,
# and how many values sit far from the rest by the classic rules?

# %%
report = az.explore(df, label="is_fraud")
print(report.summary())
report.to_frame().loc[
    ["amount", "distance_from_home_km", "transactions_last_24h"],
    ["median", "max", "beyond_z3", "beyond_iqr", "beyond_mad"],
]

# %%
report.figures["columns"][1]  # the amount: a box plot above its histogram

# %% [markdown]
# ## Detect, and read the reasons
#
# `az.detect` fits the default detector (`auto`) on every row, without the
# label, and flags the rows beyond a threshold it reads off the scores.

# %%
result = az.detect(df, label="is_fraud")
print(result)
top = result.top(5)[["transaction_id", "amount", "country", "anomaly_score", "anomaly_reason"]]
print(top.to_string(index=False))

# %% [markdown]
# ## Evaluate against the labels

# %%
ev = evaluate(df["is_fraud"], result.scores, result.frame["is_anomaly"])
print(f"Fraud, auto: ROC-AUC {ev.roc_auc:.3f}, AP {ev.average_precision:.3f}")
print(
    f"At the automatic threshold: {ev.n_flagged} flagged, precision {ev.precision:.3f}, "
    f"recall {ev.recall:.3f}"
)

# %% [markdown]
# ## Compare detectors
#
# Every detector fitted the same way, ranked by average precision.

# %%
names = ["auto", "knn", "mad", "iforest"] if QUICK else None
table = compare(df, "is_fraud", names)
print(table[["detector", "roc_auc", "ap", "fit_seconds"]].round(3).to_string(index=False))

# %%
curves = {}
for name in table["detector"].head(3):
    scored = az.detect(df, name, label="is_fraud")
    curves[name] = (df["is_fraud"], scored.scores)
plot_pr(curves, title="Precision-recall of the three best detectors")

# %% [markdown]
# ## Save the model, score new transactions
#
# The model file holds the preprocessing, the detector and the threshold;
# loading it never runs code. New rows are scored without refitting.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = result.model.save(Path(tmp) / "fraud.azm")
    model = az.load(path)
    new = df.drop(columns="is_fraud").sample(5, random_state=1)
    new.loc[new.index[0], "amount"] = 25_000.0  # one transaction far beyond the rest
    scored = model.score_frame(new)
print(
    scored[["transaction_id", "amount", "anomaly_score", "is_anomaly", "anomaly_reason"]].to_string(
        index=False
    )
)
