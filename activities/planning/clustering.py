"""Store clustering: k-means on standardised numeric features and one-hot categoricals, k chosen
by silhouette, clusters named from their centroids so a planner can read them.

Why one thread: the fits are small (a few thousand stores x ~15 features), and many plans run
at once in one process; OpenMP threads per fit only contend for the same cores (and spin while
they wait), which made a 0.7 s choice take 3-10 s under load. threadpoolctl pins the fits to
one thread, so the work is the same whatever else runs. Why one k-means++ init per k: k-means++
seeding already starts near a good solution, and `python -m bench.bench_clustering` shows five
inits buying the same silhouette on the chain's stores (500 to 50,000) for 2-3 times the time.
Mini-batch k-means, measured by the same benchmark, was slower up to 50,000 stores (its inits
and batches cost more than full passes over a few thousand short rows) and lost 0.05-0.07 of
silhouette, so the agent does not use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from shared.deadline import Checkpoint, check

NUMERIC = ("store_size_sqft", "median_income", "sales_share")
CATEGORICAL = ("region", "location_tier", "store_format")
K_RANGE = (2, 6)
RANDOM_STATE = 42
N_INIT = 1
SILHOUETTE_SAMPLE = 1000

Estimator: TypeAlias = KMeans | MiniBatchKMeans
"""What `choose_k` fits: the agent's KMeans, or another k-means for the benchmark."""


@dataclass
class Clustering:
    labels: np.ndarray  # cluster index per store row, 0..k-1
    names: list[str]
    silhouette: float | None


def feature_matrix(stores: pd.DataFrame) -> np.ndarray:
    """Numeric columns z-scored; each categorical one-hot with weight 1/sqrt(2), so two stores
    differing in one categorical are as far apart as one standard deviation of a numeric."""
    blocks = []
    for col in NUMERIC:
        if col in stores:
            x = pd.to_numeric(stores[col], errors="coerce").astype(float)
            x = x.fillna(x.median() if x.notna().any() else 0.0).to_numpy()
            sd = x.std()
            blocks.append(((x - x.mean()) / sd if sd > 0 else np.zeros_like(x))[:, None])
    for col in CATEGORICAL:
        if col in stores:
            dummies = pd.get_dummies(stores[col].fillna("unknown").astype(str), dtype=float)
            blocks.append(dummies.to_numpy() / np.sqrt(2.0))
    return np.hstack(blocks) if blocks else np.zeros((len(stores), 1))


def kmeans(k: int) -> Estimator:
    """The agent's fit for `k` clusters: full k-means from one k-means++ seeding."""
    return KMeans(n_clusters=k, random_state=RANDOM_STATE, n_init=N_INIT)


def choose_k(
    x: np.ndarray,
    make: Callable[[int], Estimator] | None = None,
    checkpoint: Checkpoint | None = None,
) -> tuple[np.ndarray, float | None]:
    """Best silhouette over k in 2..6 (k <= distinct stores - 1); one cluster when that range
    is empty (one or two stores, or all stores alike). `make` builds the estimator for a k
    (default: `kmeans`); call it inside `threadpool_limits(limits=1)`. `checkpoint` is called
    before each fit (shared/deadline.py: it raises once the attempt's deadline passed)."""
    make = make or kmeans
    distinct = len(np.unique(x.round(9), axis=0))
    best: tuple[float, np.ndarray] | None = None
    for k in range(K_RANGE[0], min(K_RANGE[1], distinct - 1) + 1):
        check(checkpoint)
        labels = make(k).fit_predict(x)
        if len(set(labels)) < 2:
            continue
        score = float(
            silhouette_score(
                x, labels, sample_size=min(len(x), SILHOUETTE_SAMPLE), random_state=RANDOM_STATE
            )
        )
        if best is None or score > best[0] + 1e-12:
            best = (score, labels)
    if best is None:
        return np.zeros(len(x), dtype=int), None
    return best[1], best[0]


def _band(value: float, low: float, high: float, words: tuple[str, str, str]) -> str:
    return words[0] if value >= high else words[2] if value <= low else words[1]


def name_clusters(stores: pd.DataFrame, labels: np.ndarray) -> list[str]:
    """'Large high-income flagship stores (West)': size and income bands against the chain's
    tertiles, the dominant format, and the dominant region when it holds most of the cluster."""
    size = pd.to_numeric(stores.get("store_size_sqft"), errors="coerce")
    income = pd.to_numeric(stores.get("median_income"), errors="coerce")
    s_lo, s_hi = size.quantile([1 / 3, 2 / 3]).tolist() if size is not None else (0, 0)
    i_lo, i_hi = income.quantile([1 / 3, 2 / 3]).tolist() if income is not None else (0, 0)
    names: list[str] = []
    for k in range(int(labels.max()) + 1 if len(labels) else 0):
        rows = stores[labels == k]
        parts = []
        if size is not None and size.notna().any():
            parts.append(
                _band(size[labels == k].median(), s_lo, s_hi, ("Large", "Mid-size", "Small"))
            )
        if income is not None and income.notna().any():
            parts.append(
                _band(
                    income[labels == k].median(), i_lo, i_hi, ("high-income", "mid-income", "value")
                )
            )
        if "store_format" in rows and len(rows):
            parts.append(str(rows["store_format"].mode().iloc[0]))
        label = " ".join(parts) + " stores" if parts else "Stores"
        label = label[0].upper() + label[1:]
        if "region" in rows and len(rows):
            top = rows["region"].value_counts()
            label += f" ({top.index[0]})" if top.iloc[0] / len(rows) >= 0.6 else " (mixed regions)"
        names.append(label)
    seen: dict[str, int] = {}
    unique = []
    for label in names:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


def cluster_stores(stores: pd.DataFrame, checkpoint: Checkpoint | None = None) -> Clustering:
    if len(stores) == 0:
        return Clustering(np.zeros(0, dtype=int), [], None)
    with threadpool_limits(limits=1):
        labels, score = choose_k(feature_matrix(stores), checkpoint=checkpoint)
    return Clustering(labels, name_clusters(stores, labels), score)
