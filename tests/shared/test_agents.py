"""The agent registry: every agent spelled once, and everything that lists agents takes them
from it (the chain, the activity functions, the result routes, the message and status
contracts)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import azure.durable_functions as df
import pytest
from pydantic import ValidationError

import function_app
from activities.agent_triggers import agent_blueprint
from localdev.host.functions import index_app
from orchestrator.workflow import chain_policies
from shared.agents import AGENT_KEYS, AGENT_NAMES, AGENTS, DEMAND, INVENTORY, PRICING
from shared.schemas import AgentStatusMessage, WorkflowStatus
from shared.settings import Settings
from tests.support.assortment_agent import ASSORTMENT, WITH_ASSORTMENT, run_assortment

FUNCTIONS = index_app(function_app.app)


def test_the_chain_is_demand_inventory_pricing():
    assert AGENT_NAMES == ("Demand Agent", "Inventory Agent", "Pricing Agent")
    assert AGENT_KEYS == ("demand", "inventory", "pricing")


def test_the_published_contracts_list_exactly_the_registrys_agents_in_chain_order():
    schema = AgentStatusMessage.model_json_schema()
    assert schema["properties"]["agent_name"]["enum"] == list(AGENT_NAMES)


@pytest.mark.parametrize(
    "attribute", ["name", "key", "activity", "run", "result_model", "summary_model"]
)
def test_no_two_agents_share_a_name_a_key_an_activity_a_setting_or_a_model(attribute):
    values = [getattr(agent, attribute) for agent in AGENTS]
    assert len(set(values)) == len(values)


def test_no_two_agents_serve_the_same_route():
    routes = [route for agent in AGENTS for route in agent.routes]
    assert len(set(routes)) == len(routes)


@pytest.mark.parametrize("agent", AGENTS, ids=AGENT_NAMES)
def test_an_agents_summary_model_is_what_its_result_summarizes_to(agent):
    assert get_type_hints(agent.result_model.summary)["return"] is agent.summary_model


@pytest.mark.parametrize(
    "agent,variable",
    [
        (DEMAND, "DEMAND_AGENT_TIMEOUT_SECONDS"),
        (INVENTORY, "INVENTORY_AGENT_TIMEOUT_SECONDS"),
        (PRICING, "PRICING_AGENT_TIMEOUT_SECONDS"),
    ],
    ids=AGENT_NAMES,
)
def test_an_agents_timeout_is_its_own_setting_30_s_unless_set(agent, variable, monkeypatch):
    """The names deployments set stay as they were (infra/ and the README list them)."""
    monkeypatch.delenv(variable, raising=False)
    assert agent.timeout(Settings()) == 30.0
    monkeypatch.setenv(variable, "12.5")
    assert agent.timeout(Settings()) == 12.5
    assert [other.timeout(Settings()) for other in AGENTS if other is not agent] == [30.0, 30.0]


@pytest.mark.parametrize("agent", AGENTS, ids=AGENT_NAMES)
def test_an_agents_run_path_names_a_function_of_the_agent_runs(agent):
    from activities import agent_runs

    run = agent.load_run()
    assert run is getattr(agent_runs, agent.run.rpartition(".")[2])
    assert list(inspect.signature(run).parameters) == ["task", "settings", "progress"]


def test_a_registry_of_its_own_gets_an_activity_function_per_agent():
    app = df.DFApp()
    app.register_functions(agent_blueprint(WITH_ASSORTMENT))

    functions = index_app(app)

    assert list(functions) == [agent.activity for agent in WITH_ASSORTMENT]
    assert functions[ASSORTMENT.activity].trigger == FUNCTIONS[DEMAND.activity].trigger | {
        "activity": ASSORTMENT.activity
    }
    assert ASSORTMENT.load_run() is run_assortment


@pytest.mark.parametrize("agent", AGENTS, ids=AGENT_NAMES)
def test_the_app_registers_an_activity_function_under_each_agents_activity(agent):
    entry = FUNCTIONS[agent.activity]
    assert entry.trigger_type == "activityTrigger"
    assert entry.trigger["activity"] == agent.activity


@pytest.mark.parametrize("agent", AGENTS, ids=AGENT_NAMES)
def test_the_app_serves_each_agents_result_routes_to_get(agent):
    served = {
        entry.trigger["route"]: entry.trigger["methods"]
        for entry in FUNCTIONS.values()
        if entry.trigger_type == "httpTrigger"
    }
    for route in agent.routes:
        assert [m.upper() for m in served[route]] == ["GET"]


def test_the_workflow_chain_follows_the_registry_with_each_agents_timeout():
    settings = Settings(demand_agent_timeout_seconds=11, pricing_agent_timeout_seconds=13)
    chain = chain_policies(settings)
    assert [(p.agent_name, p.activity) for p in chain] == [(a.name, a.activity) for a in AGENTS]
    assert [p.timeout_seconds for p in chain] == [11, 30, 13]


def test_messages_name_only_defined_agents():
    """The app's agents, and an agent a test defines for a registry of its own."""
    for name in (*AGENT_NAMES, ASSORTMENT.name):
        assert AgentStatusMessage(agent_name=name, status="running").agent_name == name
    with pytest.raises(ValidationError, match="'Marketing Agent' is not an agent"):
        AgentStatusMessage(agent_name="Marketing Agent", status="running")


def test_a_custom_status_names_only_defined_agents():
    status: dict[str, Any] = {
        "status": "running",
        "current_agent": DEMAND.name,
        "progress": 0,
        "completed_agents": [],
        "results": {},
        "execution_log": [],
    }
    assert WorkflowStatus.model_validate(status).as_json() == status
    with pytest.raises(ValidationError):
        WorkflowStatus.model_validate({**status, "current_agent": "demand"})


def test_the_registry_is_light_to_import():
    """The function app imports it: no scientific stack, no LLM SDK."""
    code = (
        "import sys, shared.agents\n"
        "heavy = {'pandas', 'numpy', 'statsforecast', 'sklearn', 'openai'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    assert loaded.strip() == "[]"
