"""The season plan in a planner's terms: weekly stock flow at the stores and the DC, weeks of
supply, money and the buy plan.

Pure arithmetic over the agents' own plans, nothing re-estimated: receipts are the Inventory
agent's launch and DC shipments, weekly sales and prices are the Pricing agent's, forecast and
last year are the Demand agent's. So every figure here agrees with the agents' results to the
unit (shared.results.SeasonPlan checks the identities when the plan is built and when it is read).
Definitions are the retail ones of DESIGN.md: sell-through = units sold / units received
(cumulative), weeks of supply = stock on hand / the coming weeks' expected sales, gross margin =
revenue - COGS, markdown cost = (full price - price paid) x units sold marked down, GMROI = gross
margin / average inventory at cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from activities.planning.units import forward_cover
from shared.results import (
    BuyWeek,
    DemandResult,
    InventoryResult,
    MarkdownStep,
    PlanWeek,
    SeasonMoney,
    SeasonPlan,
    StockPosition,
)


def store_receipts(inventory: InventoryResult, weeks: int) -> np.ndarray:
    """Units arriving at the stores per season week: the launch in week 1, then each DC shipment."""
    receipts = np.zeros(weeks, dtype=np.int64)
    if weeks:
        receipts[0] += inventory.initial_allocation_total
    for shipment in inventory.replenishment_schedule:
        if 1 <= shipment.week_number <= weeks:
            receipts[shipment.week_number - 1] += shipment.units
    return receipts


def _money(value: float) -> float:
    return round(float(value), 2)


def season_money(
    markdowns: Sequence[MarkdownStep],
    full_price: float,
    unit_cost: float,
    salvage_per_unit: float,
    leftover: int,
    average_inventory_units: float,
    currency: str,
) -> SeasonMoney:
    """Revenue, margin, markdown cost, salvage and GMROI of the weekly plan's whole units."""
    full = [m for m in markdowns if m.markdown_pct == 0]
    marked = [m for m in markdowns if m.markdown_pct > 0]
    units_full = sum(m.expected_units_sold for m in full)
    units_marked = sum(m.expected_units_sold for m in marked)
    revenue_full = sum(m.expected_units_sold * m.price for m in full)
    revenue_marked = sum(m.expected_units_sold * m.price for m in marked)
    revenue = revenue_full + revenue_marked
    markdown_cost = sum(m.expected_units_sold * (full_price - m.price) for m in marked)
    sold = units_full + units_marked
    cogs = sold * unit_cost
    margin = revenue - cogs
    average_cost = average_inventory_units * unit_cost
    return SeasonMoney(
        currency=currency,
        full_price=full_price,
        unit_cost=unit_cost,
        units_sold=sold,
        units_sold_full_price=units_full,
        units_sold_marked_down=units_marked,
        revenue_full_price=_money(revenue_full),
        revenue_marked_down=_money(revenue_marked),
        revenue=_money(revenue),
        markdown_cost=_money(max(markdown_cost, 0.0)),
        cogs=_money(cogs),
        gross_margin=_money(margin),
        gross_margin_pct=round(margin / revenue, 4) if revenue > 0 else None,
        leftover_units=leftover,
        leftover_cost=_money(leftover * unit_cost),
        salvage_value=_money(leftover * salvage_per_unit),
        average_inventory_cost=_money(average_cost),
        gmroi=round(margin / average_cost, 2) if average_cost > 0 else None,
    )


def build_season_plan(
    demand: DemandResult,
    inventory: InventoryResult,
    markdowns: Sequence[MarkdownStep],
    demand_units: Sequence[int],
    *,
    full_price: float,
    unit_cost: float,
    salvage_per_unit: float,
    currency: str,
) -> SeasonPlan:
    """The weekly stock flow, money and buy plan of one season.

    `markdowns` are the Pricing agent's weeks (price and expected units sold); `demand_units`
    the forecast with each week's markdown uplift, in whole units. The DC receives the whole
    buy in week 1 and ships the launch and each replenishment to the stores; the stores sell."""
    weeks = len(markdowns)
    receipts = store_receipts(inventory, weeks)
    starts: list[date] = [m.week_start for m in markdowns]
    forecast = [w.units for w in demand.forecast_by_week[:weeks]]
    rate_after = float(np.mean(demand_units)) if weeks else 0.0
    store_open, dc_open = 0, 0
    received, sold, dc_in, dc_out = 0, 0, 0, 0
    stock_units: list[float] = []
    rows: list[PlanWeek] = []
    for i, step in enumerate(markdowns):
        arriving = int(receipts[i])
        sales = step.expected_units_sold
        buy = inventory.manufacturing_qty if i == 0 else 0
        store_close = store_open + arriving - sales
        dc_close = dc_open + buy - arriving
        received, sold = received + arriving, sold + sales
        dc_in, dc_out = dc_in + buy, dc_out + arriving
        ahead = demand_units[i + 1 :]
        rows.append(
            PlanWeek(
                week_number=step.week_number,
                week_start=step.week_start,
                forecast_units=forecast[i] if i < len(forecast) else 0,
                last_year_units=demand.forecast_by_week[i].last_year_units
                if i < len(demand.forecast_by_week)
                else None,
                markdown_pct=step.markdown_pct,
                price=step.price,
                demand_units=demand_units[i],
                stores=StockPosition(
                    opening=store_open,
                    receipts=arriving,
                    sales=sales,
                    closing=store_close,
                    sell_through=round(sold / received, 4) if received else 0.0,
                    weeks_of_supply=forward_cover(store_close, ahead, rate_after),
                ),
                dc=StockPosition(
                    opening=dc_open,
                    receipts=buy,
                    sales=arriving,
                    closing=dc_close,
                    sell_through=round(dc_out / dc_in, 4) if dc_in else 0.0,
                    weeks_of_supply=forward_cover(dc_close, ahead, rate_after),
                ),
            )
        )
        # Average inventory: the mean of each week's opening and closing stock, stores + DC
        # (week 1 opens with the buy the DC receives).
        stock_units.append((store_open + dc_open + buy + store_close + dc_close) / 2)
        store_open, dc_open = store_close, dc_close
    buy_plan = [
        BuyWeek(
            week_number=i + 1,
            week_start=starts[i],
            units=int(units),
            cost=_money(units * unit_cost),
            retail_value=_money(units * full_price),
        )
        for i, units in enumerate(receipts)
        if units
    ]
    plan = SeasonPlan(
        manufacturing_qty=inventory.manufacturing_qty,
        weeks=rows,
        buy_plan=buy_plan,
        money=season_money(
            markdowns,
            full_price,
            unit_cost,
            salvage_per_unit,
            store_open + dc_open,
            float(np.mean(stock_units)) if stock_units else 0.0,
            currency,
        ),
        launch_weeks_of_supply=inventory.launch_weeks_of_supply,
        last_year_units=demand.last_year_total,
    )
    problems = reconcile(demand, inventory, plan)
    if problems:
        raise ValueError("the season plan does not reconcile: " + "; ".join(problems))
    return plan


def reconcile(demand: DemandResult, inventory: InventoryResult, plan: SeasonPlan) -> list[str]:
    """What does not agree between the three agents' results and the season plan (empty when
    every total is the same number wherever it appears): the weekly, per-store and season
    forecast; the stores' launch units, the DC holdback and the manufacturing quantity; the
    DC's shipments and the stores' receipts. SeasonPlan itself checks the stock flow."""
    problems: list[str] = []
    weekly = sum(w.units for w in demand.forecast_by_week)
    if demand.forecast_by_week and weekly != demand.total_demand:
        problems.append(f"forecast weeks sum to {weekly}, season total {demand.total_demand}")
    stores = sum(s.units for s in demand.store_forecast)
    if demand.store_forecast and stores != demand.total_demand:
        problems.append(f"store forecasts sum to {stores}, season total {demand.total_demand}")
    planned = sum(w.forecast_units for w in plan.weeks)
    if len(plan.weeks) == len(demand.forecast_by_week) and planned != demand.total_demand:
        problems.append(f"the plan's forecast {planned} != season total {demand.total_demand}")
    launch = sum(s.initial_allocation for c in inventory.clusters for s in c.stores)
    if inventory.clusters and launch != inventory.initial_allocation_total:
        problems.append(f"store launch units {launch} != {inventory.initial_allocation_total}")
    if inventory.initial_allocation_total + inventory.dc_holdback_total != plan.manufacturing_qty:
        problems.append("launch + DC holdback != manufacturing quantity")
    shipped = sum(s.units for s in inventory.replenishment_schedule)
    if plan.weeks and plan.weeks[0].stores.receipts != inventory.initial_allocation_total + sum(
        s.units for s in inventory.replenishment_schedule if s.week_number == 1
    ):
        problems.append("week 1 store receipts != launch allocation")
    received = sum(w.stores.receipts for w in plan.weeks)
    if plan.weeks and received != inventory.initial_allocation_total + shipped:
        problems.append(f"store receipts {received} != launch + DC shipments")
    return problems
