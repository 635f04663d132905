"""Inventory agent: exact unit conservation (Hypothesis), replenishment, the unit target, edge
chains. Store clustering itself is tested in test_clustering.py."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.planning.contexts import InventoryContext
from activities.planning.demand import run_demand_agent
from activities.planning.inventory import (
    UnitEconomics,
    allocate_with_minimum,
    check_target,
    holdback_shortage_warning,
    plan_units,
    run_inventory_agent,
    simulate_plan,
)
from activities.planning.replenishment import ReplenishmentPolicy
from activities.planning.units import largest_remainder
from tests.support.agent_data import (
    demand_context,
    make_chain,
    next_season_start,
    params,
)

shares_st = st.lists(
    st.one_of(st.just(0.0), st.floats(0.0, 1e6, allow_nan=False)), min_size=1, max_size=500
)


@given(total=st.integers(0, 10**7), weights=shares_st)
def test_largest_remainder_conserves_and_stays_within_one_unit(total, weights):
    w = np.array(weights)
    parts = largest_remainder(total, w)
    assert parts.sum() == total and (parts >= 0).all()
    if w.sum() > 0 and np.isfinite(w.sum()):
        assert np.all(np.abs(parts - total * w / w.sum()) < 1 + 1e-6)


@given(
    manufacturing=st.one_of(st.integers(0, 5), st.integers(0, 2_000_000)),
    holdback=st.floats(0.0, 1.0),
    strategy=st.sampled_from(["none", "weekly", "bi-weekly"]),
    shares=shares_st,
    weeks=st.integers(4, 52),
    minimum=st.integers(0, 5),
)
@settings(max_examples=300, deadline=None)
def test_plan_conserves_every_unit(manufacturing, holdback, strategy, shares, weeks, minimum):
    plan = plan_units(manufacturing, holdback, strategy, np.array(shares), minimum)
    assert plan.allocation.sum() + plan.holdback == manufacturing
    assert (plan.allocation >= 0).all()
    if strategy == "none":
        assert plan.holdback == 0
    if plan.launch >= minimum * len(shares):
        assert (plan.allocation >= minimum).all()


def test_allocation_is_proportional_above_the_minimum():
    alloc, met = allocate_with_minimum(1000, np.array([0.7, 0.2, 0.1, 0.0]), 2)
    assert met and alloc.sum() == 1000 and alloc[3] == 2
    assert alloc[0] == pytest.approx(0.7 * 998, abs=1)


def test_too_few_units_for_the_minimum_allocates_what_exists_and_warns():
    plan = plan_units(5, 0.0, "weekly", np.ones(10) / 10)
    assert plan.allocation.sum() == 5 and plan.warnings


@pytest.fixture(scope="module")
def chain():
    return make_chain(stores=60, weeks=156, categories=1, seed=11)


@pytest.fixture(scope="module")
def demand(chain):
    p = params(next_season_start(chain), 12, "weekly", 0.25)
    return p, run_demand_agent(demand_context(chain, "outerwear", p))


def inventory(chain, demand_result, p, stores=None):
    return run_inventory_agent(
        InventoryContext(
            category_id="outerwear",
            parameters=p,
            stores=chain.stores if stores is None else stores,
            demand=demand_result,
        )
    )


@pytest.fixture(scope="module")
def result(chain, demand):
    p, d = demand
    calls = []
    r = run_inventory_agent(
        InventoryContext(category_id="outerwear", parameters=p, stores=chain.stores, demand=d),
        progress=lambda pct, msg: calls.append(msg),
    )
    return r, calls


def test_agent_conserves_units_and_follows_the_forecast(result, demand):
    r, calls = result
    _, d = demand
    allocated = sum(s.initial_allocation for c in r.clusters for s in c.stores)
    assert r.manufacturing_qty == d.total_demand + d.safety_stock_units
    assert allocated + r.dc_holdback_total == r.manufacturing_qty
    assert allocated == r.initial_allocation_total
    assert r.dc_holdback_total == int(0.25 * r.manufacturing_qty + 0.5)  # half rounds up
    assert sum(s.units for s in r.replenishment_schedule) <= r.dc_holdback_total
    assert [s.week_number for s in r.replenishment_schedule] == list(range(2, 13))
    assert any(m.startswith("Clusters found:") for m in calls)


def test_clusters_are_labelled_and_partition_the_stores(result, chain):
    r, _ = result
    assert 2 <= len(r.clusters) <= 6 and r.silhouette_score is not None
    ids = [s.store_id for c in r.clusters for s in c.stores]
    assert sorted(ids) == sorted(chain.stores["store_id"])
    labels = [c.cluster_label for c in r.clusters]
    assert len(set(labels)) == len(labels)
    assert all("stores" in label for label in labels)
    assert sum(c.allocation_percentage for c in r.clusters) == pytest.approx(1.0, abs=1e-5)


def test_summary_is_compact_whatever_the_store_count_or_warnings(result):
    r = result[0]
    assert len(json.dumps(r.summary().model_dump(mode="json"))) < 700
    noisy = r.model_copy(update={"warnings": [f"warning {i} " + "x" * 500 for i in range(40)]})
    summary = noisy.summary().model_dump(mode="json")
    assert len(json.dumps(summary)) < 1500  # the orchestrator allows 4,096 bytes
    assert len(summary["warnings"]) == 4 and summary["warnings"][-1].startswith("37 more warnings")


def test_no_target_is_checked_against_forecast_demand_in_the_summary(result, demand):
    _, d = demand
    check = result[0].summary().model_dump(mode="json")["target_check"]
    assert check["verdict"] == "no_target" and check["target_units"] is None
    assert check["forecast_units"] == d.total_demand
    assert check["lower_80"] == int(d.total_lower_80) and check["upper_80"] == math.ceil(
        d.total_upper_80
    )
    assert result[0].summary().model_dump(mode="json")["warnings"] == []


def test_target_below_the_80_lower_bound_warns_of_stock_outs_with_the_figures(chain, demand):
    _, d = demand
    target = int(d.total_lower_80 * 0.8)
    p = params(next_season_start(chain), 12, "weekly", 0.25, unit_target=target)
    r = inventory(chain, d, p)
    check = r.target_check
    assert check.verdict == "below_80" and check.target_units == target
    assert f"{d.total_demand - target:,} units" in check.message and "stock-outs" in check.message
    assert f"{check.lower_80:,}" in check.message
    summary = r.summary().model_dump(mode="json")
    assert summary["target_check"]["message"] == check.message
    assert check.message in summary["warnings"] and check.message in r.explanation


def test_target_above_the_80_upper_bound_warns_of_leftovers_and_markdowns(chain, demand):
    _, d = demand
    target = int(d.total_upper_80 * 1.3)
    p = params(next_season_start(chain), 12, "weekly", 0.25, unit_target=target)
    r = inventory(chain, d, p)
    check = r.target_check
    assert check.verdict == "above_80"
    assert (
        f"{target - d.total_demand:,} units left over" in check.message
        and "markdown" in check.message
    )
    assert f"{target - check.upper_80:,} even at the upper bound" in check.message
    assert check.message in r.summary().model_dump(mode="json")["warnings"]


def test_target_within_the_interval_does_not_warn(chain, demand):
    _, d = demand
    p = params(next_season_start(chain), 12, "weekly", 0.25, unit_target=d.total_demand)
    r = inventory(chain, d, p)
    assert r.target_check.verdict == "within_80"
    assert not any("80 %" in w for w in r.warnings)


def test_target_check_sums_weekly_bounds_when_the_demand_has_no_season_interval(demand):
    _, d = demand
    bare = d.model_copy(update={"total_lower_80": None, "total_upper_80": None})
    check = check_target(None, bare, 12)
    assert check.lower_80 == math.floor(sum(w.lower for w in d.forecast_by_week))
    assert check.upper_80 == math.ceil(sum(w.upper for w in d.forecast_by_week))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_chains(chain, demand, n):
    p, d = demand
    r = inventory(chain, d, p, stores=chain.stores.head(n))
    assert (
        sum(s.initial_allocation for c in r.clusters for s in c.stores) + r.dc_holdback_total
        == r.manufacturing_qty
    )
    assert len(r.clusters) == (1 if n < 3 else 2)


def test_no_replenishment_ships_everything_and_warns(chain, demand):
    _, d = demand
    p = params(next_season_start(chain), 12, "none", 0.3)
    r = inventory(chain, d, p)
    assert r.dc_holdback_total == 0 and r.replenishment_schedule == []
    assert r.initial_allocation_total == r.manufacturing_qty
    assert any("holdback" in w for w in r.warnings)


def test_unit_target_overrides_the_forecast(chain, demand):
    _, d = demand
    p = params(next_season_start(chain), 12, "bi-weekly", 0.5, unit_target=101)
    r = inventory(chain, d, p)
    assert r.manufacturing_qty == 101 and r.dc_holdback_total == 51
    assert r.initial_allocation_total == 50 and any("minimum" in w for w in r.warnings)


def test_stores_carry_their_names_regions_and_launch_weeks_of_supply(result, chain):
    r, _ = result
    names = dict(zip(chain.stores["store_id"], chain.stores["store_name"], strict=True))
    regions = dict(zip(chain.stores["store_id"], chain.stores["region"], strict=True))
    for store in (s for c in r.clusters for s in c.stores):
        assert store.store_name == names[store.store_id]
        assert store.region == regions[store.store_id]
        assert store.launch_weeks_of_supply is not None and store.launch_weeks_of_supply >= 0
    # 75 % of forecast + safety stock at launch: a few weeks of the 12-week season, not all.
    assert 1 < r.launch_weeks_of_supply < 12
    assert f"{r.launch_weeks_of_supply:.1f} weeks of supply at launch" in r.explanation
    assert not any("Launch stock" in w for w in r.warnings)


def test_launch_stock_beyond_the_whole_forecast_warns_with_the_holdback_for_six_weeks(
    chain, demand
):
    _, d = demand
    target = round(d.total_demand * 1.3)
    p = params(next_season_start(chain), 12, "weekly", 0.0, unit_target=target)
    r = inventory(chain, d, p)
    warning = next(w for w in r.warnings if w.startswith("Launch stock"))
    assert f"Launch stock of {target:,} units is more than the whole 12-week forecast" in warning
    assert f"({d.total_demand:,} units)" in warning
    keep = math.ceil(sum(w.units for w in d.forecast_by_week[:6]))
    assert f"({keep:,} units; 4-6 weeks is usual)" in warning
    assert f"{1 - keep / target:.0%} ({target - keep:,} units)" in warning
    assert r.launch_weeks_of_supply > 12


def test_a_unit_target_warning_states_lost_margin_and_leftover_cost(chain, demand):
    _, d = demand
    economics = UnitEconomics(full_price=69.0, unit_cost=24.0, currency="EUR")
    low = int(d.total_lower_80 * 0.8)
    check = check_target(low, d, 12, economics)
    assert f"{(d.total_demand - low) * 45:,.0f} EUR of gross margin lost" in check.message
    high = int(d.total_upper_80 * 1.3)
    check = check_target(high, d, 12, economics)
    assert f"leftovers at the forecast are {(high - d.total_demand) * 24:,.0f} EUR" in check.message


def test_a_holdback_that_leaves_stores_short_while_the_dc_holds_stock_is_warned_about():
    """Bi-weekly: nothing reaches the stores before week 3, so a launch that covers one week of
    a two-week wait loses week 2's sales while the DC holds the rest."""
    plan = plan_units(60, 50 / 60, "bi-weekly", np.ones(1))
    flow = simulate_plan(
        60, plan.allocation, np.full((1, 6), 10), "bi-weekly", ReplenishmentPolicy()
    )
    assert flow.lost[0].tolist() == [0, 10, 0, 0, 0, 0]
    warning = holdback_shortage_warning(flow, 50 / 60, 60, 2)
    assert warning is not None
    assert "83% DC holdback leaves stores short" in warning and "10 units" in warning
    assert "week 2 " in warning and "a holdback of at most 66 %" in warning
    # Enough at launch: no warning.
    plan = plan_units(60, 0.5, "bi-weekly", np.ones(1))
    flow = simulate_plan(
        60, plan.allocation, np.full((1, 6), 10), "bi-weekly", ReplenishmentPolicy()
    )
    assert flow.lost.sum() == 0
    assert holdback_shortage_warning(flow, 0.5, 60, 2) is None


def test_the_agent_explains_its_policy_and_delivers_no_more_than_the_holdback(result):
    r, _ = result
    assert "topped up to cover 1 week" in r.explanation and "equal cover" in r.explanation
    assert r.replenishment_policy in r.explanation
    assert sum(s.units for s in r.replenishment_schedule) <= r.dc_holdback_total
    shares = [c.allocation_percentage for c in r.clusters]
    assert round(sum(shares), 3) == 1.0  # the shown shares (tenths of a percent) add to 100.0 %
