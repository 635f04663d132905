"""The agent registry: every agent spelled once, and everything that lists agents takes them
from it (the chain, the activity functions, the result routes, the message and status
contracts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args, get_type_hints

import pytest
from pydantic import ValidationError

import function_app
from localdev.host.functions import index_app
from orchestrator.workflow import chain_policies
from shared.agents import AGENT_KEYS, AGENT_NAMES, AGENTS, DEMAND, AgentKey, AgentName
from shared.schemas import AgentStatusMessage, WorkflowStatus
from shared.settings import Settings

FUNCTIONS = index_app(function_app.app)


def test_the_chain_is_demand_inventory_pricing():
    assert AGENT_NAMES == ("Demand Agent", "Inventory Agent", "Pricing Agent")
    assert AGENT_KEYS == ("demand", "inventory", "pricing")


def test_the_literals_list_exactly_the_registrys_agents_in_chain_order():
    assert get_args(AgentName) == AGENT_NAMES
    assert get_args(AgentKey) == AGENT_KEYS


@pytest.mark.parametrize(
    "attribute", ["name", "key", "activity", "timeout_setting", "result_model", "summary_model"]
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


@pytest.mark.parametrize("agent", AGENTS, ids=AGENT_NAMES)
def test_an_agents_timeout_is_a_setting(agent):
    assert agent.timeout_setting in Settings.model_fields
    assert getattr(Settings(), agent.timeout_setting) > 0


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
    assert [p.timeout_seconds for p in chain] == [
        getattr(settings, a.timeout_setting) for a in AGENTS
    ]


def test_messages_name_only_the_registrys_agents():
    for name in AGENT_NAMES:
        assert AgentStatusMessage(agent_name=name, status="running").agent_name == name
    with pytest.raises(ValidationError):
        AgentStatusMessage(agent_name="Marketing Agent", status="running")


def test_a_custom_status_names_only_the_registrys_agents():
    status = {
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
