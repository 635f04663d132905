"""A live season's re-plan (activities/planning/season_replan.py) and its report
(shared/season_report.py) on a small hand-made plan of two stores: the re-forecast, the
store-by-store replenishment from actual stock, the markdown re-decision, and plan against
actual to the unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from activities.planning.contexts import PricingContext
from activities.planning.pricing import PricingInputs, run_pricing_agent
from activities.planning.replenishment import ReplenishmentPolicy
from activities.planning.season_replan import (
    PRIOR_WEEKS,
    LaunchedPlan,
    contiguous_weekly_actuals,
    original_plan,
    planned_flow,
    reforecast_ratio,
    replan_season,
    store_stock,
)
from shared.results import (
    ClusterAllocation,
    ReplenishmentShipment,
    StoreAllocation,
    StoreForecast,
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
POLICY = ReplenishmentPolicy()


def launched(policy: ReplenishmentPolicy = POLICY) -> LaunchedPlan:
    """Two stores of equal share, 300 units each at launch and 500 at the DC; the launched
    schedule is the policy's at the forecast, as the Inventory agent would have planned it."""
    weeks = [
        WeekForecast(week_start=s, units=100, lower=80, upper=120, lower_95=70, upper_95=130)
        for s in STARTS
    ]
    demand = demand_result(
        total_demand=1200, season_start_date=STARTS[0], forecast_by_week=weeks
    ).model_copy(
        update={
            "store_forecast": [
                StoreForecast(store_id=s, share=0.5, units=600) for s in ("S1", "S2")
            ]
        }
    )
    inventory = inventory_result(1100, initial_allocation_total=600, dc_holdback_total=500)
    stores = [StoreAllocation(store_id=s, initial_allocation=300) for s in ("S1", "S2")]
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
            ]
        }
    )
    draft = LaunchedPlan("c1", PARAMETERS, demand, inventory, None)  # type: ignore[arg-type]
    shipped = planned_flow(draft, policy).dc_shipments
    schedule = [
        ReplenishmentShipment(week_number=w, week_start=STARTS[w - 1], units=int(shipped[w - 1]))
        for w in range(2, 13)
    ]
    inventory = inventory.model_copy(update={"replenishment_schedule": schedule})
    pricing = run_pricing_agent(
        PricingContext(category_id="c1", parameters=PARAMETERS, demand=demand, inventory=inventory),
        ECONOMICS,
    )
    return LaunchedPlan("c1", PARAMETERS, demand, inventory, pricing)


def shipped_through(plan: LaunchedPlan, week: int) -> int:
    return sum(s.units for s in plan.inventory.replenishment_schedule if s.week_number <= week)


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


def test_store_stock_is_each_stores_book_or_its_own_count():
    plan = launched()
    nothing = np.zeros(2, dtype=np.int64)
    book = actuals({1: (40, 60)})
    assert store_stock(book, plan, nothing, 1).tolist() == [260, 240]
    # Sold more than it had: the book floors at zero (lost sales are not stock).
    assert store_stock(actuals({1: (400, 60)}), plan, nothing, 1).tolist() == [0, 240]
    # Counts win store by store: S1 counted, S2 not, so S2 keeps its book.
    counted = actuals({1: (40, 60)}, on_hand={1: (200, 250)})
    counted.loc[counted["store_id"] == "S2", "on_hand"] = np.nan
    assert store_stock(counted, plan, nothing, 1).tolist() == [200, 240]
    assert store_stock(book, plan, np.array([5, 0]), 1).tolist() == [265, 240]


def test_a_sold_out_store_is_topped_up_while_a_store_with_plenty_gets_nothing():
    plan = launched()
    frame = actuals({1: (150, 10), 2: (150, 10)})  # S1 sold its whole launch, S2 a fifteenth

    working = replan_season(plan, frame, ECONOMICS, POLICY)

    flow = working.stores
    assert flow is not None and flow.opening[:, 0].tolist() == [0, 280]
    assert flow.receipts[0, 0] > 0 and flow.receipts[1, 0] == 0
    assert working.plan["weeks"][2]["shipment_units"] == flow.receipts[0, 0]


def test_with_on_hand_counts_the_counts_win():
    plan = launched()
    frame = actuals({1: (50, 50), 2: (50, 50)}, on_hand={2: (20, 260)})

    working = replan_season(plan, frame, ECONOMICS, POLICY)

    assert working.stores is not None and working.stores.opening[:, 0].tolist() == [20, 260]
    assert working.plan["store_on_hand_units"] == 280
    assert working.stores.receipts[0, 0] > 0 and working.stores.receipts[1, 0] == 0


def test_replan_store_flows_sum_to_the_chain():
    plan = launched()
    working = replan_season(plan, actuals({1: (70, 40), 2: (65, 45)}), ECONOMICS, POLICY)

    flow, weeks = working.stores, working.plan["weeks"]
    assert flow is not None
    assert flow.chain("demand").tolist() == [w["forecast_units"] for w in weeks[2:]]
    assert flow.chain("receipts").tolist() == [w["shipment_units"] for w in weeks[2:]]
    assert flow.dc_shipments.tolist() == flow.chain("receipts").tolist()
    assert int(flow.opening[:, 0].sum()) == working.plan["store_on_hand_units"]
    assert working.plan["expected_lost_sales_units"] == int(flow.lost.sum())
    # Units are conserved store by store and at the DC.
    assert (flow.opening + flow.receipts - flow.sales == flow.closing).all()
    assert flow.dc_opening[0] == 500 - shipped_through(plan, 2)


def test_a_replan_reforecasts_the_rest_ships_what_the_dc_holds_and_reconciles():
    plan = launched()
    frame = actuals({1: (90, 90), 2: (90, 90)})  # 1.8x the plan

    working = replan_season(plan, frame, ECONOMICS, POLICY).plan

    weeks = working["weeks"]
    ratio = 1 + 0.8 * 2 / (2 + PRIOR_WEEKS)
    assert working["weeks_sold"] == 2 and working["reforecast_ratio"] == pytest.approx(
        ratio, abs=1e-4
    )
    assert sum(w["forecast_units"] for w in weeks[2:]) == round(1000 * ratio)
    assert [w["forecast_units"] for w in weeks[:2]] == [100, 100]
    # The stores sell fast: the DC ships all it still holds and never more.
    held = 500 - shipped_through(plan, 2)
    assert sum(w["shipment_units"] for w in weeks[2:]) == held
    assert [w["shipment_units"] for w in weeks[:2]] == [0, shipped_through(plan, 2)]

    original = original_plan(plan)
    report = plan_against_actual(original, working, {1: 180, 2: 180})
    assert [r.actual_units for r in report[:3]] == [180, 180, None]
    assert report[0].variance_pct == 80.0
    assert report[1].sell_through == round(360 / (600 + shipped_through(plan, 2)), 4)
    summary = variance_summary(original, working, {1: 180, 2: 180})
    assert (summary.actual_units, summary.planned_units, summary.variance_pct) == (360, 200, 80.0)
    assert summary.remaining_forecast_units == sum(w["forecast_units"] for w in weeks[2:])


def test_the_dc_ships_nothing_beyond_what_it_holds_when_the_stores_are_short():
    plan = launched()
    frame = actuals(dict.fromkeys(range(1, 5), (200, 200)))  # both stores sold out every week

    working = replan_season(plan, frame, ECONOMICS, POLICY)

    flow = working.stores
    held = 500 - shipped_through(plan, 4)
    assert flow is not None and flow.rationed.any()
    assert sum(w["shipment_units"] for w in working.plan["weeks"][4:]) == held
    assert (flow.dc_closing >= 0).all() and flow.dc_closing[-1] == 0
    assert working.plan["expected_lost_sales_units"] > 0


def test_deliveries_already_in_transit_arrive_as_planned():
    in_transit = ReplenishmentPolicy(transit_weeks=1)
    plan = launched(in_transit)
    planned = planned_flow(plan, in_transit).receipts
    assert planned[:, 5].sum() > 0  # week 6's delivery left the DC in week 5

    working = replan_season(
        plan, actuals(dict.fromkeys(range(1, 6), (50, 50))), ECONOMICS, in_transit
    )

    assert working.stores is not None
    assert working.stores.receipts[:, 0].tolist() == planned[:, 5].tolist()
    assert working.plan["weeks"][5]["shipment_units"] == planned[:, 5].sum()


def test_slow_sales_keep_stock_at_the_dc_and_start_a_markdown_no_later():
    plan = launched()
    slow = actuals(dict.fromkeys(range(1, 7), (10, 10)))

    working = replan_season(plan, slow, ECONOMICS, POLICY).plan

    # The stores still hold most of their launch: the policy ships them nothing more yet.
    assert sum(w["shipment_units"] for w in working["weeks"][6:]) < 500 - shipped_through(plan, 6)
    # Sold a fifth of the plan: a markdown, on a week not yet sold (the sold weeks are fixed).
    assert working["first_markdown_week"] is not None and working["first_markdown_week"] >= 7
