"""Store clustering: features, the choice of k, readable cluster names, tiny and degenerate
chains."""

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info

from activities.planning.clustering import choose_k, cluster_stores, feature_matrix, name_clusters
from tests.support.agent_data import make_stores


def test_categoricals_are_one_hot_not_ordinal():
    stores = make_stores(30, seed=1)
    x = feature_matrix(stores.assign(sales_share=1 / 30))
    onehot = (
        stores["region"].nunique()
        + stores["location_tier"].nunique()
        + stores["store_format"].nunique()
    )
    assert x.shape == (30, 3 + onehot)


def test_clusters_separate_obviously_different_stores():
    stores = make_stores(40, seed=2)
    stores.loc[:19, ["store_size_sqft", "median_income", "store_format"]] = [
        60_000,
        150_000,
        "flagship",
    ]
    stores.loc[20:, ["store_size_sqft", "median_income", "store_format"]] = [
        5_000,
        35_000,
        "outlet",
    ]
    c = cluster_stores(stores.assign(sales_share=1 / 40))
    assert c.labels[:20].tolist() == [c.labels[0]] * 20 and c.labels[0] != c.labels[20]
    assert c.names[c.labels[0]].startswith("Large high-income flagship")
    assert c.names[c.labels[20]].startswith("Small value outlet")


def test_no_stores_is_no_clusters():
    c = cluster_stores(pd.DataFrame(columns=["store_id", "store_size_sqft"]))
    assert len(c.labels) == 0 and c.names == [] and c.silhouette is None


def test_identical_stores_form_one_cluster_without_a_silhouette():
    stores = pd.concat([make_stores(1, seed=3)] * 5, ignore_index=True)
    labels, score = choose_k(feature_matrix(stores.assign(sales_share=0.2)))
    assert labels.tolist() == [0] * 5 and score is None


def test_k_is_the_best_silhouette_within_two_to_six():
    rng = np.random.default_rng(4)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.vstack([c + rng.normal(0, 0.3, size=(15, 2)) for c in centres])
    labels, score = choose_k(x)
    assert len(set(labels.tolist())) == 3 and score is not None and score > 0.8


def test_clusters_that_read_alike_get_distinct_names():
    stores = make_stores(4, seed=5).assign(
        store_size_sqft=10_000, median_income=60_000, store_format="mall", region="West"
    )
    names = name_clusters(stores, np.array([0, 0, 1, 1]))
    assert names[0] != names[1] and names[1] == f"{names[0]} #2"


def test_every_fit_runs_on_one_thread(monkeypatch):
    """Many plans share a process: k-means must not start OpenMP/BLAS threads that contend for
    the same cores (what made the fits 5-14 times slower under load)."""
    threads_seen: list[int] = []
    fit_predict = KMeans.fit_predict

    def observed(self, *args, **kwargs):
        threads_seen.extend(pool["num_threads"] for pool in threadpool_info())
        return fit_predict(self, *args, **kwargs)

    monkeypatch.setattr(KMeans, "fit_predict", observed)
    stores = make_stores(60, seed=3)
    clustering = cluster_stores(stores.assign(sales_share=1 / 60))

    assert clustering.silhouette is not None
    assert threads_seen and set(threads_seen) == {1}
