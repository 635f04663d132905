"""The results store: agents' full results under (workflow id, agent key), replaced by a
re-run, listed in chain order, and only for the registry's agents."""

from datetime import UTC, datetime

import pytest

from shared.agents import AGENT_KEYS, AGENTS
from shared.data.ownership import record_workflow
from shared.data.results_store import latest_workflow_with, list_results, load_result, save_result
from shared.errors import InvalidParametersError
from shared.results import DemandResult
from tests.support.results import demand_result

NOW = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


def test_a_result_round_trips_and_a_replay_overwrites(engine):
    assert load_result(engine, "wf-1", "demand", DemandResult) is None
    save_result(engine, "wf-1", "demand", demand_result(total_demand=100), now=NOW)
    save_result(engine, "wf-1", "demand", demand_result(total_demand=250), now=NOW)
    loaded = load_result(engine, "wf-1", "demand", DemandResult)
    assert loaded == demand_result(total_demand=250)
    assert list(list_results(engine, "wf-1")) == ["demand"]
    assert list_results(engine, "wf-2") == {}


def test_unknown_agents_are_refused(engine):
    with pytest.raises(InvalidParametersError):
        # An agent the registry does not know, on purpose.
        save_result(engine, "wf-1", "marketing", demand_result())


# Names that are not agent keys.
REFUSED = {
    "load": lambda engine: load_result(engine, "wf-1", "marketing", DemandResult),
    "save": lambda engine: save_result(engine, "wf-1", "Demand Agent", demand_result()),
    "latest": lambda engine: latest_workflow_with(engine, "pricing_agent", "planner-1"),
}


@pytest.mark.parametrize("call", REFUSED.values(), ids=REFUSED.keys())
def test_only_the_registrys_agent_keys_have_results(engine, call):
    with pytest.raises(InvalidParametersError) as refused:
        call(engine)
    assert refused.value.details["agents"] == list(AGENT_KEYS)


def test_results_are_listed_in_chain_order_whatever_the_order_they_were_saved(engine):
    for agent in reversed(AGENTS):
        save_result(engine, "wf-1", agent.key, demand_result(), now=NOW)
    assert list(list_results(engine, "wf-1")) == list(AGENT_KEYS)


def test_latest_workflow_with_an_agents_result_is_the_owners_most_recent(engine):
    for workflow_id, owner in (("wf-old", "me"), ("wf-new", "me"), ("wf-other", "them")):
        record_workflow(engine, workflow_id=workflow_id, owner_id=owner, session_id="s")
    save_result(engine, "wf-old", "inventory", demand_result(), now=NOW)
    save_result(engine, "wf-new", "inventory", demand_result(), now=NOW.replace(hour=13))
    save_result(engine, "wf-other", "inventory", demand_result(), now=NOW.replace(hour=14))
    assert latest_workflow_with(engine, "inventory", "me") == "wf-new"
    assert latest_workflow_with(engine, "pricing", "me") is None
