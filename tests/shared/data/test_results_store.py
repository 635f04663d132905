"""The results store: agents' full results under (workflow id, agent key), replaced by a
re-run, listed in chain order, and only for the registry's agents."""

from datetime import UTC, date, datetime

import pytest

from shared.agents import AGENT_KEYS, AGENTS
from shared.data.db import create_schema, dispose_engine, get_engine
from shared.data.ownership import record_workflow
from shared.data.results_store import latest_workflow_with, list_results, load_result, save_result
from shared.errors import InvalidParametersError
from shared.results import BacktestMetrics, DemandResult

NOW = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    engine = get_engine(url)
    create_schema(engine)
    yield engine
    dispose_engine(url)


def _demand(total: int) -> DemandResult:
    return DemandResult(
        category_id="c1",
        season_start_date=date(2025, 1, 1),
        horizon_weeks=12,
        total_demand=total,
        forecast_by_week=[],
        store_forecast=[],
        safety_stock_units=0,
        safety_stock_pct=0.1,
        confidence=0.8,
        model_used="AutoTheta",
        backtest=BacktestMetrics(),
        explanation="x",
    )


def test_a_result_round_trips_and_a_replay_overwrites(engine):
    assert load_result(engine, "wf-1", "demand", DemandResult) is None
    save_result(engine, "wf-1", "demand", _demand(100), now=NOW)
    save_result(engine, "wf-1", "demand", _demand(250), now=NOW)
    loaded = load_result(engine, "wf-1", "demand", DemandResult)
    assert loaded == _demand(250)
    assert list(list_results(engine, "wf-1")) == ["demand"]
    assert list_results(engine, "wf-2") == {}


def test_unknown_agents_are_refused(engine):
    with pytest.raises(InvalidParametersError):
        save_result(engine, "wf-1", "marketing", _demand(1))


# Names that are not agent keys (the type checker refuses them too).
REFUSED = {
    "load": lambda engine: load_result(engine, "wf-1", "marketing", DemandResult),  # type: ignore[arg-type]
    "save": lambda engine: save_result(engine, "wf-1", "Demand Agent", _demand(1)),  # type: ignore[arg-type]
    "latest": lambda engine: latest_workflow_with(engine, "pricing_agent", "planner-1"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("call", REFUSED.values(), ids=REFUSED.keys())
def test_only_the_registrys_agent_keys_have_results(engine, call):
    with pytest.raises(InvalidParametersError) as refused:
        call(engine)
    assert refused.value.details["agents"] == list(AGENT_KEYS)


def test_results_are_listed_in_chain_order_whatever_the_order_they_were_saved(engine):
    for agent in reversed(AGENTS):
        save_result(engine, "wf-1", agent.key, _demand(1), now=NOW)
    assert list(list_results(engine, "wf-1")) == list(AGENT_KEYS)


def test_latest_workflow_with_an_agents_result_is_the_owners_most_recent(engine):
    for workflow_id, owner in (("wf-old", "me"), ("wf-new", "me"), ("wf-other", "them")):
        record_workflow(engine, workflow_id=workflow_id, owner_id=owner, session_id="s")
    save_result(engine, "wf-old", "inventory", _demand(1), now=NOW)
    save_result(engine, "wf-new", "inventory", _demand(1), now=NOW.replace(hour=13))
    save_result(engine, "wf-other", "inventory", _demand(1), now=NOW.replace(hour=14))
    assert latest_workflow_with(engine, "inventory", "me") == "wf-new"
    assert latest_workflow_with(engine, "pricing", "me") is None
