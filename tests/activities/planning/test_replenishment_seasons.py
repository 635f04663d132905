"""The replenishment policy over seasons a planner tries: every category of the sample data;
past, current and future starts; unit targets far below, near and far above the forecast; both
cadences; holdbacks from 0 to 60 %. Each season runs the three agents through the app's context
assembly (bench.bench_replenishment.plan_season, the same seasons the before/after figures use).

Over all of them: the stores' flow is the chain's to the unit, no level sells beyond its demand,
and the DC never ends a week holding stock while the stores lose sales a delivery could have
prevented. A delivery can prevent a loss from the first replenishment week on, in weeks the
policy planned (not weeks already sold, where demand was what really happened rather than the
forecast it planned against), unless the DC rationed: then it shipped all it held.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.bench_replenishment import SAMPLE, Season, plan_season, sample_database, seasons
from localdev.sample_data import CATEGORY_SPECS
from shared.schemas import replenishment_cadence

CATEGORIES = [spec.category_id for spec in CATEGORY_SPECS[: SAMPLE["categories"]]]
DEMANDS: dict = {}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return sample_database(tmp_path_factory.mktemp("seasons"))


def test_the_season_set_covers_what_the_issue_asks():
    planned = seasons(CATEGORIES)
    assert len(planned) >= 20
    assert {s.category_id for s in planned} == set(CATEGORIES)
    assert {s.start for s in planned} == {"past", "current", "future"}
    assert {s.target_ratio for s in planned} == {0.4, 1.0, 2.5}
    assert {s.strategy for s in planned} == {"weekly", "bi-weekly"}
    assert min(s.holdback for s in planned) == 0.0 and max(s.holdback for s in planned) == 0.6


def check_season(database, season: Season) -> None:
    _, inventory, pricing = plan_season(database, season, DEMANDS)
    plan = pricing.season_plan
    cadence = replenishment_cadence(season.strategy)
    weeks = plan.weeks
    assert len(weeks) == season.weeks
    # The chain is the sum of the stores, and no level sells beyond its demand.
    for w in weeks:
        assert w.stores.sales <= w.demand_units
        assert w.stores.sales + w.lost_sales == w.demand_units
        assert w.stores.opening + w.stores.receipts - w.stores.sales == w.stores.closing
        assert w.dc.opening + w.dc.receipts - w.dc.sales == w.dc.closing
        assert w.dc.sales == w.stores.receipts
    assert sum(w.dc.receipts for w in weeks) == sum(b.units for b in plan.buy_plan)
    assert sum(b.units for b in plan.buy_plan) == inventory.manufacturing_qty
    assert plan.money.revenue == pytest.approx(sum(w.price * w.stores.sales for w in weeks), 0.01)
    assert plan.lost_sales == sum(w.lost_sales for w in weeks)
    # The markdown checkpoint reads the chain's sell-through at its week from the stock flow.
    checkpoint = weeks[pricing.checkpoint_week - 1]
    assert pricing.projected_sell_through_at_checkpoint == checkpoint.chain_sell_through
    # History is marked: the weeks already sold come first, and a past season says so.
    assert [w.actual for w in weeks] == [i < plan.history_weeks for i in range(len(weeks))]
    if season.start == "future":
        assert plan.history_weeks == 0
    if plan.history_weeks == len(weeks):
        assert "history" in pricing.reasoning and "not advice" in pricing.reasoning
    # The DC holds nothing back that a delivery could have brought to a store in time.
    first_delivery = cadence or len(weeks)
    arrivals = list(range(first_delivery, len(weeks), cadence or len(weeks)))
    for i, w in enumerate(weeks):
        if not w.lost_sales or i < first_delivery:
            continue
        last_arrival = max(a for a in arrivals if a <= i)
        if last_arrival < plan.history_weeks:
            continue  # planned against a forecast the real sales then beat
        assert w.dc.closing == 0, f"week {w.week_number}: DC holds {w.dc.closing} while short"
    # What the launch leaves short before the first delivery, the Inventory agent says.
    if inventory.stranded_units:
        assert any("holdback leaves stores short" in m for m in inventory.warnings)


@settings(
    max_examples=24,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    category=st.sampled_from(CATEGORIES),
    start=st.sampled_from(["past", "current", "future"]),
    target_ratio=st.sampled_from([0.4, 1.0, 2.5]),
    strategy=st.sampled_from(["weekly", "bi-weekly"]),
    holdback=st.floats(0.0, 0.6),
)
def test_drawn_seasons_keep_the_policy_promises(
    database, category, start, target_ratio, strategy, holdback
):
    check_season(database, Season(category, start, 12, target_ratio, strategy, holdback))


@pytest.mark.parametrize("season", seasons(CATEGORIES), ids=lambda s: s.label)
def test_the_benchmark_seasons_keep_the_policy_promises(database, season):
    check_season(database, season)
