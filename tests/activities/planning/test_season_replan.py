"""A live season's re-plan (activities/planning/season_replan.py) and its report
(shared/season_report.py) on a small hand-made plan: the re-forecast, the replenishment from
actual stock, the markdown re-decision, and plan against actual to the unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from activities.planning.contexts import PricingContext
from activities.planning.pricing import PricingInputs, run_pricing_agent
from activities.planning.season_replan import (
    PRIOR_WEEKS,
    LaunchedPlan,
    contiguous_weekly_actuals,
    original_plan,
    reforecast_ratio,
    replan_season,
    store_stock,
)
from shared.results import (
    ClusterAllocation,
    ReplenishmentShipment,
    StoreAllocation,
    WeekForecast,
)
from shared.schemas import SeasonParameters
from shared.season_report import plan_against_actual, variance_summary
from tests.support.results import demand_result, inventory_result

PARAMETERS = SeasonParameters.model_validate(
    {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-06",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.45,
    }
)
STARTS = PARAMETERS.week_starts()
ECONOMICS = PricingInputs()


def launched() -> LaunchedPlan:
    weeks = [
        WeekForecast(week_start=s, units=100, lower=80, upper=120, lower_95=70, upper_95=130)
        for s in STARTS
    ]
    demand = demand_result(total_demand=1200, season_start_date=STARTS[0], forecast_by_week=weeks)
    inventory = inventory_result(1100, initial_allocation_total=600, dc_holdback_total=500)
    stores = [StoreAllocation(store_id=s, initial_allocation=300) for s in ("S1", "S2")]
    shipments = [
        ReplenishmentShipment(week_number=w, week_start=STARTS[w - 1], units=u)
        for w, u in zip(range(2, 13), [46] * 10 + [40], strict=True)
    ]
    inventory = inventory.model_copy(
        update={
            "clusters": [
                ClusterAllocation(
                    cluster_id=0,
                    cluster_label="all",
                    allocation_percentage=1.0,
                    total_units=600,
                    stores=stores,
                )
            ],
            "replenishment_schedule": shipments,
        }
    )
    pricing = run_pricing_agent(
        PricingContext(category_id="c1", parameters=PARAMETERS, demand=demand, inventory=inventory),
        ECONOMICS,
    )
    return LaunchedPlan("c1", PARAMETERS, demand, inventory, pricing)


def actuals(
    units_by_week: dict[int, tuple[int, int]], on_hand: dict[int, tuple[int, int]] | None = None
) -> pd.DataFrame:
    rows = []
    for week, per_store in units_by_week.items():
        for store, units in zip(("S1", "S2"), per_store, strict=True):
            counted = (on_hand or {}).get(week)
            rows.append(
                {
                    "week_start_date": STARTS[week - 1],
                    "store_id": store,
                    "units_sold": units,
                    "on_hand": np.nan if counted is None else counted[("S1", "S2").index(store)],
                }
            )
    return pd.DataFrame(rows)


def test_the_ratio_moves_k_over_k_plus_prior_of_the_way_and_is_clipped():
    forecast = np.full(12, 100.0)
    assert reforecast_ratio(np.array([]), forecast) == 1.0
    assert reforecast_ratio(np.array([150.0]), forecast) == pytest.approx(
        1 + 0.5 / (1 + PRIOR_WEEKS)
    )
    assert reforecast_ratio(np.array([150.0] * 4), forecast, prior_weeks=0) == pytest.approx(1.5)
    assert reforecast_ratio(np.array([1000.0]), forecast, prior_weeks=0) == 4.0


def test_a_missing_week_is_unknown_never_zero():
    frame = actuals({1: (60, 60), 2: (50, 50), 4: (70, 70)})
    assert contiguous_weekly_actuals(frame, PARAMETERS).tolist() == [120.0, 100.0]


def test_store_stock_is_the_book_or_the_count_when_every_store_gave_one():
    plan = launched()
    book = actuals({1: (40, 60)})
    assert store_stock(book, plan.inventory, 1, 2) == 600 - 100
    counted = actuals({1: (40, 60)}, on_hand={1: (200, 250)})
    assert store_stock(counted, plan.inventory, 1, 2) == 450


def test_a_replan_reforecasts_the_rest_ships_what_the_stores_need_and_reconciles():
    plan = launched()
    frame = actuals({1: (90, 90), 2: (90, 90)})  # 1.8x the plan

    working = replan_season(plan, frame, ECONOMICS).plan

    weeks = working["weeks"]
    ratio = 1 + 0.8 * 2 / (2 + PRIOR_WEEKS)
    assert working["weeks_sold"] == 2 and working["reforecast_ratio"] == pytest.approx(
        ratio, abs=1e-4
    )
    assert sum(w["forecast_units"] for w in weeks[2:]) == round(1000 * ratio)
    assert [w["forecast_units"] for w in weeks[:2]] == [100, 100]
    # The stores sold fast: the DC ships all it still holds (500 - the 46 of week 2).
    assert sum(w["shipment_units"] for w in weeks[2:]) == 500 - 46
    assert weeks[1]["shipment_units"] == 46 and weeks[0]["shipment_units"] == 0

    original = original_plan(plan)
    report = plan_against_actual(original, working, {1: 180, 2: 180})
    assert [r.actual_units for r in report[:3]] == [180, 180, None]
    assert report[0].variance_pct == 80.0
    assert report[1].sell_through == round(360 / (600 + 46), 4)
    summary = variance_summary(original, working, {1: 180, 2: 180})
    assert (summary.actual_units, summary.planned_units, summary.variance_pct) == (360, 200, 80.0)
    assert summary.remaining_forecast_units == sum(w["forecast_units"] for w in weeks[2:])


def test_slow_sales_keep_stock_at_the_dc_and_start_a_markdown_no_later():
    plan = launched()
    slow = actuals(dict.fromkeys(range(1, 7), (10, 10)))

    working = replan_season(plan, slow, ECONOMICS).plan

    assert sum(w["shipment_units"] for w in working["weeks"][6:]) < 500 - 46 * 5
    # Sold a fifth of the plan: a markdown, on a week not yet sold (the sold weeks are fixed).
    assert working["first_markdown_week"] is not None and working["first_markdown_week"] >= 7
