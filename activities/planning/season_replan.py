"""Re-planning a live season from its actuals: re-forecast, replenishment, markdown.

`replan_season` is the one entry point the season activity calls; it takes the plan as
launched (the three agents' stored results) and the season's actuals, and returns the working
plan. Three steps, each a planner's weekly routine:

1. Re-forecast the remaining weeks (`reforecast_ratio`): the multiplicative update of
   Hausman & Sides (1974) and Fisher & Raman's "accurate response" — the remaining weeks of the
   original forecast scaled by actual / forecast over the weeks sold so far (clipped to
   [0.25, 4] as the Pricing agent's own update is), shrunk towards 1 as a Bayesian update with
   the forecast worth PRIOR_WEEKS weeks of sales, so one odd early week cannot swing the
   season. Only the contiguous weeks from week 1 count: a missing week is unknown, never zero.
2. Replenish store by store from the stores' actual stock (issue 30's policy,
   activities/planning/replenishment.py): each store opens the first remaining week with its
   launch + the deliveries it received in the weeks sold (the launched plan's store-by-store
   flow) − its actual sales, floored at 0, or its counted on-hand where the latest week's upload
   gives one (decided store by store); the DC opens with what it still holds (holdback −
   delivered). The re-forecast remaining weeks are split across the stores by their forecast
   share, and `simulate_stores` runs the policy over them on the plan's cadence: a store short
   of its target cover is topped up, one that holds enough gets nothing, and the DC never ships
   more than it holds (equal-cover rationing when short). Its weekly deliveries are the working
   plan's shipments for the remaining weeks; what does not ship stays at the DC. With a transit
   time, the deliveries the plan had already sent arrive at the first remaining week.
3. Re-decide the markdown: the Pricing agent runs again with the actuals (it fixes the weeks
   sold and may start a markdown at or after its checkpoint from the actual sell-through).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from activities.planning.contexts import PricingContext
from activities.planning.pricing import (
    UPDATE_LIMITS,
    PricingInputs,
    actuals_by_week,
    launch_by_store,
    run_pricing_agent,
    season_flow,
)
from activities.planning.replenishment import (
    ReplenishmentPolicy,
    StoreFlow,
    replenishment_weeks,
    simulate_stores,
    split_by_share,
)
from activities.planning.units import largest_remainder
from shared.results import (
    DemandResult,
    InventoryResult,
    PricingResult,
    ReplenishmentShipment,
)
from shared.schemas import SeasonParameters, replenishment_cadence


@dataclass(frozen=True)
class LaunchedPlan:
    """The plan as launched: the three agents' results of its workflow."""

    category_id: str
    parameters: SeasonParameters
    demand: DemandResult
    inventory: InventoryResult
    pricing: PricingResult


def contiguous_weekly_actuals(actuals: pd.DataFrame, parameters: SeasonParameters) -> np.ndarray:
    """Units sold per season week over the weeks with actuals contiguous from week 1."""
    starts = parameters.week_starts()
    present = set(pd.to_datetime(actuals["week_start_date"]).dt.date) if len(actuals) else set()
    weeks = 0
    while weeks < len(starts) and starts[weeks] in present:
        weeks += 1
    if weeks == 0:
        return np.zeros(0)
    return actuals_by_week(actuals, parameters.season_start_date, weeks)[:weeks]


PRIOR_WEEKS = 4.0
"""How many weeks of evidence the pre-season forecast counts as: after k weeks sold the ratio
moves k / (k + PRIOR_WEEKS) of the way from 1 to actual / forecast (bench/bench_inseason.py
measures the choice)."""


def reforecast_ratio(
    actual: np.ndarray, forecast: np.ndarray, prior_weeks: float = PRIOR_WEEKS
) -> float:
    """Actual / forecast over the weeks sold, shrunk towards 1 by the forecast's weight and
    clipped (step 1 of the module docstring)."""
    planned = float(forecast[: len(actual)].sum())
    if len(actual) == 0 or planned <= 0:
        return 1.0
    raw = float(np.clip(float(actual.sum()) / planned, *UPDATE_LIMITS))
    weight = len(actual) / (len(actual) + prior_weeks)
    return 1.0 + (raw - 1.0) * weight


def store_ids(inventory: InventoryResult) -> list[str]:
    """The stores in the order the Inventory agent's result lists (and simulated) them."""
    return [s.store_id for c in inventory.clusters for s in c.stores]


def planned_flow(plan: LaunchedPlan, policy: ReplenishmentPolicy) -> StoreFlow:
    """The launched plan store by store at its forecast: the flow the Inventory agent simulated,
    whose receipts are the deliveries each store got in the weeks already sold."""
    horizon = plan.parameters.forecast_horizon_weeks
    weekly = np.array([w.units for w in plan.demand.forecast_by_week[:horizon]], dtype=np.int64)
    weekly = np.pad(weekly, (0, horizon - len(weekly)))
    cadence = replenishment_cadence(plan.parameters.replenishment_strategy)
    return season_flow(plan.inventory, plan.demand, weekly, weekly, cadence, policy)


def store_stock(
    actuals: pd.DataFrame, plan: LaunchedPlan, delivered: np.ndarray, weeks_sold: int
) -> np.ndarray:
    """What each store holds after the weeks sold (step 2 of the module docstring), in the
    result's store order. `actuals`: the rows of the weeks sold; `delivered`: each store's
    receipts in those weeks. A result listing no stores is the chain as one store."""
    launch, _ = launch_by_store(plan.inventory, plan.demand)
    booked = launch + delivered
    if not weeks_sold or actuals.empty:
        return np.asarray(booked, dtype=np.int64)
    ids = store_ids(plan.inventory)
    dates = pd.to_datetime(actuals["week_start_date"]).dt.date
    latest = actuals[dates == plan.parameters.week_starts()[weeks_sold - 1]]
    if not ids:  # the chain as one store: counted only when every row of the week is
        sold = np.array([actuals["units_sold"].sum()], dtype=np.int64)
        counts = latest["on_hand"]
        counted = pd.Series([counts.sum() if len(counts) and counts.notna().all() else np.nan])
    else:
        keys = actuals["store_id"].astype(str)
        sold = actuals.groupby(keys)["units_sold"].sum().reindex(ids, fill_value=0).to_numpy()
        counts = latest.assign(store_id=latest["store_id"].astype(str)).dropna(subset=["on_hand"])
        counted = counts.groupby("store_id")["on_hand"].sum().reindex(ids)
    book = np.maximum(booked - sold.astype(np.int64), 0)
    count = counted.to_numpy(dtype=float)
    return np.where(np.isnan(count), book, np.nan_to_num(count)).astype(np.int64)


@dataclass(frozen=True)
class Replenishment:
    """The re-plan's replenishment: the shipments (past as shipped, then the policy's) and the
    store-by-store flow of the remaining weeks (None when no week remains)."""

    shipments: list[ReplenishmentShipment]
    stores: StoreFlow | None
    store_on_hand: int


def replenish(
    plan: LaunchedPlan,
    remaining: np.ndarray,
    actuals: pd.DataFrame,
    weeks_sold: int,
    policy: ReplenishmentPolicy,
) -> Replenishment:
    """The DC's shipments for the weeks after `weeks_sold`, store by store (step 2 of the
    module docstring). `remaining`: the re-forecast whole units of the remaining weeks."""
    inventory, parameters = plan.inventory, plan.parameters
    past = [s for s in inventory.replenishment_schedule if s.week_number <= weeks_sold]
    dc_left = max(0, inventory.dc_holdback_total - sum(s.units for s in past))
    planned = planned_flow(plan, policy).receipts
    delivered = planned[:, 1:weeks_sold].sum(axis=1)
    # Deliveries decided before this week but arriving in the remaining weeks (a transit time)
    # are on their way as planned: they arrive at the first remaining week.
    in_transit = planned[:, max(weeks_sold, 1) : weeks_sold + policy.transit_weeks].sum(axis=1)
    opening = store_stock(actuals, plan, delivered, weeks_sold)
    cadence = replenishment_cadence(parameters.replenishment_strategy)
    horizon = parameters.forecast_horizon_weeks
    # 1-based delivery weeks still ahead, on the plan's cadence (the launch is week 1).
    weeks = [w + 1 for w in replenishment_weeks(horizon, cadence, cadence or 0) if w >= weeks_sold]
    if not len(remaining):
        return Replenishment(past, None, int(opening.sum()))
    _, shares = launch_by_store(inventory, plan.demand)
    flow = simulate_stores(
        opening,
        dc_left,
        split_by_share(remaining.astype(np.int64), shares),
        cadence if weeks else None,
        policy,
        first_delivery=in_transit,
        first_replenishment=weeks[0] - 1 - weeks_sold if weeks else None,
    )
    starts = parameters.week_starts()
    future = [
        ReplenishmentShipment(
            week_number=w,
            week_start=starts[w - 1],
            units=int(flow.dc_shipments[w - 1 - weeks_sold]),
        )
        for w in weeks
    ]
    return Replenishment(past + future, flow, int(opening.sum()))


@dataclass(frozen=True)
class WorkingPlan:
    """A re-plan's outcome: the JSON stored as the version's plan, and what changed."""

    plan: dict[str, Any]
    ratio: float
    weeks_sold: int
    stores: StoreFlow | None = None  # the remaining weeks store by store (step 2)


def plan_document(
    plan: LaunchedPlan,
    forecast: np.ndarray,
    shipments: list[ReplenishmentShipment],
    pricing: PricingResult,
    *,
    weeks_sold: int,
    ratio: float,
    store_on_hand: int,
    expected_lost_sales: int,
    sold_units: int = 0,
) -> dict[str, Any]:
    """The stored form of a plan version: one row per season week, and the decisions."""
    original = plan.demand.forecast_by_week
    by_week = {s.week_number: s.units for s in shipments}
    markdowns = {m.week_number: m for m in pricing.markdowns}
    weeks = []
    for index, start in enumerate(plan.parameters.week_starts()):
        number = index + 1
        band = original[index] if index < len(original) else None
        scale = ratio if index >= weeks_sold else 1.0
        step = markdowns.get(number)
        weeks.append(
            {
                "week_number": number,
                "week_start": start.isoformat(),
                "forecast_units": int(forecast[index]),
                "lower": round(band.lower * scale, 1) if band else 0.0,
                "upper": round(band.upper * scale, 1) if band else 0.0,
                "shipment_units": int(by_week.get(number, 0)),
                "markdown_pct": step.markdown_pct if step else 0.0,
                "expected_units_sold": step.expected_units_sold if step else 0,
            }
        )
    first = next((m for m in pricing.markdowns if m.markdown_pct > 0), None)
    return {
        "weeks": weeks,
        "weeks_sold": weeks_sold,
        "sold_units": sold_units,
        "reforecast_ratio": round(ratio, 4),
        "launch_units": plan.inventory.initial_allocation_total,
        "dc_holdback_units": plan.inventory.dc_holdback_total,
        "store_on_hand_units": store_on_hand,
        "expected_lost_sales_units": expected_lost_sales,
        "checkpoint_week": pricing.checkpoint_week,
        "first_markdown_week": first.week_number if first else None,
        "first_markdown_pct": first.markdown_pct if first else 0.0,
        "expected_sell_through": pricing.expected_sell_through,
        "leftover_units": pricing.leftover_units,
    }


def original_plan(plan: LaunchedPlan) -> dict[str, Any]:
    """Version 1: the plan exactly as launched."""
    horizon = plan.parameters.forecast_horizon_weeks
    forecast = np.array(
        [w.units for w in plan.demand.forecast_by_week[:horizon]]
        + [0] * max(0, horizon - len(plan.demand.forecast_by_week)),
        dtype=np.int64,
    )
    return plan_document(
        plan,
        forecast,
        plan.inventory.replenishment_schedule,
        plan.pricing,
        weeks_sold=0,
        ratio=1.0,
        store_on_hand=plan.inventory.initial_allocation_total,
        expected_lost_sales=plan.inventory.planned_lost_sales,
    )


def replan_season(
    plan: LaunchedPlan,
    actuals: pd.DataFrame,
    economics: PricingInputs,
    policy: ReplenishmentPolicy | None = None,
) -> WorkingPlan:
    """The working plan for the rest of the season from the actuals so far (module docstring).

    `actuals`: week_start_date, store_id, units_sold, on_hand (NaN where not counted).
    `policy`: the DC's replenishment policy from the settings, as the agents run it."""
    policy = policy or ReplenishmentPolicy()
    parameters = plan.parameters
    horizon = parameters.forecast_horizon_weeks
    base = np.array(
        [w.units for w in plan.demand.forecast_by_week[:horizon]]
        + [0] * max(0, horizon - len(plan.demand.forecast_by_week)),
        dtype=float,
    )
    actual = contiguous_weekly_actuals(actuals, parameters)
    sold_weeks = len(actual)
    ratio = reforecast_ratio(actual, base)
    remaining_exact = base[sold_weeks:] * ratio
    remaining = largest_remainder(round(float(remaining_exact.sum())), remaining_exact)
    forecast = np.concatenate([base[:sold_weeks].astype(np.int64), remaining])
    starts = parameters.week_starts()
    in_prefix = pd.to_datetime(actuals["week_start_date"]).dt.date.isin(starts[:sold_weeks])
    sold_rows = actuals[in_prefix] if len(actuals) else actuals
    replenished = replenish(plan, remaining, sold_rows, sold_weeks, policy)
    shipments = replenished.shipments
    inventory = plan.inventory.model_copy(update={"replenishment_schedule": shipments})
    weekly = pd.DataFrame(
        {
            "week_start_date": pd.to_datetime(list(starts[:sold_weeks])),
            "units_sold": actual.astype(np.int64),
        }
    )
    pricing = run_pricing_agent(
        PricingContext(
            category_id=plan.category_id,
            parameters=parameters,
            demand=plan.demand,
            inventory=inventory,
            actual_sales=weekly,
        ),
        economics,
        policy=policy,
    )
    document = plan_document(
        plan,
        forecast,
        shipments,
        pricing,
        weeks_sold=sold_weeks,
        ratio=ratio,
        store_on_hand=replenished.store_on_hand,
        expected_lost_sales=int(replenished.stores.lost.sum()) if replenished.stores else 0,
        sold_units=int(actual.sum()),
    )
    return WorkingPlan(document, ratio, sold_weeks, replenished.stores)
