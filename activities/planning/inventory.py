"""Inventory agent: how much to make, what each store gets at launch, and when the DC holdback
goes out. Every integer split uses largest-remainder apportionment, so units are conserved
exactly: sum(store allocations) + dc_holdback_total == manufacturing_qty, always."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from activities.planning.clustering import cluster_stores
from activities.planning.contexts import InventoryContext
from activities.planning.replenishment import (
    ReplenishmentPolicy,
    StoreFlow,
    replenishment_weeks,
    simulate_stores,
    split_by_share,
    stranded_units,
)
from activities.planning.units import forward_cover, forward_cover_scaled, largest_remainder
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
SHARE_STEPS = 1000
"""Cluster shares are whole tenths of a percent, split by largest remainder, so the shares
shown (to one decimal) add up to exactly 100.0 %."""
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


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


@dataclass
class UnitPlan:
    allocation: np.ndarray  # launch units per store, in the order of the shares given
    holdback: int
    launch: int
    warnings: list[str]


def plan_units(
    manufacturing: int,
    holdback_pct: float,
    strategy: ReplenishmentStrategy,
    shares: np.ndarray,
    minimum: int = MIN_PRESENTATION_QTY,
) -> UnitPlan:
    """The integer launch plan: holdback and per-store launch units, conserving units:
    allocation.sum() + holdback == manufacturing. What leaves the DC after launch is the
    replenishment policy's decision (activities.planning.replenishment), week by week."""
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
    return UnitPlan(allocation, holdback, launch, warnings)


def simulate_plan(
    manufacturing: int,
    launch: np.ndarray,
    store_demand: np.ndarray,
    strategy: ReplenishmentStrategy,
    policy: ReplenishmentPolicy,
) -> StoreFlow:
    """The season store by store at the forecast: the DC receives the whole buy in week 1 and
    ships the launch, then the policy replenishes on its cadence from what the DC holds."""
    weeks = store_demand.shape[1]
    vendor = np.zeros(weeks, dtype=np.int64)
    if weeks:
        vendor[0] = manufacturing
    return simulate_stores(
        np.zeros(len(launch), dtype=np.int64),
        0,
        store_demand,
        replenishment_cadence(strategy),
        policy,
        first_delivery=launch,
        dc_receipts=vendor,
    )


def holdback_shortage_warning(
    flow: StoreFlow, holdback_pct: float, manufacturing: int, cadence: int | None
) -> str | None:
    """A sentence when the plan has stores losing sales in weeks the DC still holds stock it
    has not committed: the holdback keeps back units the stores need before a delivery can
    reach them. It names the weeks, the units, and the largest holdback that would not."""
    stranded = stranded_units(flow)
    if not stranded or cadence is None:
        return None
    lost = flow.lost.sum(axis=0)
    short_weeks = [i + 1 for i in range(flow.weeks) if lost[i] and flow.dc_uncommitted[i] > 0]
    first = min(cadence, flow.weeks)
    needed = int(np.maximum(flow.demand[:, :first].sum(axis=1), 0).sum())
    most = max(0.0, 1 - needed / manufacturing) if manufacturing else 0.0
    return (
        f"The {holdback_pct:.0%} DC holdback leaves stores short: they lose "
        f"{int(lost[[w - 1 for w in short_weeks]].sum()):,} units of forecast demand in week"
        f"{'s' if len(short_weeks) > 1 else ''} {_week_list(short_weeks)} while the DC holds "
        f"stock no delivery can bring in time. A launch covering the stores until the first "
        f"delivery ({needed:,} units, a holdback of at most {math.floor(most * 100):.0f} %) "
        "would not."
    )


def _week_list(weeks: list[int]) -> str:
    if len(weeks) > 4:
        return f"{weeks[0]}–{weeks[-1]}"
    return ", ".join(str(w) for w in weeks)


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
    policy: ReplenishmentPolicy | None = None,
    checkpoint: Checkpoint | None = None,
) -> InventoryResult:
    """The buy, the launch by store and cluster, and the DC's deliveries under the
    replenishment `policy` (default settings when None), simulated store by store at the
    forecast so the plan shows what the policy ships, what stays at the DC and what is lost."""
    policy = policy or ReplenishmentPolicy()
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
        MIN_PRESENTATION_QTY,
    )
    warnings += plan.warnings
    alloc, holdback, launch = plan.allocation, plan.holdback, plan.launch
    report(progress, 75, f"Allocated {launch:,} launch units to {len(stores)} stores")
    rate = float(weekly.mean()) if len(weekly) else 0.0
    launch_cover = forward_cover(launch, weekly, rate)
    store_cover = forward_cover_scaled(alloc, stores["sales_share"].to_numpy(), weekly, rate)
    cover_warning = launch_cover_warning(
        launch, manufacturing, launch_cover, weekly, p.replenishment_strategy
    )
    if cover_warning:
        warnings.append(cover_warning)
    names, regions = _store_labels(stores, "store_name"), _store_labels(stores, "region")
    store_ids = stores["store_id"].tolist()

    # Stores in cluster order, as the result lists them: the Pricing agent re-runs the same
    # policy from the result and gets the same store-by-store flow.
    order = np.concatenate(
        [np.flatnonzero(clustering.labels == k) for k in range(len(clustering.names))]
        or [np.zeros(0, dtype=np.int64)]
    )
    cluster_units = [int(alloc[clustering.labels == k].sum()) for k in range(len(clustering.names))]
    shown_shares = largest_remainder(SHARE_STEPS, np.array(cluster_units, dtype=float))
    clusters = [
        ClusterAllocation(
            cluster_id=k,
            cluster_label=name,
            allocation_percentage=float(shown_shares[k]) / SHARE_STEPS if launch else 0.0,
            total_units=cluster_units[k],
            stores=[
                StoreAllocation(
                    store_id=store_ids[i],
                    initial_allocation=int(alloc[i]),
                    store_name=names[i],
                    region=regions[i],
                    launch_weeks_of_supply=store_cover[i],
                )
                for i in np.flatnonzero(clustering.labels == k)
            ],
        )
        for k, name in enumerate(clustering.names)
    ]

    cadence = replenishment_cadence(p.replenishment_strategy)
    flow = simulate_plan(
        manufacturing,
        alloc[order],
        split_by_share(weekly.astype(np.int64), stores["sales_share"].to_numpy()[order]),
        p.replenishment_strategy,
        policy,
    )
    shortage = holdback_shortage_warning(flow, p.dc_holdback_percentage, manufacturing, cadence)
    if shortage:
        warnings.append(shortage)
    week_starts = p.week_starts()
    schedule = [
        ReplenishmentShipment(
            week_number=w + 1, week_start=week_starts[w], units=int(flow.dc_shipments[w])
        )
        for w in replenishment_weeks(flow.weeks, cadence, cadence or 0)
    ]
    delivered = sum(s.units for s in schedule)
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
        + f"); {holdback:,} are held at the DC. "
        + policy.describe(cadence)
        + (
            f" At the forecast the DC delivers {delivered:,} units to the stores over "
            f"{sum(1 for s in schedule if s.units)} of {len(schedule)} replenishment weeks and "
            f"ends the season holding {int(flow.dc_closing[-1]):,}."
            if schedule
            else ""
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
        replenishment_policy=policy.describe(cadence),
        planned_lost_sales=int(flow.lost.sum()),
        stranded_units=stranded_units(flow),
    )
    report(progress, 100, "Inventory plan complete")
    return result
