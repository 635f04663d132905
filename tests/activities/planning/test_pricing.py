"""Pricing agent: monotone prices, stock-constrained revenue, actual sales to date."""

import json
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.planning.contexts import PricingContext
from activities.planning.pricing import (
    PricingInputs,
    demand_multiplier,
    price_at,
    remaining_interval,
    run_pricing_agent,
    scenario_multipliers,
)
from activities.planning.units import largest_remainder
from shared.results import DemandResult, InventoryResult, WeekForecast
from tests.support.agent_data import params
from tests.support.results import demand_result, inventory_result

START = date(2025, 1, 1)


def forecast(units: list[float], spread: float = 0.15) -> DemandResult:
    """Whole weekly units as the Demand agent gives them: the total split by largest remainder."""
    units = [int(u) for u in largest_remainder(round(sum(units)), np.array(units, dtype=float))]
    weeks = [
        WeekForecast(
            week_start=START + timedelta(days=7 * i),
            units=u,
            lower=u * (1 - spread),
            upper=u * (1 + spread),
            lower_95=u * (1 - 2 * spread),
            upper_95=u * (1 + 2 * spread),
        )
        for i, u in enumerate(units)
    ]
    return demand_result(
        "c",
        season_start_date=START,
        horizon_weeks=len(units),
        total_demand=round(sum(units)),
        forecast_by_week=weeks,
    )


def stock(qty: int) -> InventoryResult:
    return inventory_result(qty, initial_allocation_total=qty, dc_holdback_total=0)


DEFAULT_INPUTS = PricingInputs()


def plan(units, qty, actual=None, inputs=DEFAULT_INPUTS, **extra):
    p = params(START, len(units), "weekly", 0.0, **extra)
    ctx = PricingContext(
        category_id="c",
        parameters=p,
        demand=forecast(units),
        inventory=stock(qty),
        actual_sales=actual,
    )
    return run_pricing_agent(ctx, inputs)


@given(
    st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.4, 0.5]), min_size=2, max_size=2, unique=True),
    st.floats(-6, -0.1),
)
def test_deeper_markdown_never_raises_the_price_and_never_lowers_demand(pair, elasticity):
    shallow, deep = sorted(pair)
    assert price_at(80.0, deep) < price_at(80.0, shallow)
    assert demand_multiplier(deep, elasticity) > demand_multiplier(shallow, elasticity)


@given(
    units=st.lists(st.floats(0, 2000, allow_nan=False), min_size=4, max_size=20),
    stock_ratio=st.floats(0, 3),
    elasticity=st.floats(-5, -0.2),
    checkpoint=st.integers(1, 20),
)
@settings(max_examples=60, deadline=None)
def test_recommended_path_never_raises_the_price(units, stock_ratio, elasticity, checkpoint):
    qty = int(sum(units) * stock_ratio)
    cp = min(checkpoint, len(units))
    r = plan(units, qty, inputs=PricingInputs(elasticity=elasticity), markdown_checkpoint_week=cp)
    prices = [m.price for m in r.markdowns]
    assert len(prices) == len(units)
    assert all(a >= b for a, b in pairwise(prices))
    assert all(m.markdown_pct == 0 for m in r.markdowns[:cp])  # decided at the checkpoint
    assert 0 <= r.expected_sell_through <= 1 and r.leftover_units <= qty
    assert r.expected_units_sold + r.leftover_units == pytest.approx(qty, abs=1)


def test_overstock_below_threshold_gets_a_markdown_after_the_checkpoint():
    r = plan([100.0] * 12, 2000)
    assert r.checkpoint_week == 7 and r.projected_sell_through_at_checkpoint == pytest.approx(0.35)
    first = next(m for m in r.markdowns if m.markdown_pct > 0)
    assert first.week_number > 7
    held = plan([100.0] * 12, 2000, inputs=PricingInputs(max_steps=1))
    assert r.expected_revenue + r.salvage_value >= held.expected_revenue + held.salvage_value - 1e-6
    assert "Recommend" in r.reasoning and "35.0%" in r.reasoning
    assert len(json.dumps(r.summary().model_dump(mode="json"))) < 300


def test_scarce_stock_holds_full_price():
    r = plan([100.0] * 12, 900)
    assert all(m.markdown_pct == 0 for m in r.markdowns)
    assert r.expected_sell_through == 1.0 and r.leftover_units == 0
    assert r.expected_revenue == pytest.approx(900 * 50.0)


def test_slow_actual_sales_lead_to_a_deeper_plan():
    units = [100.0] * 12
    on_plan = plan(units, 1300)
    actual = pd.DataFrame(
        {
            "week_start_date": pd.to_datetime([START + timedelta(days=7 * i) for i in range(4)]),
            "units_sold": [50] * 4,
        }
    )
    slow = plan(units, 1300, actual=actual)
    assert (
        "History up to week 4: those weeks are actual sales, at 50% of forecast" in slow.reasoning
    )
    depth = lambda r: sum(m.markdown_pct for m in r.markdowns)  # noqa: E731
    assert depth(slow) > depth(on_plan)
    assert slow.expected_units_sold >= 200


def test_zero_inventory_and_zero_forecast_do_not_crash():
    r = plan([0.0] * 8, 0)
    assert r.expected_sell_through == 0 and r.expected_revenue == 0 and r.leftover_units == 0
    r = plan([0.0] * 8, 100)
    assert r.leftover_units == 100 and r.salvage_value == pytest.approx(600.0)


def test_scenarios_before_the_season_use_the_calibrated_season_total_interval():
    d = forecast([100.0] * 10).model_copy(
        update={"total_lower_80": 900.0, "total_upper_80": 1100.0}
    )
    assert remaining_interval(d, 0, 10) == (1000.0, 900.0, 1100.0)
    spread = scenario_multipliers(*remaining_interval(d, 0, 10))
    assert spread[0] == pytest.approx(0.9, rel=0.02) and spread[-1] == pytest.approx(1.1, rel=0.02)


def test_scenarios_in_season_sum_the_remaining_weeks_bounds():
    d = forecast([100.0] * 10).model_copy(
        update={"total_lower_80": 900.0, "total_upper_80": 1100.0}
    )
    total, lo, hi = remaining_interval(d, 4, 10)
    assert total == 600.0 and lo == pytest.approx(510.0) and hi == pytest.approx(690.0)


def test_a_demand_result_without_a_season_interval_falls_back_to_the_weekly_bounds():
    assert remaining_interval(forecast([100.0] * 10), 0, 10) == pytest.approx(
        (1000.0, 850.0, 1150.0)
    )
