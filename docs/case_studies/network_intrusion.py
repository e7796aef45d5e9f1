# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Network intrusion
#
# Connection records from NSL-KDD (`../shared/data/cases/network_intrusion.csv.gz`):
# every normal connection of KDDTrain+ (20%) and KDDTest+ plus a 3% sample of
# the attacks, 41 raw columns of which three are text (`protocol_type`,
# `service`, `flag`), and `label` 1 for an attack. The detectors see the raw
# table: roles, one-hot encoding and scaling are found on their own.

# %%
import os
import tempfile
from pathlib import Path

import anomalyzer as az
from anomalyzer.evaluate import compare, evaluate, plot_roc

QUICK = os.environ.get("ANOMALYZER_DOCS_QUICK") == "1"
DATA = Path(os.environ.get("ANOMALYZER_SHARED_DATA", "../shared/data")) / "cases"
df = az.read_table(DATA / "network_intrusion.csv.gz")
if QUICK:  # the test suite runs on a sample
    df = df.sample(5000, random_state=0).reset_index(drop=True)
print(f"{len(df):,} connections, {int(df['label'].sum()):,} attacks ({df['label'].mean():.1%})")

# %% [markdown]
# ## Explore

# %%
report = az.explore(df, label="label")
print(report.summary())

# %%
report.figures["columns"][4]  # src_bytes: heavy-tailed, drawn on a log axis

# %% [markdown]
# ## Detect with `auto`, and read the reasons

# %%
result = az.detect(df, label="label")
print(result)
print(
    result.top(5)[["protocol_type", "service", "flag", "src_bytes", "anomaly_reason"]].to_string(
        index=False
    )
)

# %% [markdown]
# ## Evaluate against the labels
#
# ROC-AUC and average precision rank every connection; precision and recall
# are those of the connections flagged at the automatic threshold.

# %%
auto = evaluate(df["label"], result.scores, result.frame["is_anomaly"])
print(
    f"Intrusion, auto: ROC-AUC {auto.roc_auc:.3f}, AP {auto.average_precision:.3f}; "
    f"at the automatic threshold precision {auto.precision:.3f}, recall {auto.recall:.3f}"
)

# %% [markdown]
# ## Compare the single detectors

# %%
names = ["iforest", "hbos", "ecod", "copod", "pca", "loda"]
if not QUICK:
    names += ["knn", "lof", "cblof", "gmm", "mahalanobis"]
table = compare(df, "label", names, time_budget=None if QUICK else 300)
print(table[["detector", "roc_auc", "ap", "fit_seconds"]].round(3).to_string(index=False))

# %%
best_name = str(table.loc[table["status"] == "ok", "detector"].iloc[0])
best_result = az.detect(df, best_name, label="label")
best = evaluate(df["label"], best_result.scores, best_result.frame["is_anomaly"])
print(
    f"Intrusion, best single detector ({best_name}): ROC-AUC {best.roc_auc:.3f}, "
    f"AP {best.average_precision:.3f}; at the automatic threshold precision "
    f"{best.precision:.3f}, recall {best.recall:.3f}"
)

# %%
plot_roc({"auto": (df["label"], result.scores), best_name: (df["label"], best_result.scores)})

# %% [markdown]
# ## Save, load and score new connections

# %%
with tempfile.TemporaryDirectory() as tmp:
    model = az.load(result.model.save(Path(tmp) / "intrusion.azm"))
    new = df.drop(columns="label").tail(3)
    print(model.score_frame(new)[["service", "anomaly_score", "is_anomaly"]].to_string())
