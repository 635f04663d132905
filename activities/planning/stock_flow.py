"""The season plan in a planner's terms: weekly stock flow at the stores and the DC, weeks of
supply, money, the buy plan (vendor receipts into the DC) and the store deliveries.

Pure arithmetic over a store-by-store simulation of the season (activities.planning.replenishment)
and the agents' own plans: the stores' and the DC's weekly figures are sums over the simulated
stores, prices are the Pricing agent's, forecast and last year the Demand agent's. So every
figure here agrees to the unit with the store flows (shared.results.SeasonPlan checks the
identities when the plan is built and when it is read). Each figure has one definition, written
once in shared.glossary (and docs/glossary.md): sell-through = units sold / units received at
that level, weeks of supply = stock / the coming weeks' outflow (forecast sales at the stores,
planned deliveries at the DC), average inventory = mean weekly closing stock (stores + DC), GMROI
= gross margin / average inventory at cost, for the season and annualised.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from activities.planning.replenishment import StoreFlow, stranded_units
from activities.planning.units import forward_cover
from shared.results import (
    BuyWeek,
    DemandResult,
    InventoryResult,
    MarkdownStep,
    PlanWeek,
    ReplenishmentShipment,
    SeasonMoney,
    SeasonPlan,
    StockPosition,
)

WEEKS_PER_YEAR = 52


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
    weeks: int,
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
        gmroi_annualised=round(margin / average_cost * WEEKS_PER_YEAR / weeks, 2)
        if average_cost > 0 and weeks
        else None,
    )


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def build_season_plan(
    demand: DemandResult,
    inventory: InventoryResult,
    markdowns: Sequence[MarkdownStep],
    flow: StoreFlow,
    *,
    full_price: float,
    unit_cost: float,
    salvage_per_unit: float,
    currency: str,
    vendor_lead_weeks: int,
    history_weeks: int = 0,
) -> SeasonPlan:
    """The weekly stock flow, money, buy plan and store deliveries of one season.

    `markdowns` are the Pricing agent's weeks (price, and units sold = the flow's store sales);
    `flow` the season simulated store by store: its demand is the forecast with each week's
    markdown uplift (actual sales for the `history_weeks` already sold). The DC receives the
    buy from the vendor, ordered `vendor_lead_weeks` before it lands."""
    weeks = len(markdowns)
    starts: list[date] = [m.week_start for m in markdowns]
    forecast = [w.units for w in demand.forecast_by_week[:weeks]]
    demand_units = flow.chain("demand")
    store_open, store_in = flow.chain("opening"), flow.chain("receipts")
    store_sold, store_close = flow.chain("sales"), flow.chain("closing")
    rate_after = float(np.mean(demand_units)) if weeks else 0.0
    received = sold = dc_in = dc_out = 0
    rows: list[PlanWeek] = []
    for i, step in enumerate(markdowns):
        received += int(store_in[i])
        sold += int(store_sold[i])
        dc_in += int(flow.dc_receipts[i])
        dc_out += int(flow.dc_shipments[i])
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
                demand_units=int(demand_units[i]),
                lost_sales=int(demand_units[i] - store_sold[i]),
                actual=i < history_weeks,
                chain_sell_through=_ratio(sold, dc_in),
                stores=StockPosition(
                    opening=int(store_open[i]),
                    receipts=int(store_in[i]),
                    sales=int(store_sold[i]),
                    closing=int(store_close[i]),
                    sell_through=_ratio(sold, received),
                    weeks_of_supply=forward_cover(
                        int(store_close[i]), [float(u) for u in demand_units[i + 1 :]], rate_after
                    ),
                ),
                dc=StockPosition(
                    opening=int(flow.dc_opening[i]),
                    receipts=int(flow.dc_receipts[i]),
                    sales=int(flow.dc_shipments[i]),
                    closing=int(flow.dc_closing[i]),
                    sell_through=_ratio(dc_out, dc_in),
                    weeks_of_supply=forward_cover(
                        int(flow.dc_closing[i]),
                        [float(u) for u in flow.dc_shipments[i + 1 :]],
                        0.0,
                    ),
                ),
            )
        )
    # Average inventory: the mean of each week's closing stock, stores + DC.
    closing_stock = store_close + flow.dc_closing
    buy_plan = [
        BuyWeek(
            week_number=i + 1,
            week_start=starts[i],
            order_by=starts[i] - timedelta(weeks=vendor_lead_weeks),
            units=int(units),
            cost=_money(units * unit_cost),
            retail_value=_money(units * full_price),
        )
        for i, units in enumerate(flow.dc_receipts[:weeks])
        if units
    ]
    deliveries = [
        ReplenishmentShipment(week_number=i + 1, week_start=starts[i], units=int(units))
        for i, units in enumerate(store_in[:weeks])
        if units
    ]
    leftover = int(store_close[-1] + flow.dc_closing[-1]) if weeks else inventory.manufacturing_qty
    plan = SeasonPlan(
        manufacturing_qty=inventory.manufacturing_qty,
        weeks=rows,
        buy_plan=buy_plan,
        store_deliveries=deliveries,
        vendor_lead_weeks=vendor_lead_weeks,
        history_weeks=history_weeks,
        lost_sales=int(flow.lost.sum()),
        stranded_units=stranded_units(flow),
        money=season_money(
            markdowns,
            full_price,
            unit_cost,
            salvage_per_unit,
            leftover,
            float(np.mean(closing_stock)) if weeks else 0.0,
            currency,
            weeks,
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
    launch in the stores' week-1 receipts. SeasonPlan itself checks the stock flow, the buy and
    the store deliveries. (The plan's later deliveries are the policy's at the markdown plan's
    demand, so they may differ from the Inventory agent's schedule at full price.)"""
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
    if plan.weeks and plan.weeks[0].stores.receipts != inventory.initial_allocation_total:
        problems.append("week 1 store receipts != launch allocation")
    return problems
