"""Store clustering: silhouette against time for the ways to fit k-means.

    python -m bench.bench_clustering [--stores 500,2000,10000,50000] [--repeats 3]

The Inventory agent tries k = 2..6 and keeps the best silhouette
(activities/planning/clustering.py).
For each store count (the sample generator's stores, with a sales share), each fitting strategy
runs the whole choice of k on one thread (threadpoolctl, as the agent does): its median time,
the k it chose and that clustering's silhouette (sampled as the agent samples it). Strategies:
`lloyd x5` (the agent before issue 25: k-means++ seeding, 5 inits per k), `k-means++ x1` (one
k-means++ init per k: what the agent uses) and `mini-batch` (MiniBatchKMeans, 3 inits, batches
of 4,096).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from threadpoolctl import threadpool_limits

from activities.planning import clustering
from localdev.sample_data import generate_sample

STRATEGIES: dict[str, Callable[[int], Any]] = {
    "lloyd x5": lambda k: KMeans(n_clusters=k, random_state=clustering.RANDOM_STATE, n_init=5),
    "k-means++ x1": clustering.kmeans,
    "mini-batch": lambda k: MiniBatchKMeans(
        n_clusters=k, random_state=clustering.RANDOM_STATE, n_init=3, batch_size=4096
    ),
}


def features(stores: int) -> np.ndarray:
    sample = generate_sample(stores=stores, weeks=8, categories=1)
    frame = sample.stores.copy()
    totals = sample.sales.groupby("store_id")["units_sold"].sum()
    frame["sales_share"] = frame["store_id"].map(totals / totals.sum()).fillna(0.0)
    return clustering.feature_matrix(frame)


def measure(x: np.ndarray, repeats: int) -> dict[str, dict[str, float]]:
    figures = {}
    for name, make in STRATEGIES.items():
        times, outcome = [], None
        for _ in range(repeats):
            started = time.perf_counter()
            with threadpool_limits(limits=1):
                outcome = clustering.choose_k(x, make)
            times.append(time.perf_counter() - started)
        assert outcome is not None
        labels, score = outcome
        figures[name] = {
            "seconds": statistics.median(times),
            "k": int(labels.max()) + 1,
            "silhouette": float("nan") if score is None else score,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="500,2000,10000,50000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'stores':>7}  " + "  ".join(f"{name:>26}" for name in STRATEGIES))
    print(f"{'':>7}  " + "  ".join(f"{'time   k  silhouette':>26}" for _ in STRATEGIES))
    for count in (int(s) for s in args.stores.split(",")):
        figures = measure(features(count), args.repeats)
        print(
            f"{count:>7,}  "
            + "  ".join(
                f"{f['seconds']:>9.3f} s  {f['k']:>2}  {f['silhouette']:>10.3f}"
                for f in figures.values()
            )
        )


if __name__ == "__main__":
    main()
