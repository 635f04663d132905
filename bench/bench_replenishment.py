"""Replenishment: twenty seasons as a planner tries them, and the policy at 50,000 stores.

    python -m bench replenishment                 # the seasons' figures with this code
    python -m bench replenishment --code /work/main   # the same seasons with another checkout
    python -m bench replenishment --scale         # the simulation at 50,000 stores x 26 weeks
    python -m bench replenishment --json          # every figure as JSON as well

The seasons (`seasons`): every category of the sample data set (10), each planned twice, so
that together they cover past, current and future starts, unit targets far below (0.4 x),
near (1 x) and far above (2.5 x) the forecast, both cadences and holdbacks from 0 to 60 %.
Each runs the three agents' own functions over a seeded sample database through the
ContextAssembler, as the app does. The figures are read from the season plan's weekly flow,
which every version of the plan carries: lost sales (demand the stores did not meet), units
stranded at the DC while the stores were short (each week the smaller of the DC's closing
stock and that week's lost sales), ending stock and gross margin. `--code` runs the same file
with another checkout first on the import path: the before and after of a change, on the
same seasons.

`--scale`: the Inventory agent on 50,000 stores x 26 weeks (its store-by-store simulation
included), then the Pricing agent's season plan from it, in this process: CPU and wall seconds
per agent and the peak memory of the whole plan. Targets: Inventory agent <= 2 s (CPU seconds:
on a shared machine wall time grows with other jobs' load), peak memory <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.schemas import ReplenishmentStrategy

HISTORY_END = date(2026, 11, 30)
SAMPLE = {"stores": 30, "weeks": 156, "categories": 10, "seed": 7}
TARGETS = {"inventory_s": 2.0, "peak_mib": 1536.0}
SCALE = {"stores": 50_000, "weeks": 26}
STARTS = {
    "past": HISTORY_END - timedelta(weeks=40) + timedelta(days=2),
    "current": HISTORY_END - timedelta(weeks=6) + timedelta(days=2),
    "future": HISTORY_END + timedelta(days=9),
}


@dataclass(frozen=True)
class Season:
    """One season to plan: a category, when it starts, the unit target as a multiple of the
    forecast, the cadence and the DC holdback."""

    category_id: str
    start: str  # "past" | "current" | "future"
    weeks: int
    target_ratio: float
    strategy: ReplenishmentStrategy
    holdback: float

    @property
    def label(self) -> str:
        return (
            f"{self.category_id} {self.start} {self.weeks}w target x{self.target_ratio:g} "
            f"{self.strategy} holdback {self.holdback:.0%}"
        )


def seasons(category_ids: list[str]) -> list[Season]:
    """Two seasons per category, cycling through the start kinds, target ratios, cadences and
    holdbacks so that every combination family appears."""
    starts, ratios = ("past", "current", "future"), (0.4, 1.0, 2.5)
    strategies: tuple[ReplenishmentStrategy, ...] = ("weekly", "bi-weekly")
    holdbacks = (0.0, 0.15, 0.3, 0.45, 0.6)
    out = []
    for i in range(2 * len(category_ids)):
        out.append(
            Season(
                category_id=category_ids[i % len(category_ids)],
                start=starts[i % 3],
                weeks=(12, 16)[i % 2],
                target_ratio=ratios[(i // 3) % 3],
                strategy=strategies[(i // 2) % 2],
                holdback=holdbacks[i % 5],
            )
        )
    return out


def sample_database(directory: Path) -> str:
    """A SQLite database of the seeded sample (every category), created once per directory."""
    from localdev.sample_data import generate_sample, load_sample
    from shared.data.db import get_engine
    from shared.data.schema import create_schema

    url = f"sqlite:///{directory / 'replenishment.db'}"
    if not (directory / "replenishment.db").exists():
        engine = get_engine(url)
        create_schema(engine)
        load_sample(engine, generate_sample(**SAMPLE, end_date=HISTORY_END))
    return url


def plan_season(
    url: str, season: Season, demands: dict[tuple[str, str, int, str], Any] | None = None
) -> tuple[Any, Any, Any]:
    """(demand, inventory, pricing) results of one season, through the app's context assembly
    and the agents' own functions, each with its defaults. `demands` keeps the Demand agent's
    forecasts by (category, start, weeks, cadence) for seasons that share them."""
    from activities.planning.demand import run_demand_agent
    from activities.planning.inventory import UnitEconomics, run_inventory_agent
    from activities.planning.pricing import PricingInputs, run_pricing_agent
    from shared.data.context import get_assembler
    from shared.schemas import SeasonParameters

    assembler = get_assembler(url)
    base: dict[str, Any] = {
        "forecast_horizon_weeks": season.weeks,
        "season_start_date": STARTS[season.start],
        "replenishment_strategy": season.strategy,
        "dc_holdback_percentage": season.holdback,
    }
    params = SeasonParameters(**base)
    key = (season.category_id, season.start, season.weeks, season.strategy)
    demand = (demands or {}).get(key) or run_demand_agent(
        assembler.assemble_demand_context(season.category_id, params)
    )
    if demands is not None:
        demands[key] = demand
    target = max(1, round(season.target_ratio * demand.total_demand))
    params = SeasonParameters(**base, unit_target=target)
    category = assembler.category_info(season.category_id)
    inventory = run_inventory_agent(
        assembler.assemble_inventory_context(season.category_id, params, demand),
        None,
        UnitEconomics(category.full_price, category.unit_cost, category.currency),
    )
    pricing = run_pricing_agent(
        assembler.assemble_pricing_context(season.category_id, params, demand, inventory),
        PricingInputs(
            full_price=category.full_price,
            unit_cost=category.unit_cost,
            salvage_fraction=category.salvage_fraction,
            elasticity=category.price_elasticity,
            currency=category.currency,
        ),
    )
    return demand, inventory, pricing


def season_figures(pricing: Any) -> dict[str, Any]:
    """Lost sales, units stranded at the DC while stores were short, ending stock and gross
    margin, from the season plan's weekly flow (the same reading for every code version)."""
    plan = pricing.season_plan
    lost = [max(w.demand_units - w.stores.sales, 0) for w in plan.weeks]
    stranded = sum(min(w.dc.closing, lw) for w, lw in zip(plan.weeks, lost, strict=True))
    return {
        "lost_sales": sum(lost),
        "stranded_at_dc": stranded,
        "ending_stock": plan.money.leftover_units,
        "gross_margin": plan.money.gross_margin,
        "currency": plan.money.currency,
    }


def run_seasons(directory: Path) -> list[dict[str, Any]]:
    from localdev.sample_data import CATEGORY_SPECS

    categories = [spec.category_id for spec in CATEGORY_SPECS[: SAMPLE["categories"]]]
    url = sample_database(directory)
    demands: dict[tuple[str, str, int, str], Any] = {}
    rows = []
    for season in seasons(categories):
        _, _, pricing = plan_season(url, season, demands)
        rows.append({"season": season.label, **asdict(season), **season_figures(pricing)})
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("lost_sales", "stranded_at_dc", "ending_stock", "gross_margin")
    return {k: round(sum(r[k] for r in rows), 2) for k in keys}


def scale() -> dict[str, float]:
    """The Inventory agent and the season plan at 50,000 stores x 26 weeks, in this process."""
    import numpy as np
    import pandas as pd

    from activities.planning.contexts import InventoryContext, PricingContext
    from activities.planning.inventory import run_inventory_agent
    from activities.planning.pricing import PricingInputs, run_pricing_agent
    from activities.planning.units import largest_remainder
    from shared.results import BacktestMetrics, DemandResult, StoreForecast, WeekForecast
    from shared.schemas import SeasonParameters

    stores, weeks = SCALE["stores"], SCALE["weeks"]
    rng = np.random.default_rng(1)
    params = SeasonParameters(
        forecast_horizon_weeks=weeks,
        season_start_date=date(2027, 2, 3),
        replenishment_strategy="weekly",
        dc_holdback_percentage=0.4,
    )
    weekly = (rng.uniform(0.6, 1.4, weeks) * stores * 6).astype(np.int64)
    total = int(weekly.sum())
    shares = rng.gamma(2.0, 1.0, stores)
    shares /= shares.sum()
    store_units = largest_remainder(total, shares)
    ids = [f"S{i:05d}" for i in range(stores)]
    demand = DemandResult(
        category_id="scale",
        season_start_date=params.season_start_date,
        horizon_weeks=weeks,
        forecast_by_week=[
            WeekForecast(
                week_start=s,
                units=int(u),
                lower=u * 0.8,
                upper=u * 1.2,
                lower_95=u * 0.7,
                upper_95=u * 1.3,
            )
            for s, u in zip(params.week_starts(), weekly, strict=True)
        ],
        store_forecast=[
            StoreForecast(store_id=i, share=float(s), units=int(u))
            for i, s, u in zip(ids, shares, store_units, strict=True)
        ],
        total_demand=total,
        safety_stock_units=total // 10,
        safety_stock_pct=0.1,
        confidence=0.8,
        model_used="scale",
        backtest=BacktestMetrics(),
        explanation="a synthetic forecast at retail scale",
    )
    frame = pd.DataFrame(
        {
            "store_id": ids,
            "store_size_sqft": rng.uniform(5_000, 40_000, stores),
            "median_income": rng.uniform(30_000, 150_000, stores),
            "location_tier": rng.choice(["A", "B", "C"], stores),
            "store_format": rng.choice(["mall", "street", "outlet"], stores),
            "region": rng.choice(["North", "South", "East", "West"], stores),
        }
    )
    started, cpu = time.perf_counter(), time.process_time()
    inventory = run_inventory_agent(
        InventoryContext(category_id="scale", parameters=params, stores=frame, demand=demand)
    )
    inventory_s, inventory_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    pricing = run_pricing_agent(
        PricingContext(category_id="scale", parameters=params, demand=demand, inventory=inventory),
        PricingInputs(),
    )
    pricing_s, pricing_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plan = pricing.season_plan
    assert plan is not None  # the Pricing agent always builds one
    return {
        "stores": stores,
        "weeks": weeks,
        "inventory_s": round(inventory_s, 2),
        "inventory_cpu_s": round(inventory_cpu, 2),
        "pricing_s": round(pricing_s, 2),
        "pricing_cpu_s": round(pricing_cpu, 2),
        "peak_mib": round(peak, 1),
        "lost_sales": plan.lost_sales,
        "stranded_at_dc": plan.stranded_units,
    }


def _print_seasons(rows: list[dict[str, Any]], code: str) -> None:
    print(f"Seasons planned with {code}:")
    print(f"{'season':64} {'lost':>9} {'stranded':>9} {'ending':>9} {'margin':>14}")
    for r in rows:
        print(
            f"{r['season']:64} {r['lost_sales']:>9,} {r['stranded_at_dc']:>9,} "
            f"{r['ending_stock']:>9,} {r['gross_margin']:>14,.0f}"
        )
    t = totals(rows)
    print(
        f"{'total of ' + str(len(rows)) + ' seasons':64} {t['lost_sales']:>9,.0f} "
        f"{t['stranded_at_dc']:>9,.0f} {t['ending_stock']:>9,.0f} {t['gross_margin']:>14,.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench replenishment", description=__doc__)
    parser.add_argument("--code", help="another checkout to plan the seasons with (before)")
    parser.add_argument("--scale", action="store_true", help="the 50,000-store simulation")
    parser.add_argument("--data-dir", help="where the sample database is kept")
    parser.add_argument("--json", action="store_true", help="also print every figure as JSON")
    args = parser.parse_args(argv)
    if args.scale:
        figures = scale()
        ok = figures["inventory_cpu_s"] <= TARGETS["inventory_s"] and (
            figures["peak_mib"] <= TARGETS["peak_mib"]
        )
        print(
            f"{figures['stores']:,} stores x {figures['weeks']} weeks: Inventory agent "
            f"{figures['inventory_cpu_s']:.2f} s CPU ({figures['inventory_s']:.2f} s wall; "
            f"target <= {TARGETS['inventory_s']:g} s), Pricing agent "
            f"{figures['pricing_cpu_s']:.2f} s CPU ({figures['pricing_s']:.2f} s wall), peak "
            f"memory {figures['peak_mib']:,.0f} MiB (target <= {TARGETS['peak_mib']:,.0f}): "
            f"{'ok' if ok else 'MISSED'}"
        )
        if args.json:
            print(json.dumps(figures))
        return 0
    directory = Path(args.data_dir or tempfile.mkdtemp(prefix="bench-replenishment-"))
    if args.code:
        env = {**os.environ, "PYTHONPATH": os.path.abspath(args.code)}
        script = Path(__file__).resolve()
        out = subprocess.run(
            [sys.executable, str(script), "--data-dir", str(directory), "--json"],
            env=env,
            cwd=args.code,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = json.loads(out.strip().splitlines()[-1])["seasons"]
        code = args.code
    else:
        rows = run_seasons(directory)
        code = "this checkout"
    _print_seasons(rows, code)
    if args.json:
        print(json.dumps({"seasons": rows, "totals": totals(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
