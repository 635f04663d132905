"""The season plan in a planner's terms: stock flow, weeks of supply, money and buy plan, each
reconciling with the agents' own plans to the unit."""

import json
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import update

from activities.planning.contexts import PricingContext
from activities.planning.inventory import plan_units, simulate_plan
from activities.planning.pricing import PricingInputs, run_pricing_agent
from activities.planning.replenishment import ReplenishmentPolicy
from activities.planning.units import forward_cover, round_running_total
from shared.data.db import dispose_engine, get_engine
from shared.data.results_store import load_result, save_result
from shared.data.schema import create_schema
from shared.data.tables import AgentResultRow
from shared.results import InventoryResult, PricingResult, ReplenishmentShipment, SeasonPlan
from tests.activities.planning.test_pricing import START, forecast
from tests.support.agent_data import params

INPUTS = PricingInputs(full_price=69.0, unit_cost=24.0, salvage_fraction=0.3, currency="EUR")


def test_weeks_of_supply_walk_forward_through_the_coming_weeks():
    assert forward_cover(150, [100, 100, 100], 100) == 1.5
    assert forward_cover(300, [100, 100, 100], 100) == 3.0
    # Past the season's end the cover continues at the given weekly rate.
    assert forward_cover(500, [100, 100], 50) == 8.0
    assert forward_cover(0, [100], 100) == 0.0
    assert forward_cover(10, [0, 0], 0) is None
    # Stock that runs out exactly in week 3 covers 3 weeks, not the empty weeks after it.
    assert forward_cover(1200, [0, 548, 652, 0, 0], 0) == 3.0


@given(st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=30))
def test_rounding_the_running_total_keeps_whole_non_negative_weeks_and_the_season_sum(values):
    weeks = round_running_total(np.array(values))
    assert (weeks >= 0).all()
    assert weeks.sum() == round(sum(values))
    assert np.all(np.abs(np.cumsum(weeks) - np.cumsum(values)) <= 0.5 + 1e-9)


def _inventory(manufacturing, holdback_pct, strategy, weekly):
    """The Inventory agent's plan for the chain as one store (as the Pricing agent reads a
    result without stores): its launch, and the policy's deliveries at the forecast."""
    unit_plan = plan_units(manufacturing, holdback_pct, strategy, np.ones(1))
    flow = simulate_plan(
        manufacturing,
        unit_plan.allocation,
        weekly.astype(np.int64)[None, :],
        strategy,
        ReplenishmentPolicy(),
    )
    starts = [START + timedelta(days=7 * i) for i in range(len(weekly))]
    return InventoryResult(
        manufacturing_qty=manufacturing,
        initial_allocation_total=int(unit_plan.allocation.sum()),
        dc_holdback_total=unit_plan.holdback,
        clusters=[],
        replenishment_schedule=[
            ReplenishmentShipment(week_number=w + 1, week_start=starts[w], units=int(u))
            for w, u in enumerate(flow.dc_shipments)
            if w and u
        ],
        explanation="x",
    )


def _plan(units, manufacturing, holdback_pct=0.15, strategy="weekly", **extra):
    demand = forecast(units)
    weekly = np.array([w.units for w in demand.forecast_by_week], dtype=float)
    inventory = _inventory(manufacturing, holdback_pct, strategy, weekly)
    ctx = PricingContext(
        category_id="c",
        parameters=params(START, len(units), strategy, holdback_pct, **extra),
        demand=demand,
        inventory=inventory,
    )
    return demand, inventory, run_pricing_agent(ctx, INPUTS)


def _assert_reconciles(demand, inventory, pricing):
    plan = pricing.season_plan
    money = plan.money
    assert sum(w.forecast_units for w in plan.weeks) == demand.total_demand
    assert sum(w.stores.sales for w in plan.weeks) == money.units_sold
    assert (
        money.units_sold
        == pricing.expected_units_sold
        == sum(m.expected_units_sold for m in pricing.markdowns)
    )
    assert money.revenue == pytest.approx(pricing.expected_revenue, abs=0.005)
    assert money.revenue == pytest.approx(
        sum(w.stores.sales * w.price for w in plan.weeks), abs=0.005
    )
    assert money.leftover_units == pricing.leftover_units
    assert money.units_sold + money.leftover_units == inventory.manufacturing_qty
    assert sum(b.units for b in plan.buy_plan) == inventory.manufacturing_qty
    assert sum(w.dc.receipts for w in plan.weeks) == inventory.manufacturing_qty
    assert sum(d.units for d in plan.store_deliveries) == sum(w.stores.receipts for w in plan.weeks)
    assert plan.weeks[0].stores.receipts == inventory.initial_allocation_total
    for week in plan.weeks:
        assert week.stores.closing >= 0 and week.dc.closing >= 0
        assert week.stores.sales <= week.stores.opening + week.stores.receipts
        assert week.stores.sales <= week.demand_units
        assert week.stores.sales + week.lost_sales == week.demand_units
    assert money.revenue + money.markdown_cost == pytest.approx(
        money.units_sold * money.full_price, abs=0.01
    )
    assert money.gross_margin == pytest.approx(money.revenue - money.cogs, abs=0.01)


def test_a_scarce_plan_sells_what_the_stores_hold_and_waits_for_the_dc():
    demand, inventory, pricing = _plan([1000] * 8, 3000, 0.2)
    _assert_reconciles(demand, inventory, pricing)
    weeks = pricing.season_plan.weeks
    # Launch 2,400 units cover two weeks and a bit; then each week sells what the DC ships.
    assert [w.stores.sales for w in weeks[:2]] == [1000, 1000]
    # From week 3 the stores run dry (an expected unit or so is left in the slowest scenario).
    assert all(w.stores.closing <= 1 for w in weeks[2:])
    assert all(abs(w.stores.sales - w.stores.receipts) <= 1 for w in weeks[3:])
    assert [w.stores.weeks_of_supply for w in weeks[2:]] == [0.0] * 6
    assert weeks[-1].stores.sell_through == 1.0
    assert pricing.season_plan.money.leftover_units == 0


def test_an_overstocked_plan_marks_down_and_accounts_for_every_unit_in_money():
    demand, inventory, pricing = _plan([500] * 12, 12_000, 0.1, markdown_checkpoint_week=6)
    _assert_reconciles(demand, inventory, pricing)
    money = pricing.season_plan.money
    assert money.currency == "EUR"
    assert money.units_sold_marked_down > 0 and money.markdown_cost > 0
    assert money.leftover_units > 0
    assert money.leftover_cost == pytest.approx(money.leftover_units * 24.0)
    assert money.salvage_value == pytest.approx(money.leftover_units * 24.0 * 0.3)
    assert money.gmroi == pytest.approx(money.gross_margin / money.average_inventory_cost, 0.01)
    marked = [w for w in pricing.season_plan.weeks if w.markdown_pct > 0]
    assert all(w.demand_units > w.forecast_units for w in marked)
    assert "EUR" in pricing.reasoning and "$" not in pricing.reasoning


@settings(max_examples=40, deadline=None)
@given(
    units=st.lists(st.integers(0, 3000), min_size=4, max_size=20),
    stock_ratio=st.floats(0.1, 2.5),
    holdback=st.sampled_from([0.0, 0.1, 0.35]),
    strategy=st.sampled_from(["weekly", "bi-weekly", "none"]),
)
def test_every_plan_reconciles_to_the_unit(units, stock_ratio, holdback, strategy):
    manufacturing = round(sum(units) * stock_ratio)
    demand, inventory, pricing = _plan(units, manufacturing, holdback, strategy)
    if pricing.season_plan.weeks:
        _assert_reconciles(demand, inventory, pricing)


def test_a_plan_that_does_not_add_up_is_refused():
    _, _, pricing = _plan([1000] * 8, 3000, 0.2)
    data = pricing.season_plan.model_dump()
    data["weeks"][2]["stores"]["closing"] += 1
    with pytest.raises(ValidationError, match="does not reconcile"):
        SeasonPlan.model_validate(data)
    data = pricing.season_plan.model_dump()
    data["money"]["units_sold"] -= 1
    with pytest.raises(ValidationError, match="does not reconcile"):
        SeasonPlan.model_validate(data)


def test_the_buy_plan_lists_vendor_receipts_with_their_order_by_date():
    _, inventory, pricing = _plan([1000] * 8, 8000, 0.25)
    plan = pricing.season_plan
    buy = plan.buy_plan
    assert [(b.week_start, b.units) for b in buy] == [(date(2025, 1, 1), 8000)]
    assert buy[0].order_by == date(2025, 1, 1) - timedelta(weeks=INPUTS.vendor_lead_weeks)
    assert all(b.cost == b.units * 24.0 and b.retail_value == b.units * 69.0 for b in buy)
    # The stores' deliveries are their own list: the launch, then the policy's top-ups.
    deliveries = plan.store_deliveries
    assert deliveries[0].units == inventory.initial_allocation_total
    assert [d.units for d in deliveries] == [
        w.stores.receipts for w in plan.weeks if w.stores.receipts
    ]


def test_money_figures_follow_their_one_definition():
    _, _, pricing = _plan([500] * 12, 9000, 0.3, markdown_checkpoint_week=6)
    plan = pricing.season_plan
    closing = [w.stores.closing + w.dc.closing for w in plan.weeks]
    assert plan.money.average_inventory_cost == pytest.approx(np.mean(closing) * 24.0, abs=0.01)
    assert plan.money.gmroi == pytest.approx(
        plan.money.gross_margin / plan.money.average_inventory_cost, abs=0.01
    )
    assert plan.money.gmroi_annualised == pytest.approx(plan.money.gmroi * 52 / 12, abs=0.02)
    for week in plan.weeks:
        received = sum(w.stores.receipts for w in plan.weeks[: week.week_number])
        sold = sum(w.stores.sales for w in plan.weeks[: week.week_number])
        shipped = sum(w.dc.sales for w in plan.weeks[: week.week_number])
        assert week.stores.sell_through == pytest.approx(sold / received, abs=1e-4)
        assert week.dc.sell_through == pytest.approx(shipped / 9000, abs=1e-4)
        assert week.chain_sell_through == pytest.approx(sold / 9000, abs=1e-4)
    # DC weeks of supply count its planned deliveries, not the stores' sales.
    week = plan.weeks[2]
    ahead = [w.dc.sales for w in plan.weeks[3:]]
    assert week.dc.weeks_of_supply == forward_cover(week.dc.closing, ahead, 0.0)


def test_a_stored_plan_is_checked_again_when_it_is_read(tmp_path):
    """Every plan is checked where it is built and wherever it is read back (the result routes,
    the next agent): a stored plan edited so that it no longer adds up is refused on reading."""
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    engine = get_engine(url)
    create_schema(engine)
    _, _, pricing = _plan([1000] * 8, 3000, 0.2)
    save_result(engine, "wf", "pricing", pricing)
    assert load_result(engine, "wf", "pricing", PricingResult) == pricing
    tampered = pricing.model_dump(mode="json")
    tampered["season_plan"]["weeks"][0]["stores"]["sales"] += 1
    with engine.begin() as conn:
        conn.execute(update(AgentResultRow).values(result=json.dumps(tampered)))
    with pytest.raises(ValidationError, match="does not reconcile"):
        load_result(engine, "wf", "pricing", PricingResult)
    dispose_engine(url)
