"""Pricing agent: a markdown plan that maximises expected revenue plus salvage of leftovers.

Demand responds to price with constant elasticity: at markdown m, weekly demand is the
full-price forecast times (1 - m) ** elasticity. Units sold are capped by the stock still on
hand (manufacturing_qty less what has sold). Every markdown path on the ladder with up to two
steps, starting after the checkpoint week, is evaluated exhaustively under a few demand
scenarios drawn from the forecast interval; prices never rise once marked down.
"""

from __future__ import annotations

from datetime import date
from statistics import NormalDist

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from activities.planning.contexts import PricingContext
from activities.planning.forecasting import z_score
from activities.planning.replenishment import (
    ReplenishmentPolicy,
    StoreFlow,
    simulate_stores,
    split_by_share,
)
from activities.planning.stock_flow import build_season_plan, store_receipts
from activities.planning.units import largest_remainder
from shared.progress import ProgressReporter, report
from shared.results import (
    DEFAULT_VENDOR_LEAD_WEEKS,
    DemandResult,
    InventoryResult,
    MarkdownStep,
    PricingResult,
)
from shared.schemas import replenishment_cadence

DEFAULT_CHECKPOINT_FRACTION = 0.6
DEFAULT_THRESHOLD = 0.6
ON_TRACK_MIN_GAIN = 0.01
SCENARIO_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
UPDATE_LIMITS = (0.25, 4.0)


class PricingInputs(BaseModel):
    """Economics of the category (the category table supplies them; defaults suit fashion)."""

    model_config = ConfigDict(extra="forbid")

    full_price: float = Field(50.0, gt=0, allow_inf_nan=False)
    unit_cost: float = Field(20.0, ge=0, allow_inf_nan=False)
    salvage_fraction: float = Field(
        0.3, ge=0, le=1, description="salvage value per leftover unit, as a fraction of unit cost"
    )
    elasticity: float = Field(-2.0, lt=0, ge=-10, allow_inf_nan=False)
    currency: str = "USD"
    ladder: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    max_steps: int = Field(2, ge=1, le=2)
    vendor_lead_weeks: int = Field(
        DEFAULT_VENDOR_LEAD_WEEKS, ge=0, le=52, description="weeks from vendor order to DC receipt"
    )

    @field_validator("ladder")
    @classmethod
    def _ladder(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        steps = tuple(sorted(set(v) | {0.0}))
        if steps[0] < 0 or steps[-1] > 0.5:
            raise ValueError("markdown ladder steps must lie in [0, 0.5]")
        return steps

    @property
    def salvage_per_unit(self) -> float:
        return self.unit_cost * self.salvage_fraction


def price_at(full_price: float, markdown: float) -> float:
    return round(full_price * (1.0 - markdown), 2)


def demand_multiplier(markdown: float | np.ndarray, elasticity: float) -> np.ndarray:
    """Constant-elasticity response: price falls to (1 - m), demand scales by (1 - m) ** e
    (element-wise over an array of markdowns; a numpy scalar for one markdown)."""
    return (1.0 - np.asarray(markdown, dtype=float)) ** elasticity


def candidate_paths(
    weeks: int, first_week: int, ladder: tuple[float, ...], max_steps: int
) -> np.ndarray:
    """Markdown per week for every path: none, one step (start, depth), or two steps deepening.

    Row 0 is "no markdown"; rows are ordered simplest first so ties go to the simpler plan.
    """
    w = np.arange(weeks)
    depths = [d for d in ladder if d > 0]
    starts = range(first_week, weeks)
    rows = [np.zeros(weeks)]
    rows += [np.where(w >= t, d, 0.0) for t in starts for d in depths]
    if max_steps >= 2:
        rows += [
            np.where(w >= t2, d2, np.where(w >= t1, d1, 0.0))
            for t1 in starts
            for t2 in range(t1 + 1, weeks)
            for i, d1 in enumerate(depths)
            for d2 in depths[i + 1 :]
        ]
    return np.array(rows).reshape(len(rows), weeks)


def sell_from_receipts(wanted: np.ndarray, receipts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stores sell only what they hold: week by week (the last axis of `wanted`), this week's
    receipts join the stock on hand and sales are the smaller of demand and that stock. Returns
    (sales by week, stock left on hand), for any leading shape of `wanted`."""
    sales = np.empty_like(wanted, dtype=float)
    on_hand = np.zeros(wanted.shape[:-1])
    for t in range(wanted.shape[-1]):
        on_hand = on_hand + float(receipts[t])
        sales[..., t] = np.minimum(wanted[..., t], on_hand)
        on_hand = on_hand - sales[..., t]
    return sales, on_hand


def evaluate(
    paths: np.ndarray,
    demand: np.ndarray,
    stock: float,
    inputs: PricingInputs,
    receipts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per path, averaged over demand scenarios: (revenue, units sold, leftover, sales by week).

    demand: scenarios x weeks at full price. `receipts`: units reaching the stores each week
    (what is on hand included in the first); stores sell only what they have, so a path sells
    out when the stores run dry and sells again when the DC's next shipment arrives.
    """
    mult = demand_multiplier(paths, inputs.elasticity)  # P x T
    wanted = demand[:, None, :] * mult[None, :, :]  # S x P x T
    sales, _ = sell_from_receipts(wanted, receipts)
    prices = inputs.full_price * (1.0 - paths)
    revenue = (sales * prices[None]).sum(axis=2).mean(axis=0)
    sold = sales.sum(axis=2).mean(axis=0)
    return revenue, sold, stock - sold, sales.mean(axis=0)


def scenario_multipliers(total: float, lower80: float, upper80: float) -> np.ndarray:
    """Season-level demand multipliers at fixed quantiles of a lognormal whose spread matches
    the forecast's 80 % interval on the (remaining) season total."""
    if total <= 0:
        return np.ones(1)
    hi, lo = upper80 / total, max(lower80 / total, 1e-6)
    sigma = (np.log(max(hi, 1.0)) - np.log(min(lo, 1.0))) / (2 * z_score(80))
    if sigma <= 0:
        return np.ones(1)
    spread = np.exp(sigma * np.array([NormalDist().inv_cdf(q) for q in SCENARIO_QUANTILES]))
    # Scaled to average exactly 1: the expected sales of a week no stock limit binds are then
    # the forecast itself, as the weekly plan shows them.
    return spread / spread.mean()


def remaining_interval(
    demand: DemandResult, observed: int, weeks: int
) -> tuple[float, float, float]:
    """(forecast, lower 80, upper 80) of the demand still ahead. Before the season starts it is
    the Demand agent's season-total interval, calibrated on backtested season totals; in season
    the remaining weeks' bounds are summed, which is wider (every week assumed to err alike)."""
    season = demand.forecast_by_week[:weeks]
    ahead = season[observed:]
    total = float(sum(w.units for w in ahead))
    if observed == 0 and demand.total_lower_80 is not None and demand.total_upper_80 is not None:
        scale = total / demand.total_demand if demand.total_demand else 1.0
        return total, demand.total_lower_80 * scale, demand.total_upper_80 * scale
    return total, float(sum(w.lower for w in ahead)), float(sum(w.upper for w in ahead))


def actuals_by_week(actual: pd.DataFrame | None, season_start: date, weeks: int) -> np.ndarray:
    """Actual units per season week observed so far (contiguous from week 1)."""
    if actual is None or actual.empty:
        return np.zeros(0)
    idx = (
        (pd.to_datetime(actual["week_start_date"]) - pd.Timestamp(season_start)).dt.days / 7
    ).round()
    frame = actual.assign(idx=idx.astype(int))
    frame = frame[(frame["idx"] >= 0) & (frame["idx"] < weeks)]
    if frame.empty:
        return np.zeros(0)
    per_week = frame.groupby("idx")["units_sold"].sum().clip(lower=0)
    return per_week.reindex(range(int(per_week.index.max()) + 1), fill_value=0).to_numpy(float)


def launch_by_store(inventory: InventoryResult, demand: DemandResult) -> tuple[np.ndarray, ...]:
    """(launch units, forecast share) per store, in the order the Inventory agent's result
    lists its stores (cluster by cluster): the order it simulated them in. A result that lists
    no stores is the chain as one store holding the whole launch."""
    share = {s.store_id: s.share for s in demand.store_forecast}
    stores = [s for c in inventory.clusters for s in c.stores]
    if not stores:
        return np.array([inventory.initial_allocation_total], dtype=np.int64), np.ones(1)
    launch = np.array([s.initial_allocation for s in stores], dtype=np.int64)
    return launch, np.array([share.get(s.store_id, 0.0) for s in stores], dtype=float)


def season_flow(
    inventory: InventoryResult,
    demand: DemandResult,
    chain_demand: np.ndarray,
    chain_forecast: np.ndarray,
    cadence: int | None,
    policy: ReplenishmentPolicy,
) -> StoreFlow:
    """The season store by store: the launch, then the replenishment policy planning against
    `chain_forecast` while the stores meet `chain_demand` (whole units per week, each split
    across the stores by share)."""
    launch, shares = launch_by_store(inventory, demand)
    weeks = len(chain_demand)
    vendor = np.zeros(weeks, dtype=np.int64)
    if weeks:
        vendor[0] = inventory.manufacturing_qty
    return simulate_stores(
        np.zeros(len(launch), dtype=np.int64),
        0,
        split_by_share(chain_demand, shares),
        cadence,
        policy,
        forecast=split_by_share(chain_forecast, shares),
        first_delivery=launch,
        dc_receipts=vendor,
    )


def whole_units(weekly: np.ndarray) -> np.ndarray:
    """Whole units per week summing to the rounded season total (largest remainder)."""
    return largest_remainder(round(float(weekly.sum())), weekly)


def run_pricing_agent(
    ctx: PricingContext,
    pricing: PricingInputs,
    progress: ProgressReporter | None = None,
    policy: ReplenishmentPolicy | None = None,
) -> PricingResult:
    """The markdown plan, and the season plan it leads to store by store.

    Markdown paths are weighed on the chain (every path under several demand scenarios); the
    checkpoint's sell-through and the season plan come from the store-by-store simulation of
    the replenishment `policy`, so the markdown is decided on the sell-through the stock flow
    shows, and no store sells more than its demand. Weeks with actual sales are history."""
    policy = policy or ReplenishmentPolicy()
    p, demand, inv = ctx.parameters, ctx.demand, ctx.inventory
    h = p.forecast_horizon_weeks
    cadence = replenishment_cadence(p.replenishment_strategy)
    report(progress, 5, "Reading forecast, inventory and sales to date...")
    units = np.array([w.units for w in demand.forecast_by_week[:h]], dtype=float)
    units = np.pad(units, (0, h - len(units)))
    stock_total = float(inv.manufacturing_qty)
    receipts = store_receipts(inv, h).astype(float)

    actual = actuals_by_week(ctx.actual_sales, p.season_start_date, h)
    k = len(actual)
    # Weeks already sold: what the stores had on hand caps what they can have sold.
    sold_weeks, still_held = sell_from_receipts(np.asarray(actual, dtype=float), receipts[:k])
    on_hand = float(still_held)
    sold = float(sold_weeks.sum())
    planned = float(units[:k].sum())
    update = float(np.clip(actual.sum() / planned, *UPDATE_LIMITS)) if k and planned > 0 else 1.0
    future = units[k:] * update
    future_receipts = receipts[k:].copy()
    if len(future_receipts):
        future_receipts[0] += on_hand
    stock = stock_total - sold

    def flow_at(path: np.ndarray) -> StoreFlow:
        """The season under markdown `path` (per future week): history as it sold, then the
        forecast with the path's uplift, which the policy also plans against."""
        ahead = future * demand_multiplier(path, pricing.elasticity)
        chain_demand = whole_units(np.concatenate([actual, ahead]))
        # The policy plans the weeks ahead against this same demand (store by store, the same
        # whole units); weeks already sold it had planned against the forecast.
        chain_forecast = np.concatenate([units[:k], chain_demand[k:]]).astype(np.int64)
        return season_flow(inv, demand, chain_demand, chain_forecast, cadence, policy)

    checkpoint = min(
        p.markdown_checkpoint_week or max(1, round(DEFAULT_CHECKPOINT_FRACTION * h)), h
    )
    threshold = p.markdown_threshold or DEFAULT_THRESHOLD
    held = flow_at(np.zeros(len(future)))
    through_cp = int(held.chain("sales")[:checkpoint].sum())
    st_cp = min(1.0, through_cp / stock_total) if stock_total else 0.0
    on_track = st_cp >= threshold
    report(
        progress,
        25,
        f"Sell-through at week {checkpoint} in the stock flow: {st_cp:.0%} "
        f"(threshold {threshold:.0%})",
    )

    scen = scenario_multipliers(*remaining_interval(demand, k, h))
    first = max(checkpoint, k) - k  # first future week index a markdown may start
    paths = candidate_paths(len(future), min(first, len(future)), pricing.ladder, pricing.max_steps)
    report(
        progress,
        45,
        f"Evaluating {len(paths):,} markdown paths over {len(scen)} demand scenarios...",
    )
    revenue, _, leftover, _ = evaluate(
        paths, np.outer(scen, future), stock, pricing, future_receipts
    )
    value = revenue + leftover * pricing.salvage_per_unit
    best = int(np.argmax(value))
    if on_track and value[best] < value[0] * (1 + ON_TRACK_MIN_GAIN):
        best = 0
    report(progress, 85, "Markdown plan chosen")

    path = np.concatenate([np.zeros(k), paths[best]])
    flow = held if best == 0 else flow_at(paths[best])
    expected = flow.chain("sales")
    # The figure shown is the plan's own stock flow at the checkpoint (a bi-weekly top-up just
    # before it may already carry the markdown's uplift, so it can differ from the decision's).
    st_cp = min(1.0, float(expected[:checkpoint].sum()) / stock_total) if stock_total else 0.0
    week_starts = p.week_starts()
    steps = [
        MarkdownStep(
            week_number=i + 1,
            week_start=week_starts[i],
            markdown_pct=float(path[i]),
            price=price_at(pricing.full_price, float(path[i])),
            expected_units_sold=int(expected[i]),
        )
        for i in range(h)
    ]
    # The reported season is the weekly plan's whole units, so every total is the same figure.
    sold_total = int(expected.sum())
    left = inv.manufacturing_qty - sold_total
    revenue_total = sum(s.expected_units_sold * s.price for s in steps)
    sell_through = min(1.0, sold_total / stock_total) if stock_total else 0.0
    history = min(k, h)
    season_plan = build_season_plan(
        demand,
        inv,
        steps,
        flow,
        full_price=pricing.full_price,
        unit_cost=pricing.unit_cost,
        salvage_per_unit=pricing.salvage_per_unit,
        currency=pricing.currency,
        vendor_lead_weeks=pricing.vendor_lead_weeks,
        history_weeks=history,
    )
    result = PricingResult(
        full_price=pricing.full_price,
        markdowns=steps,
        checkpoint_week=checkpoint,
        projected_sell_through_at_checkpoint=round(st_cp, 4),
        expected_sell_through=round(sell_through, 4),
        expected_revenue=round(revenue_total, 2),
        leftover_units=left,
        inventory_units=int(stock_total),
        expected_units_sold=sold_total,
        salvage_value=round(left * pricing.salvage_per_unit, 2),
        markdown_threshold=threshold,
        scenarios=len(scen),
        currency=pricing.currency,
        season_plan=season_plan,
        reasoning=_reasoning(
            steps,
            st_cp,
            threshold,
            checkpoint,
            sell_through,
            revenue_total,
            left,
            value,
            best,
            history,
            update,
            pricing,
        ),
    )
    report(progress, 100, "Pricing plan complete")
    return result


def _reasoning(
    steps: list[MarkdownStep],
    st_cp: float,
    threshold: float,
    checkpoint: int,
    sell_through: float,
    revenue: float,
    left: float,
    value: np.ndarray,
    best: int,
    observed: int,
    update: float,
    pricing: PricingInputs,
) -> str:
    parts = []
    cur = pricing.currency
    weeks = len(steps)
    past = observed >= weeks
    if past:
        parts.append(
            f"This season is history: all {weeks} weeks have sold (actual sales, "
            f"{update:.0%} of forecast). What follows is what the policy would have decided, "
            "not advice."
        )
    elif observed:
        parts.append(
            f"History up to week {observed}: those weeks are actual sales, at {update:.0%} of "
            f"forecast; weeks {observed + 1}–{weeks} are the plan, their forecast scaled "
            "accordingly."
        )
    status = "on track" if st_cp >= threshold else "below target"
    reached = "was" if observed >= checkpoint else "is projected at"
    parts.append(
        f"Sell-through at week {checkpoint} {reached} {st_cp:.1%} in the stock flow against a "
        f"{threshold:.0%} threshold ({status})."
    )
    changes = [
        s for i, s in enumerate(steps) if s.markdown_pct != (steps[i - 1].markdown_pct if i else 0)
    ]
    if past:
        parts.append(
            f"At that checkpoint the policy would have considered a markdown from week "
            f"{checkpoint + 1}; no week is left to mark down."
            if st_cp < threshold
            else "At that checkpoint the policy would have held full price."
        )
    elif changes:
        plan = ", then ".join(
            f"{s.markdown_pct:.0%} off from week {s.week_number} ({s.price:,.2f} {cur})"
            for s in changes
        )
        gain = value[best] - value[0]
        parts.append(
            f"Recommend {plan}: with elasticity {pricing.elasticity:g} this adds "
            f"{gain:,.0f} {cur} of revenue plus salvage over holding full price."
        )
    else:
        parts.append(
            "Hold full price: no markdown on the ladder improves revenue plus salvage enough."
        )
    parts.append(
        ("Sell-through " if past else "Expected sell-through ")
        + f"{sell_through:.0%}, revenue {revenue:,.0f} {cur}, about "
        f"{left:,.0f} units left for salvage at {pricing.salvage_per_unit:,.2f} {cur} each."
    )
    return " ".join(parts)
