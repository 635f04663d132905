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
2. Replenish from the stores' actual stock: stores hold launch + shipments made − actual sales
   (or the counted on-hand, when every store of the latest week gave one); the DC ships what
   the stores will need for the rest of the season beyond that stock, at most what it still
   holds, over the remaining shipment weeks of the plan's cadence, in proportion to the
   re-forecast demand each shipment covers (what does not ship stays at the DC).
3. Re-decide the markdown: the Pricing agent runs again with the actuals (it fixes the weeks
   sold and may start a markdown at or after its checkpoint from the actual sell-through).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from activities.planning.contexts import PricingContext
from activities.planning.inventory import replenishment_weeks
from activities.planning.pricing import (
    UPDATE_LIMITS,
    PricingInputs,
    actuals_by_week,
    run_pricing_agent,
)
from activities.planning.units import largest_remainder
from shared.results import (
    DemandResult,
    InventoryResult,
    PricingResult,
    ReplenishmentShipment,
)
from shared.schemas import SeasonParameters


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


def store_stock(
    actuals: pd.DataFrame, inventory: InventoryResult, weeks_sold: int, stores: int
) -> int:
    """What the stores hold after the weeks sold (step 2 of the module docstring)."""
    if weeks_sold:
        last_week = sorted(set(pd.to_datetime(actuals["week_start_date"]).dt.date))[weeks_sold - 1]
        latest = actuals[pd.to_datetime(actuals["week_start_date"]).dt.date == last_week]
        counted = latest["on_hand"].dropna()
        if stores and len(counted) == stores:
            return int(counted.sum())
    received = inventory.initial_allocation_total + sum(
        s.units for s in inventory.replenishment_schedule if s.week_number <= weeks_sold
    )
    sold = int(actuals["units_sold"].sum()) if weeks_sold else 0
    return max(0, received - sold)


def replenish(
    plan: LaunchedPlan, remaining: np.ndarray, on_hand: int, weeks_sold: int
) -> list[ReplenishmentShipment]:
    """The DC's shipments for the weeks after `weeks_sold` (step 2 of the module docstring)."""
    inventory, parameters = plan.inventory, plan.parameters
    horizon = parameters.forecast_horizon_weeks
    shipped = sum(s.units for s in inventory.replenishment_schedule if s.week_number <= weeks_sold)
    dc_left = max(0, inventory.dc_holdback_total - shipped)
    weeks = [
        w for w in replenishment_weeks(horizon, parameters.replenishment_strategy) if w > weeks_sold
    ]
    if not weeks:
        return [s for s in inventory.replenishment_schedule if s.week_number <= weeks_sold]
    need = max(0, round(float(remaining.sum())) - on_hand)
    to_ship = min(dc_left, need)
    bounds = [*weeks, horizon + 1]
    cover = np.array(
        [remaining[a - 1 - weeks_sold : b - 1 - weeks_sold].sum() for a, b in pairwise(bounds)]
    )
    units = largest_remainder(to_ship, cover)
    starts = parameters.week_starts()
    past = [s for s in inventory.replenishment_schedule if s.week_number <= weeks_sold]
    return past + [
        ReplenishmentShipment(week_number=w, week_start=starts[w - 1], units=int(u))
        for w, u in zip(weeks, units, strict=True)
    ]


@dataclass(frozen=True)
class WorkingPlan:
    """A re-plan's outcome: the JSON stored as the version's plan, and what changed."""

    plan: dict[str, Any]
    ratio: float
    weeks_sold: int


def plan_document(
    plan: LaunchedPlan,
    forecast: np.ndarray,
    shipments: list[ReplenishmentShipment],
    pricing: PricingResult,
    *,
    weeks_sold: int,
    ratio: float,
    store_on_hand: int,
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
    )


def replan_season(
    plan: LaunchedPlan, actuals: pd.DataFrame, economics: PricingInputs
) -> WorkingPlan:
    """The working plan for the rest of the season from the actuals so far (module docstring).

    `actuals`: week_start_date, store_id, units_sold, on_hand (NaN where not counted)."""
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
    stores = len({s.store_id for c in plan.inventory.clusters for s in c.stores})
    on_hand = store_stock(sold_rows, plan.inventory, sold_weeks, stores)
    shipments = replenish(plan, remaining.astype(float), on_hand, sold_weeks)
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
    )
    document = plan_document(
        plan,
        forecast,
        shipments,
        pricing,
        weeks_sold=sold_weeks,
        ratio=ratio,
        store_on_hand=on_hand,
        sold_units=int(actual.sum()),
    )
    return WorkingPlan(document, ratio, sold_weeks)
