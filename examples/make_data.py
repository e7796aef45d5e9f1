"""Write the example data sets used by ``make demo``, the README and the tests.

- ``transactions.csv``: card transactions with ids, timestamps, categoricals,
  missing values, a free-text note, a constant column, and about 1% planted
  fraud of three kinds (huge amounts, rare countries, amounts odd for their
  merchant category), marked in ``is_fraud``.
- ``server_metrics.csv``: five hosts' CPU and memory every 5 minutes for two
  weeks, with daily and weekly cycles and planted spikes, a level shift and a
  stuck sensor, marked in ``is_incident``.

Run ``python examples/make_data.py``; the output is the same every time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

CATEGORIES = {
    "grocery": (45.0, 0.5),
    "fuel": (60.0, 0.3),
    "restaurant": (35.0, 0.5),
    "pharmacy": (25.0, 0.5),
    "electronics": (320.0, 0.6),
    "travel": (450.0, 0.7),
    "clothing": (80.0, 0.6),
    "online_services": (15.0, 0.4),
}
COUNTRIES = ["DE", "FR", "NL", "BE", "AT", "ES", "IT"]
RARE_COUNTRIES = ["NR", "KP", "TV", "VU"]


def transactions(n: int = 5000, seed: int = 7) -> pd.DataFrame:
    """Card transactions with about 1% planted fraud."""
    rng = np.random.default_rng(seed)
    cats = rng.choice(list(CATEGORIES), size=n, p=[0.25, 0.15, 0.2, 0.08, 0.05, 0.04, 0.13, 0.1])
    mu = np.array([np.log(CATEGORIES[c][0]) for c in cats])
    sd = np.array([CATEGORIES[c][1] for c in cats])
    amount = np.round(np.exp(rng.normal(mu, sd)), 2)
    country = rng.choice(COUNTRIES, size=n, p=[0.55, 0.12, 0.1, 0.08, 0.06, 0.05, 0.04])
    channel = np.where(np.isin(cats, ["online_services", "electronics"]),
                       rng.choice(["online", "in_store"], size=n, p=[0.8, 0.2]),
                       rng.choice(["online", "in_store"], size=n, p=[0.15, 0.85]))  # fmt: skip
    start = pd.Timestamp("2026-03-01")
    # Daytime-heavy purchase times over a month.
    hours = np.clip(rng.normal(14, 4, size=n), 0, 23.99)
    days = rng.integers(0, 31, size=n)
    ts = start + pd.to_timedelta(days, unit="D") + pd.to_timedelta(hours, unit="h")
    distance = np.round(rng.gamma(2.0, 4.0, size=n), 1)
    tx_24h = rng.poisson(3, size=n)
    fraud = np.zeros(n, dtype=bool)

    idx = rng.choice(n, size=int(0.012 * n), replace=False)
    kinds = np.arange(idx.size) % 3
    for i, kind in zip(idx, kinds, strict=True):
        fraud[i] = True
        if kind == 0:  # a huge amount
            amount[i] = np.round(amount[i] * rng.uniform(25, 60), 2)
        elif kind == 1:  # a rare country, far from home
            country[i] = rng.choice(RARE_COUNTRIES)
            distance[i] = np.round(rng.uniform(2000, 9000), 1)
        else:  # an amount that is ordinary overall but odd for a pharmacy
            cats[i] = "pharmacy"
            amount[i] = np.round(rng.uniform(1400, 2600), 2)
            tx_24h[i] = rng.integers(12, 20)

    df = pd.DataFrame({
        "transaction_id": [f"T{100000 + i}" for i in range(n)],
        "timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"),
        "customer_id": rng.integers(1000, 1600, size=n),
        "amount": amount,
        "merchant_category": cats,
        "country": country,
        "channel": channel,
        "distance_from_home_km": distance,
        "transactions_last_24h": tx_24h,
        "currency": "EUR",
        "note": rng.choice(["", "recurring payment for subscription service",
                            "customer called about this charge", "refund requested later",
                            "gift for a friend's birthday party"], size=n),
        "is_fraud": fraud.astype(int),
    })  # fmt: skip
    # Missing values as real exports have them.
    df.loc[rng.random(n) < 0.03, "distance_from_home_km"] = np.nan
    df.loc[rng.random(n) < 0.02, "channel"] = None
    return df


def server_metrics(hosts: int = 5, days: int = 14, seed: int = 11) -> pd.DataFrame:
    """Per-host CPU and memory every 5 minutes with planted incidents."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2026-03-02", periods=days * 288, freq="5min")
    hour = t.hour.to_numpy() + t.minute.to_numpy() / 60
    weekend = (t.day_of_week.to_numpy() >= 5).astype(float)
    frames = []
    for h in range(hosts):
        base = 30 + 5 * h
        daily = 15 * np.sin((hour - 8) / 24 * 2 * np.pi)
        cpu = base + daily * (1 - 0.6 * weekend) + rng.normal(0, 2.5, t.size)
        mem = 55 + 0.3 * cpu + rng.normal(0, 1.0, t.size)
        incident = np.zeros(t.size, dtype=bool)
        spikes = rng.choice(t.size, size=4, replace=False)
        cpu[spikes] += rng.uniform(35, 50, size=4)
        incident[spikes] = True
        if h == 1:  # a level shift for six hours
            s = 9 * 288 + 100
            cpu[s : s + 72] += 25
            incident[s : s + 72] = True
        if h == 3:  # a stuck memory sensor for four hours
            s = 4 * 288 + 40
            mem[s : s + 48] = mem[s]
            incident[s : s + 48] = True
        frames.append(pd.DataFrame({
            "timestamp": t, "host": f"web-{h + 1:02d}",
            "cpu": np.round(np.clip(cpu, 0, 100), 2), "mem": np.round(mem, 2),
            "is_incident": incident.astype(int),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write to")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in [
        ("transactions.csv", transactions()),
        ("server_metrics.csv", server_metrics()),
    ]:
        path = args.out / name
        frame.to_csv(path, index=False)
        if not args.quiet:
            print(f"wrote {path} ({len(frame):,} rows)")


if __name__ == "__main__":
    main()
