"""Agent runtimes and forecast accuracy.

    python -m bench.bench_agents

Runtimes: the three agents on a 50-store chain (per category) and at 2,000 stores. Accuracy:
the last season of history is held out; the Demand agent forecasts it in 13-week seasons from
rolling origins, each seeing only the weeks before it, and is scored against seasonal naive
(WAPE) and on how often actuals fall inside its 80 % / 95 % intervals.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import numpy as np
import pandas as pd

from activities.demand import run_demand_agent
from activities.inventory import run_inventory_agent
from activities.pricing import PricingInputs, run_pricing_agent
from shared.schemas import DemandContext, InventoryContext, PricingContext, SeasonParameters
from shared.sample_data import generate_sample

SEASON_WEEKS = 13


def load_data(stores: int, weeks: int = 156, categories: int = 3, seed: int = 42):
    """The one data source, the project's own sample (shared.sample_data): .stores, .categories,
    .sales (week_start_date, store_id, category_id, units_sold)."""
    return generate_sample(stores=stores, weeks=weeks, categories=categories, seed=seed)


def _params(start, weeks: int, strategy: str = "weekly") -> SeasonParameters:
    return SeasonParameters(forecast_horizon_weeks=weeks, season_start_date=start,
                            replenishment_strategy=strategy, dc_holdback_percentage=0.2)


def _category_sales(data, category_id: str) -> pd.DataFrame:
    sales = data.sales[data.sales["category_id"] == category_id]
    out = sales[["week_start_date", "store_id", "units_sold"]].reset_index(drop=True)
    return out.assign(week_start_date=pd.to_datetime(out["week_start_date"]))


def _timed(fn, repeats: int = 3):
    fn()
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def runtimes(data, label: str, repeats: int = 3) -> None:
    for category_id in data.categories["category_id"]:
        sales = _category_sales(data, category_id)
        start = (sales["week_start_date"].max() + timedelta(days=9)).date()
        p = _params(start, 12)
        dctx = DemandContext(category_id=category_id, parameters=p, sales=sales, stores=data.stores)
        demand, t_d = _timed(lambda: run_demand_agent(dctx), repeats)
        ictx = InventoryContext(category_id=category_id, parameters=p, stores=data.stores, demand=demand)
        inventory, t_i = _timed(lambda: run_inventory_agent(ictx), repeats)
        pctx = PricingContext(category_id=category_id, parameters=p, demand=demand, inventory=inventory)
        _, t_p = _timed(lambda: run_pricing_agent(pctx, PricingInputs()), repeats)
        print(f"  {label:<12} {category_id:<12} demand {t_d:6.3f} s  inventory {t_i:6.3f} s  "
              f"pricing {t_p:6.3f} s  ({len(inventory.clusters)} clusters, model {demand.model_used})")


def accuracy(data, season_weeks: int = SEASON_WEEKS) -> dict[str, float]:
    """Held-out last 52 weeks, forecast in seasons of `season_weeks` from rolling origins."""
    abs_err = abs_err_naive = actual_sum = 0.0
    inside80 = inside95 = points = 0
    for category_id in data.categories["category_id"]:
        sales = _category_sales(data, category_id)
        totals = sales.groupby("week_start_date")["units_sold"].sum().sort_index()
        n = len(totals)
        for origin in range(n - 52, n - season_weeks + 1, season_weeks):
            history = sales[sales["week_start_date"] < totals.index[origin]]
            start = totals.index[origin].date()
            ctx = DemandContext(category_id=category_id, parameters=_params(start, season_weeks),
                                sales=history, stores=data.stores)
            result = run_demand_agent(ctx)
            actual = totals.iloc[origin : origin + season_weeks].to_numpy(float)
            naive = totals.iloc[origin - 52 : origin - 52 + season_weeks].to_numpy(float)
            fc = np.array([w.units for w in result.forecast_by_week])
            lo80 = np.array([w.lower for w in result.forecast_by_week])
            hi80 = np.array([w.upper for w in result.forecast_by_week])
            lo95 = np.array([w.lower_95 for w in result.forecast_by_week])
            hi95 = np.array([w.upper_95 for w in result.forecast_by_week])
            abs_err += np.abs(actual - fc).sum()
            abs_err_naive += np.abs(actual - naive).sum()
            actual_sum += actual.sum()
            inside80 += int(((actual >= lo80) & (actual <= hi80)).sum())
            inside95 += int(((actual >= lo95) & (actual <= hi95)).sum())
            points += len(actual)
    wape, wape_naive = abs_err / actual_sum, abs_err_naive / actual_sum
    return {"wape": wape, "wape_naive": wape_naive, "improvement": 1 - wape / wape_naive,
            "coverage80": inside80 / points, "coverage95": inside95 / points, "points": points}


def main() -> None:
    print("Runtimes (median of 3, after a warm-up call that pays numba compilation once):")
    runtimes(load_data(stores=50), "50 stores")
    runtimes(load_data(stores=2000, categories=1), "2000 stores", repeats=1)
    print(f"Accuracy on the held-out last season ({SEASON_WEEKS}-week seasons, rolling origins):")
    for seed in (42, 7, 123):
        a = accuracy(load_data(stores=50, seed=seed))
        print(f"  seed {seed:<4} WAPE {a['wape']:.1%} vs seasonal naive {a['wape_naive']:.1%} "
              f"({a['improvement']:.0%} lower); 80 % interval coverage {a['coverage80']:.0%}, "
              f"95 % coverage {a['coverage95']:.0%} over {a['points']} weeks")


if __name__ == "__main__":
    main()
