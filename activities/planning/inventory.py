"""Inventory agent: how much to make, what each store gets at launch, and when the DC holdback
goes out. Every integer split uses largest-remainder apportionment, so units are conserved
exactly: sum(store allocations) + dc_holdback_total == manufacturing_qty, always."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from activities.planning.clustering import cluster_stores
from activities.planning.contexts import InventoryContext
from activities.planning.units import forward_cover, largest_remainder
from shared.deadline import Checkpoint
from shared.progress import ProgressReporter, report
from shared.results import (
    ClusterAllocation,
    DemandResult,
    InventoryResult,
    ReplenishmentShipment,
    StoreAllocation,
    TargetCheck,
)
from shared.schemas import ReplenishmentStrategy, replenishment_cadence

MIN_PRESENTATION_QTY = 2
LAUNCH_COVER_WEEKS = (4, 6)
"""The launch cover a planner usually keeps when the DC replenishes: enough for the first weeks,
the rest held back to follow actual sales."""


@dataclass(frozen=True)
class UnitEconomics:
    """What a unit earns and costs, to state a unit-target warning in money as well as units."""

    full_price: float
    unit_cost: float
    currency: str = "USD"

    @property
    def unit_margin(self) -> float:
        return self.full_price - self.unit_cost

    def amount(self, value: float) -> str:
        return f"{value:,.0f} {self.currency}"


def allocate_with_minimum(total: int, shares: np.ndarray, minimum: int) -> tuple[np.ndarray, bool]:
    """Proportional integer allocation where every store gets at least `minimum` when `total`
    allows: water-filling finds the level L with sum(max(minimum, L * share)) == total, so a store
    above the minimum is exactly proportional. Returns (allocation, minimum_met)."""
    n = len(shares)
    if n == 0:
        return np.zeros(0, dtype=np.int64), True
    if minimum <= 0:
        return largest_remainder(total, shares), True
    if total < minimum * n:
        return largest_remainder(total, shares), False
    s = np.clip(np.nan_to_num(np.asarray(shares, dtype=float)), 0.0, None)
    s = s / s.sum() if s.sum() > 0 else np.full(n, 1.0 / n)
    # Stores sorted by share descending; the top j stores are proportional, the rest at minimum.
    order = np.argsort(-s, kind="stable")
    sorted_s = s[order]
    cum = np.cumsum(sorted_s)
    level = None
    for j in range(1, n + 1):
        remaining = total - minimum * (n - j)
        if cum[j - 1] <= 0:
            continue
        lam = remaining / cum[j - 1]
        top_ok = lam * sorted_s[j - 1] >= minimum
        rest_ok = j == n or lam * sorted_s[j] <= minimum
        if top_ok and rest_ok:
            level = lam
            break
    target = np.full(n, float(minimum)) if level is None else np.maximum(minimum, level * s)
    floor = np.maximum(np.floor(target).astype(np.int64), minimum)
    extra = int(total - floor.sum())
    if extra > 0:
        floor += largest_remainder(extra, target - np.floor(target) + 1e-12 * s)
    elif extra < 0:  # only from float noise in `target`; take units back from the largest
        take = largest_remainder(-extra, np.maximum(floor - minimum, 0))
        floor -= take
    return floor, True


def replenishment_weeks(horizon: int, strategy: ReplenishmentStrategy) -> list[int]:
    """1-based season weeks with a DC shipment: every cadence after the launch week."""
    cadence = replenishment_cadence(strategy)
    if cadence is None:
        return []
    return list(range(1 + cadence, horizon + 1, cadence))


def plan_replenishment(
    holdback: int, weekly_units: np.ndarray, strategy: ReplenishmentStrategy
) -> list[tuple[int, int]]:
    """(week_number, units): the holdback released in proportion to the forecast demand each
    shipment covers (from its week to the next shipment)."""
    weeks = replenishment_weeks(len(weekly_units), strategy)
    if not weeks or holdback <= 0:
        return [(w, 0) for w in weeks]
    bounds = [*weeks, len(weekly_units) + 1]
    cover = np.array([weekly_units[a - 1 : b - 1].sum() for a, b in pairwise(bounds)])
    return list(zip(weeks, largest_remainder(holdback, cover).tolist(), strict=True))


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


@dataclass
class UnitPlan:
    allocation: np.ndarray  # launch units per store, in the order of the shares given
    holdback: int
    launch: int
    shipments: list[tuple[int, int]]  # (season week number, units) from the DC
    warnings: list[str]


def plan_units(
    manufacturing: int,
    holdback_pct: float,
    strategy: ReplenishmentStrategy,
    shares: np.ndarray,
    weekly_forecast: np.ndarray,
    minimum: int = MIN_PRESENTATION_QTY,
) -> UnitPlan:
    """The integer plan: holdback, per-store launch units and DC shipments. Conserves units:
    allocation.sum() + holdback == manufacturing and sum(shipments) == holdback."""
    warnings: list[str] = []
    if strategy == "none":
        holdback = 0
        if holdback_pct > 0:
            warnings.append(
                f"A {holdback_pct:.0%} DC holdback was requested but replenishment is 'none': "
                "everything ships at launch."
            )
    else:
        holdback = min(manufacturing, _round_half_up(manufacturing * holdback_pct))
    if len(shares) == 0 and manufacturing:
        holdback = manufacturing
        warnings.append("No stores to allocate to: all units stay at the DC.")
    launch = manufacturing - holdback
    allocation, met = allocate_with_minimum(launch, shares, minimum)
    if not met:
        warnings.append(
            f"{launch:,} launch units cannot give all {len(shares)} stores the minimum "
            f"presentation quantity of {minimum}; units were allocated by share."
        )
    shipments = plan_replenishment(holdback, weekly_forecast, strategy)
    if holdback and not shipments:
        warnings.append("The season is too short for a DC shipment after launch.")
    return UnitPlan(allocation, holdback, launch, shipments, warnings)


def season_interval(demand: DemandResult, weeks: int) -> tuple[int, int]:
    """The season total's 80 % interval: the Demand agent's own (calibrated on season totals)
    when it gave one, else the sum of the weekly bounds (wider: it assumes every week errs the
    same way)."""
    if demand.total_lower_80 is not None and demand.total_upper_80 is not None:
        lo, hi = demand.total_lower_80, demand.total_upper_80
    else:
        season = demand.forecast_by_week[:weeks]
        lo, hi = sum(w.lower for w in season), sum(w.upper for w in season)
    return math.floor(lo), math.ceil(hi)


def check_target(
    target: int | None,
    demand: DemandResult,
    weeks: int,
    economics: UnitEconomics | None = None,
) -> TargetCheck:
    """Where the planner's unit target falls against forecast demand: below the 80 % lower
    bound the season most likely stocks out, above the upper bound units are most likely left
    for markdown. The figures say how many units at the forecast and at the bound, and with the
    category's economics what that costs: the margin of the lost units, the cost of leftovers."""
    forecast = demand.total_demand
    lo, hi = season_interval(demand, weeks)
    band = f"80 % interval {lo:,}–{hi:,}, forecast {forecast:,}"
    if target is None:
        verdict = "no_target"
        message = (
            f"No unit target: manufacturing covers forecast demand of {forecast:,} units "
            f"plus safety stock ({band})."
        )
    elif target < lo:
        verdict = "below_80"
        message = (
            f"The unit target of {target:,} is below the 80 % lower bound of demand "
            f"({band}): expect stock-outs, about {forecast - target:,} units of demand "
            f"lost at the forecast and {lo - target:,} even at the lower bound"
            + (
                f", {economics.amount((forecast - target) * economics.unit_margin)} "
                "of gross margin lost at the forecast."
                if economics
                else "."
            )
        )
    elif target > hi:
        verdict = "above_80"
        message = (
            f"The unit target of {target:,} is above the 80 % upper bound of demand "
            f"({band}): expect about {target - forecast:,} units left over at the "
            f"forecast and {target - hi:,} even at the upper bound, exposed to markdowns"
            + (
                f"; at cost the leftovers at the forecast are "
                f"{economics.amount((target - forecast) * economics.unit_cost)}."
                if economics
                else "."
            )
        )
    else:
        verdict = "within_80"
        message = f"The unit target of {target:,} lies within the 80 % interval of demand ({band})."
    return TargetCheck(
        verdict=verdict,
        target_units=target,
        forecast_units=forecast,
        lower_80=lo,
        upper_80=hi,
        message=message,
    )


def launch_cover_warning(
    launch: int,
    manufacturing: int,
    cover: float | None,
    weekly: np.ndarray,
    strategy: ReplenishmentStrategy,
) -> str | None:
    """A sentence when launch stock covers the whole season (more weeks than it has, or more
    than its whole forecast), with the holdback that would keep a usual launch cover instead."""
    weeks, season = len(weekly), float(weekly.sum())
    if not launch or cover is None or (cover < weeks and launch <= season):
        return None
    low, high = LAUNCH_COVER_WEEKS
    keep = math.ceil(float(weekly[:high].sum()))
    cover_text = f"about {cover:.0f} weeks of supply" if cover else "no weeks of supply"
    parts = [
        f"Launch stock of {launch:,} units is "
        + (
            f"more than the whole {weeks}-week forecast ({round(season):,} units)"
            if launch > season
            else f"enough for the whole {weeks}-week season"
        )
        + f": {cover_text} at launch."
    ]
    if keep < manufacturing:
        share = 1 - keep / manufacturing
        parts.append(
            f"A DC holdback of {share:.0%} ({manufacturing - keep:,} units) would keep launch "
            f"cover at {high} weeks ({keep:,} units; {low}-{high} weeks is usual), the rest "
            "following sales"
            + (" with weekly or bi-weekly replenishment." if strategy == "none" else ".")
        )
    return " ".join(parts)


def _store_labels(stores: pd.DataFrame, column: str) -> list[str | None]:
    if column not in stores.columns:
        return [None] * len(stores)
    return [None if pd.isna(v) else str(v) for v in stores[column]]


def run_inventory_agent(
    ctx: InventoryContext,
    progress: ProgressReporter | None = None,
    economics: UnitEconomics | None = None,
    checkpoint: Checkpoint | None = None,
) -> InventoryResult:
    p, demand = ctx.parameters, ctx.demand
    report(progress, 5, "Reading demand forecast and store attributes...")
    warnings: list[str] = []
    target_check = check_target(p.unit_target, demand, p.forecast_horizon_weeks, economics)
    if target_check.verdict in ("below_80", "above_80"):
        warnings.append(target_check.message)
    if p.unit_target is not None:
        manufacturing = p.unit_target
        basis = f"the planner's unit target of {manufacturing:,}"
    else:
        manufacturing = demand.total_demand + demand.safety_stock_units
        basis = f"forecast {demand.total_demand:,} + safety stock {demand.safety_stock_units:,}"
    share_map = {s.store_id: s.share for s in demand.store_forecast}
    if ctx.stores.empty:
        stores = pd.DataFrame({"store_id": list(share_map)})
    else:
        stores = ctx.stores.assign(store_id=ctx.stores["store_id"].astype(str)).reset_index(
            drop=True
        )
    stores["sales_share"] = stores["store_id"].map(share_map).fillna(0.0)
    missing = int((~stores["store_id"].isin(list(share_map))).sum())
    if missing:
        warnings.append(
            f"{missing} stores have no demand forecast share; they get the minimum only."
        )

    report(progress, 20, f"Clustering {len(stores)} stores...")
    clustering = cluster_stores(stores, checkpoint)
    report(progress, 55, f"Clusters found: {len(clustering.names)}")

    weekly = np.array(
        [w.units for w in demand.forecast_by_week[: p.forecast_horizon_weeks]], dtype=float
    )
    plan = plan_units(
        manufacturing,
        p.dc_holdback_percentage,
        p.replenishment_strategy,
        stores["sales_share"].to_numpy(),
        weekly,
        MIN_PRESENTATION_QTY,
    )
    warnings += plan.warnings
    alloc, holdback, launch = plan.allocation, plan.holdback, plan.launch
    report(progress, 75, f"Allocated {launch:,} launch units to {len(stores)} stores")
    rate = float(weekly.mean()) if len(weekly) else 0.0
    launch_cover = forward_cover(launch, weekly, rate)
    # Plain floats per store: forward_cover walks its weeks one by one, and numpy scalars made
    # that walk the slowest part of the plan at 50,000 stores (the same products either way).
    weeks = [float(w) for w in weekly]
    store_cover = [
        forward_cover(int(a), [w * share for w in weeks], rate * share)
        for a, share in zip(alloc, stores["sales_share"].tolist(), strict=True)
    ]
    cover_warning = launch_cover_warning(
        launch, manufacturing, launch_cover, weekly, p.replenishment_strategy
    )
    if cover_warning:
        warnings.append(cover_warning)
    names, regions = _store_labels(stores, "store_name"), _store_labels(stores, "region")

    clusters = []
    for k, name in enumerate(clustering.names):
        mask = clustering.labels == k
        units = int(alloc[mask].sum())
        clusters.append(
            ClusterAllocation(
                cluster_id=k,
                cluster_label=name,
                allocation_percentage=round(units / launch, 6) if launch else 0.0,
                total_units=units,
                stores=[
                    StoreAllocation(
                        store_id=stores["store_id"][i],
                        initial_allocation=int(alloc[i]),
                        store_name=names[i],
                        region=regions[i],
                        launch_weeks_of_supply=store_cover[i],
                    )
                    for i in np.flatnonzero(mask)
                ],
            )
        )

    week_starts = p.week_starts()
    schedule = [
        ReplenishmentShipment(week_number=w, week_start=week_starts[w - 1], units=u)
        for w, u in plan.shipments
    ]
    report(progress, 90, f"Replenishment plan: {len(schedule)} shipments")

    explanation = (
        f"Manufacture {manufacturing:,} units ({basis}). {launch:,} ship to {len(stores)} stores "
        f"at launch in {len(clusters)} clusters"
        + (
            f" (silhouette {clustering.silhouette:.2f})"
            if clustering.silhouette is not None
            else ""
        )
        + f", split by each store's share of recent sales with at least {MIN_PRESENTATION_QTY} "
        f"per store ("
        + (
            f"{launch_cover:.1f} weeks of supply at launch"
            if launch_cover is not None
            else "no demand to cover"
        )
        + f"); {holdback:,} are held at the DC"
        + (
            f" and released {p.replenishment_strategy} over {len(schedule)} shipments following "
            "forecast demand."
            if schedule
            else "."
        )
        + (f" {target_check.message}" if target_check.verdict != "no_target" else "")
    )
    result = InventoryResult(
        manufacturing_qty=manufacturing,
        initial_allocation_total=int(alloc.sum()),
        dc_holdback_total=holdback,
        clusters=clusters,
        replenishment_schedule=schedule,
        silhouette_score=clustering.silhouette,
        warnings=warnings,
        explanation=explanation,
        target_check=target_check,
        launch_weeks_of_supply=launch_cover,
    )
    report(progress, 100, "Inventory plan complete")
    return result
