"""The replenishment policy: top up to a target cover, never beyond the DC's stock, ration by
equal cover, and a simulation whose stores always add up to the chain."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.planning.replenishment import (
    RATIONING_RULE,
    ReplenishmentPolicy,
    ration,
    replenishment_weeks,
    simulate_stores,
    split_by_share,
    store_targets,
    stranded_units,
    top_up,
)

POLICY = ReplenishmentPolicy()


def test_a_store_is_topped_up_to_its_cover_plus_safety_and_one_that_holds_enough_gets_nothing():
    forecast = np.array([[10, 10, 10], [4, 4, 4], [0, 0, 0]])
    # Weekly: cover 1 week of forecast + 0.5 week of safety -> 15, 6, 0.
    assert store_targets(forecast, 1, 1, 0.5).tolist() == [15, 6, 0]
    units, rationed = top_up(np.array([3, 9, 5]), 1000, forecast, 1, 1, POLICY)
    assert units.tolist() == [12, 0, 0] and not rationed
    # Bi-weekly covers two weeks: 20 + 5.
    units, _ = top_up(np.array([0, 0, 0]), 1000, forecast, 1, 2, POLICY)
    assert units.tolist() == [25, 10, 0]


def test_cover_weeks_and_safety_are_settings():
    forecast = np.full((1, 6), 10)
    policy = ReplenishmentPolicy(cover_weeks=3, safety_weeks=1.0)
    units, _ = top_up(np.array([0]), 1000, forecast, 0, 1, policy)
    assert units.tolist() == [40]
    assert "cover 3 weeks" in policy.describe(1) and "1 week(s) of safety" in policy.describe(1)
    assert "every 2 weeks" in POLICY.describe(2)
    assert "No replenishment" in POLICY.describe(None)


def test_a_short_dc_rations_by_equal_cover_and_ships_all_it_has():
    need = np.array([100, 10, 50, 0])
    target = np.array([100, 50, 100, 40])
    units = ration(need, target, 80)
    assert units.sum() == 80 and (units <= need).all() and units[3] == 0
    after = (target - need + units) / target
    # Every store that got units ends at the same share of its target (to a unit).
    got = units > 0
    assert after[got].max() - after[got].min() <= 1 / target[got].min() + 1e-9
    # A store already above that level gets nothing.
    assert units[1] == 0 and after[1] >= after[got].max() - 1e-9
    assert "equal cover" in RATIONING_RULE and "equal cover" in POLICY.describe(1)


def test_the_first_delivery_comes_one_cadence_after_launch():
    assert replenishment_weeks(6, 1, 1) == [1, 2, 3, 4, 5]
    assert replenishment_weeks(8, 2, 2) == [2, 4, 6]
    assert replenishment_weeks(8, None, 0) == []


def test_the_dc_follows_the_stock_not_a_schedule():
    """The issue's case: a store runs dry while the DC holds stock; the policy ships it what it
    needs at the next delivery, and a full store gets nothing."""
    demand = np.array([[30] * 6, [5] * 6])
    flow = simulate_stores(
        np.zeros(2, dtype=np.int64),
        0,
        demand,
        1,
        POLICY,
        first_delivery=np.array([30, 100]),
        dc_receipts=np.array([400, 0, 0, 0, 0, 0]),
    )
    assert flow.lost.sum() == 0
    assert flow.receipts[1, 1:].sum() == 0  # the full store is never topped up
    assert flow.receipts[0, 1:].tolist() == [45, 30, 30, 30, 30]  # 1.5 weeks, then a week each
    assert stranded_units(flow) == 0


def test_no_replenishment_leaves_the_dc_untouched_after_launch():
    flow = simulate_stores(
        np.zeros(1, dtype=np.int64),
        0,
        np.array([[10, 10, 10]]),
        None,
        POLICY,
        first_delivery=np.array([15]),
        dc_receipts=np.array([40, 0, 0]),
    )
    assert flow.dc_shipments.tolist() == [15, 0, 0] and flow.lost.sum() == 15
    assert stranded_units(flow) == 15  # 25 units sat at the DC while the store was short


def test_transit_time_decides_earlier_and_counts_stock_in_transit():
    policy = ReplenishmentPolicy(transit_weeks=1)
    flow = simulate_stores(
        np.zeros(1, dtype=np.int64),
        0,
        np.full((1, 6), 10),
        1,
        policy,
        first_delivery=np.array([25]),
        dc_receipts=np.array([100, 0, 0, 0, 0, 0]),
    )
    assert flow.lost.sum() == 0
    # Decided in week 0 for week 1: projected stock 25 - 10 = 15 covers week 1 (15): nothing.
    assert flow.receipts[0].tolist() == [25, 0, 10, 10, 10, 10]


@settings(max_examples=150, deadline=None)
@given(
    stores=st.integers(1, 12),
    weeks=st.integers(1, 16),
    cadence=st.sampled_from([None, 1, 2]),
    transit=st.integers(0, 2),
    safety=st.sampled_from([0.0, 0.5, 1.5]),
    buy_ratio=st.floats(0.2, 2.0),
    launch_ratio=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_every_simulation_balances_store_by_store_and_never_sells_beyond_demand(
    stores, weeks, cadence, transit, safety, buy_ratio, launch_ratio, seed
):
    rng = np.random.default_rng(seed)
    demand = rng.poisson(rng.uniform(0, 30, (stores, 1)), (stores, weeks))
    buy = int(demand.sum() * buy_ratio)
    launch = split_by_share(np.array([int(buy * launch_ratio)]), rng.random(stores))[:, 0]
    vendor = np.zeros(weeks, dtype=np.int64)
    vendor[0] = buy
    policy = ReplenishmentPolicy(safety_weeks=safety, transit_weeks=transit)
    flow = simulate_stores(
        np.zeros(stores, dtype=np.int64),
        0,
        demand,
        cadence,
        policy,
        first_delivery=launch,
        dc_receipts=vendor,
    )
    assert (flow.sales <= flow.demand).all() and (flow.sales >= 0).all()
    assert (flow.opening + flow.receipts - flow.sales == flow.closing).all()
    assert (flow.closing >= 0).all() and (flow.dc_closing >= 0).all()
    assert (flow.dc_opening + flow.dc_receipts - flow.dc_shipments == flow.dc_closing).all()
    assert (flow.dc_shipments == flow.receipts.sum(axis=0)).all()
    assert (flow.opening[:, 1:] == flow.closing[:, :-1]).all()
    assert (flow.lost == flow.demand - flow.sales).all()
    assert flow.sales.sum() + flow.closing[:, -1].sum() + flow.dc_closing[-1] == buy
    if cadence is None:
        assert flow.receipts[:, 1:].sum() == 0
    # Planned against its own demand, a store the DC tops up without rationing never loses a
    # sale before its next delivery.
    arrivals = replenishment_weeks(weeks, cadence, cadence or 0)
    for i, week in enumerate(arrivals):
        decided = week - transit
        if decided < 0 or flow.rationed[decided]:
            continue
        until = arrivals[i + 1] if i + 1 < len(arrivals) else weeks
        assert flow.lost[:, week:until].sum() == 0


@pytest.mark.parametrize("stores", [1, 7, 500])
def test_splitting_by_share_adds_up_every_week(stores):
    weekly = np.array([0, 1, 999, 12_345])
    parts = split_by_share(weekly, np.random.default_rng(stores).random(stores))
    assert (parts.sum(axis=0) == weekly).all() and (parts >= 0).all()


def test_a_season_under_way_replans_from_the_stores_actual_stock():
    """The live entry point: this week's stock per store, the DC's stock and the re-forecast of
    the weeks left; the first decision is this week's delivery."""
    flow = simulate_stores(
        np.array([0, 40, 3]),
        50,
        np.array([[10, 10, 10], [10, 10, 10], [2, 2, 2]]),
        1,
        POLICY,
        first_replenishment=0,
    )
    # Targets 15, 15, 3: the empty store gets 15, the full one nothing, the small one 0.
    assert flow.receipts[:, 0].tolist() == [15, 0, 0]
    assert flow.dc_opening[0] == 50 and flow.dc_closing[0] == 35
    assert flow.lost.sum() == 0
