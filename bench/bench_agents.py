"""Agent runtimes and forecast accuracy.

    python -m bench.bench_agents

Data: the project's own sample (localdev.sample_data.generate_sample), seeds 42, 7 and 123.
Runtimes: the three agents on 50 stores (per category) and at 2,000 stores. Accuracy (issue 4):
the last season of history is held out and cut into 13-week seasons (weeks 104, 117, 130, 143 of
156); for each season and category the Demand agent sees only the weeks before it, and is
scored against SeasonalNaive(52) over the same weeks (WAPE) and on how often actuals fall
inside its 80 % / 95 % intervals.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from activities.planning.contexts import (
    DemandContext,
    FrameHistory,
    InventoryContext,
    PricingContext,
)
from activities.planning.demand import run_demand_agent
from activities.planning.inventory import run_inventory_agent
from activities.planning.pricing import PricingInputs, run_pricing_agent
from localdev.sample_data import generate_sample
from shared.schemas import SeasonParameters

SEASON_WEEKS = 13
SEEDS = (42, 7, 123)


def load_data(stores: int, weeks: int = 156, categories: int = 3, seed: int = 42):
    """The one data source, the project's own sample (localdev.sample_data): .stores, .categories,
    .sales (week_start_date, store_id, category_id, units_sold)."""
    return generate_sample(stores=stores, weeks=weeks, categories=categories, seed=seed)


def _params(start, weeks: int, strategy: str = "weekly") -> SeasonParameters:
    return SeasonParameters(
        forecast_horizon_weeks=weeks,
        season_start_date=start,
        replenishment_strategy=strategy,
        dc_holdback_percentage=0.2,
    )


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


def runtimes(data, label: str, repeats: int = 3) -> dict[str, float]:
    """Each agent's median runtime per category, printed; returns the slowest category's."""
    slowest = {"demand_s": 0.0, "inventory_s": 0.0, "pricing_s": 0.0}
    for category_id in data.categories["category_id"]:
        sales = _category_sales(data, category_id)
        start = (sales["week_start_date"].max() + timedelta(days=9)).date()
        p = _params(start, 12)
        dctx = DemandContext(
            category_id=category_id,
            parameters=p,
            history=FrameHistory(sales),
            stores=data.stores,
        )
        demand, t_d = _timed(partial(run_demand_agent, dctx), repeats)
        ictx = InventoryContext(
            category_id=category_id, parameters=p, stores=data.stores, demand=demand
        )
        inventory, t_i = _timed(partial(run_inventory_agent, ictx), repeats)
        pctx = PricingContext(
            category_id=category_id, parameters=p, demand=demand, inventory=inventory
        )
        _, t_p = _timed(partial(run_pricing_agent, pctx, PricingInputs()), repeats)
        print(
            f"  {label:<12} {category_id:<12} demand {t_d:6.3f} s  inventory {t_i:6.3f} s  "
            f"pricing {t_p:6.3f} s  ({len(inventory.clusters)} clusters, model {demand.model_used})"
        )
        for key, seconds in (("demand_s", t_d), ("inventory_s", t_i), ("pricing_s", t_p)):
            slowest[key] = max(slowest[key], seconds)
    return slowest


def season_origins(weeks: int, season_weeks: int = SEASON_WEEKS) -> list[int]:
    """Starts of the held-out seasons: the last 52 weeks cut into `season_weeks`-week seasons
    (weeks 104, 117, 130, 143 of 156)."""
    return list(range(weeks - 52, weeks - season_weeks + 1, season_weeks))


def holdout_records(data, season_weeks: int = SEASON_WEEKS) -> pd.DataFrame:
    """One row per (held-out season, category): the agent trained on every week before the
    season forecasts it; seasonal naive (52) forecasts the same weeks with last year's."""
    rows = []
    for category_id in data.categories["category_id"]:
        sales = _category_sales(data, category_id)
        totals = sales.groupby("week_start_date")["units_sold"].sum().sort_index()
        for origin in season_origins(len(totals), season_weeks):
            history = sales[sales["week_start_date"] < totals.index[origin]]
            ctx = DemandContext(
                category_id=category_id,
                parameters=_params(totals.index[origin].date(), season_weeks),
                history=FrameHistory(history),
                stores=data.stores,
            )
            result = run_demand_agent(ctx)
            actual = totals.iloc[origin : origin + season_weeks].to_numpy(float)
            naive = totals.iloc[origin - 52 : origin - 52 + season_weeks].to_numpy(float)
            weeks = result.forecast_by_week
            fc = np.array([w.units for w in weeks])
            inside80 = (actual >= [w.lower for w in weeks]) & (actual <= [w.upper for w in weeks])
            inside95 = (actual >= [w.lower_95 for w in weeks]) & (
                actual <= [w.upper_95 for w in weeks]
            )
            rows.append(
                {
                    "category": category_id,
                    "origin": origin,
                    "season": (
                        f"w{origin}-{origin + season_weeks - 1} {totals.index[origin].date()}"
                    ),
                    "model": result.model_used,
                    "actual": actual.sum(),
                    "abs_err": np.abs(actual - fc).sum(),
                    "abs_err_naive": np.abs(actual - naive).sum(),
                    "in80": int(inside80.sum()),
                    "in95": int(inside95.sum()),
                    "points": len(actual),
                }
            )
    return pd.DataFrame(rows)


def summarise(records: pd.DataFrame) -> dict[str, float]:
    total = records[["actual", "abs_err", "abs_err_naive", "in80", "in95", "points"]].sum()
    wape, naive = total["abs_err"] / total["actual"], total["abs_err_naive"] / total["actual"]
    return {
        "wape": wape,
        "wape_naive": naive,
        "improvement": 1 - wape / naive,
        "coverage80": total["in80"] / total["points"],
        "coverage95": total["in95"] / total["points"],
        "points": int(total["points"]),
    }


def print_holdout_table(seed: int, records: pd.DataFrame) -> dict[str, float]:
    print(f"  seed {seed}: agent WAPE / seasonal-naive WAPE (model chosen)")
    categories = list(dict.fromkeys(records["category"]))
    print("    " + f"{'season':<22}" + "".join(f"{c:<32}" for c in categories) + "80 % cover")
    for season, group in records.groupby("season", sort=True):
        cells = []
        for c in categories:
            r = group[group["category"] == c].iloc[0]
            cells.append(
                f"{r.abs_err / r.actual:5.1%} / {r.abs_err_naive / r.actual:5.1%} ({r.model})"
            )
        cover = group["in80"].sum() / group["points"].sum()
        print("    " + f"{season:<22}" + "".join(f"{c:<32}" for c in cells) + f"{cover:.0%}")
    s = summarise(records)
    verdict = "MET" if s["improvement"] >= 0.15 and 0.75 <= s["coverage80"] <= 0.85 else "NOT MET"
    print(
        f"    all: WAPE {s['wape']:.1%} vs seasonal naive {s['wape_naive']:.1%} "
        f"({s['improvement']:.0%} lower); 80 % interval holds {s['coverage80']:.0%}, 95 % holds "
        f"{s['coverage95']:.0%} of {s['points']} held-out weeks -> issue 4 targets {verdict}"
    )
    return s


def run(large: bool = False) -> dict[str, Any]:
    """Print the runtimes and the held-out accuracy; return {"runtimes": {label: {...}},
    "accuracy": {...over all seeds}} for `python -m bench`. `large` adds 2,000 stores."""
    print("Runtimes (median of 3, after a warm-up call that pays numba compilation once):")
    figures: dict[str, Any] = {
        "runtimes": {"50 stores": runtimes(load_data(stores=50), "50 stores")}
    }
    if large:
        figures["runtimes"]["2000 stores"] = runtimes(
            load_data(stores=2000, categories=1), "2000 stores", repeats=1
        )
    print(
        f"Accuracy on the held-out last season ({SEASON_WEEKS}-week seasons, each forecast from "
        "all weeks before it; targets: WAPE >= 15 % below seasonal naive, 80 % interval 75-85 %):"
    )
    overall = []
    for seed in SEEDS:
        records = holdout_records(load_data(stores=50, seed=seed))
        print_holdout_table(seed, records)
        overall.append(records)
    s = summarise(pd.concat(overall))
    print(
        f"  all seeds: WAPE {s['wape']:.1%} vs {s['wape_naive']:.1%} "
        f"({s['improvement']:.0%} lower), "
        f"80 % coverage {s['coverage80']:.0%}, 95 % coverage {s['coverage95']:.0%}"
    )
    figures["accuracy"] = s | {"seeds": len(SEEDS)}
    return figures


if __name__ == "__main__":
    run(large=True)
